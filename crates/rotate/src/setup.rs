//! What a run is given from outside the repository: the forge and its token, each cluster's controller, the
//! certificate pins. Why outside: a repository writer must not choose where a token goes, which server answers
//! `/v1/rotate`, or which key rotated values are sealed to; whatever `.sealant.yaml` says about those is ignored
//! with a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealant_client::Controller;
use sealant_client::cluster::Access;
use sealant_repo::files::{self, FileError};
use sealant_repo::{KeysDir, RepoConfig};
use secrecy::SecretString;

use crate::forge::{self, Forge, ForgeError};
use crate::trust::Pins;

/// Why a run cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A token or pin file cannot be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// A token or pin file is not text.
    #[error("{0}: not UTF-8")]
    NotText(String),
    /// Something the forge needs was not given.
    #[error("the forge needs {0}")]
    Forge(&'static str),
    /// The forge refused the settings.
    #[error(transparent)]
    Connect(#[from] ForgeError),
    /// No controller to re-seal through, or two sources disagree on which.
    #[error("{0}")]
    Controllers(String),
    /// The service proxy to a controller cannot be set up.
    #[error(transparent)]
    Client(#[from] sealant_client::Error),
}

/// A token from a file, else from the environment variable `env`; never from argv.
pub fn token(file: Option<&Path>, env: &str) -> Result<Option<SecretString>, SetupError> {
    if let Some(file) = file {
        let bytes = files::read_secret(file, 1 << 20)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| SetupError::NotText(file.display().to_string()))?;
        return Ok(Some(SecretString::from(text.trim().to_string())));
    }
    Ok(std::env::var(env)
        .ok()
        .filter(|t| !t.is_empty())
        .map(SecretString::from))
}

/// The forge as the flags name it.
#[derive(Debug, Default)]
pub struct ForgeFlags {
    /// github, gitlab, gitea or none (default: `forge.kind` in `.sealant.yaml`).
    pub kind: Option<String>,
    /// The API URL.
    pub url: Option<String>,
    /// owner/name.
    pub repo: Option<String>,
    /// The file holding the token (else `SEALANT_FORGE_TOKEN`).
    pub token_file: Option<PathBuf>,
}

/// The forge from the flags (its kind may come from `forge.kind` in `.sealant.yaml`); `None` for no forge.
pub fn forge(flags: &ForgeFlags, config: &RepoConfig) -> Result<Option<Box<dyn Forge>>, SetupError> {
    let kind = flags
        .kind
        .clone()
        .or_else(|| config.forge.as_ref().map(|f| f.kind.clone()));
    let Some(kind) = kind.filter(|k| k != "none") else {
        return Ok(None);
    };
    let kind: forge::Kind = kind.parse()?;
    // Why flags and environment only: a repository writer who could set these would receive the forge token
    // (forge.url) or have it used on a repository of their choosing (forge.repo).
    if let Some(f) = &config.forge {
        if f.url.is_some() {
            tracing::warn!("forge.url in .sealant.yaml is ignored: give --forge-url or SEALANT_FORGE_URL");
        }
        if f.repo.is_some() {
            tracing::warn!("forge.repo in .sealant.yaml is ignored: give --forge-repo or SEALANT_FORGE_REPO");
        }
    }
    let repo = flags.repo.as_deref().ok_or(SetupError::Forge(
        "a repository: --forge-repo owner/name (or SEALANT_FORGE_REPO)",
    ))?;
    let token = token(flags.token_file.as_deref(), "SEALANT_FORGE_TOKEN")?.ok_or(SetupError::Forge(
        "a token: --forge-token-file FILE or SEALANT_FORGE_TOKEN",
    ))?;
    Ok(Some(forge::connect(kind, flags.url.as_deref(), repo, token)?))
}

/// Where the controllers are, as the flags say; `None` leaves it to `.sealant.yaml`.
#[derive(Debug, Default)]
pub struct ControllerFlags {
    /// `--controller-url`: the controller's own URL (a repository with one cluster only).
    pub url: Option<String>,
    /// `--kubeconfig` for the API server's service proxy.
    pub kubeconfig: Option<PathBuf>,
    /// `--context [CLUSTER=]CONTEXT`: the kubeconfig context of each cluster (key `""`: every other cluster).
    pub contexts: BTreeMap<String, String>,
    /// `--controller-namespace [CLUSTER=]NAMESPACE`: the Service's namespace (key `""`: every other cluster).
    pub namespaces: BTreeMap<String, String>,
    /// `--controller-name`: the Service's name, for every cluster.
    pub name: Option<String>,
}

/// A cluster's controller, and whether the way to it was chosen outside the repository.
pub struct Route {
    /// The client of its API.
    pub controller: Controller,
    /// `true` when the flags chose it (`--controller-url`, or the Service by `--controller-namespace` or
    /// `--controller-name`); `false` when `.sealant.yaml` did. Only a route chosen outside the repository
    /// confirms a certificate: a repository writer who picks the Service picks whose certificate answers.
    pub chosen_outside: bool,
}

/// Each cluster's controller: `url` for a repository with one cluster, else the API server's service proxy to
/// the Service the flags name (for every cluster under keys/ or in `.sealant.yaml`), or else
/// `clusters[].controller` of `.sealant.yaml` (with a warning).
///
/// Why the flags win and a differing repository value is refused: whoever chooses the Service chooses whose
/// `/v1/rotate` answers (and whose certificate) the job trusts. A repository writer who can also run a Service
/// somewhere the job may proxy to must not be able to point the job at it.
pub fn controllers(
    flags: &ControllerFlags,
    config: &RepoConfig,
    keys: &KeysDir,
) -> Result<BTreeMap<String, Route>, SetupError> {
    let mut routes = BTreeMap::new();
    if let Some(url) = &flags.url {
        let [cluster] = keys.clusters() else {
            return Err(SetupError::Controllers(
                "--controller-url needs a repository with exactly one cluster under keys/; use .sealant.yaml clusters[].controller".into(),
            ));
        };
        let route = Route {
            controller: Controller::at_url(url),
            chosen_outside: true,
        };
        routes.insert(cluster.name.clone(), route);
        return Ok(routes);
    }
    let mut names: std::collections::BTreeSet<&str> = keys.clusters().iter().map(|c| c.name.as_str()).collect();
    names.extend(
        config
            .clusters
            .iter()
            .filter(|c| c.controller.is_some())
            .map(|c| c.name.as_str()),
    );
    let mut from_file = Vec::new();
    for cluster in names {
        let file = config.cluster(cluster).and_then(|c| c.controller.as_ref());
        let namespace = flags.namespaces.get(cluster).or_else(|| flags.namespaces.get(""));
        let chosen_outside = namespace.is_some() || flags.name.is_some();
        let Some(file) = file else {
            if !chosen_outside {
                continue;
            }
            let namespace = namespace.cloned().unwrap_or_else(|| "kube-system".into());
            let name = flags.name.clone().unwrap_or_else(|| "sealed-secrets-controller".into());
            let controller = Controller::through_proxy(&access(cluster, flags, config)?, &namespace, &name)?;
            routes.insert(
                cluster.to_string(),
                Route {
                    controller,
                    chosen_outside,
                },
            );
            continue;
        };
        // Why not `controller.url`: a repository writer could point it at a server of their own that answers
        // /v1/rotate with ciphertexts of values they know. Only flags name a URL.
        if file.url.is_some() {
            tracing::warn!(
                %cluster,
                "clusters[].controller.url in .sealant.yaml is ignored: give --controller-url (one cluster) or use the service proxy"
            );
        }
        for (field, repo, flag) in [
            ("namespace", &file.namespace, namespace),
            ("name", &file.name, flags.name.as_ref()),
        ] {
            if let Some(flag) = flag
                && flag != repo
            {
                return Err(SetupError::Controllers(format!(
                    "cluster {cluster}: .sealant.yaml names controller {field} {repo:?}, the flags {flag:?}; refusing to guess which to trust (fix the file, or the flags)"
                )));
            }
        }
        if !chosen_outside {
            from_file.push(cluster.to_string());
        }
        let controller = Controller::through_proxy(&access(cluster, flags, config)?, &file.namespace, &file.name)?;
        routes.insert(
            cluster.to_string(),
            Route {
                controller,
                chosen_outside,
            },
        );
    }
    if !from_file.is_empty() {
        tracing::warn!(
            "the controllers' Services of {} come from .sealant.yaml (clusters[].controller): pin them with --controller-namespace and --controller-name; until then a renewed certificate is not taken from them",
            from_file.join(", ")
        );
    }
    if routes.is_empty() {
        return Err(SetupError::Controllers(
            "--controller: no cluster in .sealant.yaml has a controller (clusters[].controller), and no --controller-namespace/--controller-name".into(),
        ));
    }
    Ok(routes)
}

/// How to reach `cluster`'s API server: `--kubeconfig`, and the context `--context` names for it.
///
/// Why the context comes from the flags only, `clusters[].context` of `.sealant.yaml` being a cross-check that
/// must agree: whoever picks the context picks which cluster's controller answers, and with a renewal, whose
/// certificate becomes current. Why `clusters[].kubeconfig` is ignored: a kubeconfig can run commands (`exec`
/// credential plugins), and a path a repository writer names can lead (through `..`, `/proc/self/cwd` or a link)
/// to a file they committed.
pub fn access(cluster: &str, flags: &ControllerFlags, config: &RepoConfig) -> Result<Access, SetupError> {
    let file = config.cluster(cluster);
    if let Some(path) = file.and_then(|c| c.kubeconfig.as_ref()) {
        tracing::warn!(
            %cluster,
            "clusters[].kubeconfig {} in .sealant.yaml is ignored: name the kubeconfig with --kubeconfig (KUBECONFIG), each cluster a context in it",
            path.display()
        );
    }
    let flag = flags.contexts.get(cluster).or_else(|| flags.contexts.get(""));
    let context = match (flag, file.and_then(|c| c.context.as_ref())) {
        (Some(flag), Some(repo)) if flag != repo => {
            return Err(SetupError::Controllers(format!(
                "cluster {cluster}: .sealant.yaml names kubeconfig context {repo:?}, --context {flag:?}; refusing to guess which to trust (fix the file, or the flags)"
            )));
        }
        (None, Some(repo)) => {
            return Err(SetupError::Controllers(format!(
                "cluster {cluster}: .sealant.yaml names kubeconfig context {repo:?}; confirm it with --context {cluster}={repo} (the context chooses the cluster, so the repository alone does not)"
            )));
        }
        (flag, _) => flag.cloned(),
    };
    Ok(Access::new(flags.kubeconfig.clone(), context))
}

/// `CLUSTER=VALUE` flag values as a map; a bare `VALUE` (key `""`) is for every cluster not named. `what` names
/// the flag for the message.
pub fn per_cluster(values: &[String], what: &str) -> Result<BTreeMap<String, String>, SetupError> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((cluster, value)) if !cluster.is_empty() && !value.is_empty() => {
                Ok((cluster.to_string(), value.to_string()))
            }
            None if !v.is_empty() => Ok((String::new(), v.clone())),
            _ => Err(SetupError::Controllers(format!(
                "{what} {v:?}: want CLUSTER=VALUE (one per cluster), or one VALUE for all"
            ))),
        })
        .collect()
}

/// Pins given outside the repository: flag values and the lines of a trust file.
pub fn pins(values: &[String], file: Option<&Path>) -> Result<Pins, SetupError> {
    let text = match file {
        Some(file) => {
            let bytes = files::read_bounded(file, 1 << 20).map_err(|cause| FileError {
                action: "read",
                path: file.display().to_string(),
                cause,
            })?;
            String::from_utf8(bytes).map_err(|_| SetupError::NotText(file.display().to_string()))?
        }
        None => String::new(),
    };
    Ok(Pins::new(values.iter().map(String::as_str), [text.as_str()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> RepoConfig {
        RepoConfig::parse(text, ".sealant.yaml").unwrap()
    }

    #[test]
    fn a_repository_naming_another_controller_than_the_flags_is_refused_before_any_request() {
        // A repository writer points the job at a Service of their own (in a namespace they administer).
        let repo = config("clusters:\n  - name: prod\n    controller: {namespace: team-a, name: fake-controller}\n");
        let flags = ControllerFlags {
            namespaces: per_cluster(&["kube-system".into()], "--controller-namespace").unwrap(),
            name: Some("sealed-secrets-controller".into()),
            ..ControllerFlags::default()
        };
        let Err(err) = controllers(&flags, &repo, &KeysDir::default()) else {
            panic!("accepted a controller the flags do not name");
        };
        let err = err.to_string();
        assert!(err.contains("cluster prod"), "{err}");
        assert!(err.contains("\"team-a\"") && err.contains("\"kube-system\""), "{err}");
    }

    #[test]
    fn without_flags_or_a_controller_in_the_file_there_is_nothing_to_reseal_through() {
        let Err(err) = controllers(
            &ControllerFlags::default(),
            &config("clusters:\n  - name: prod\n"),
            &KeysDir::default(),
        ) else {
            panic!("found a controller where none is named");
        };
        let err = err.to_string();
        assert!(err.contains("--controller-namespace"), "{err}");
    }

    #[test]
    fn a_context_the_file_names_counts_only_when_the_flags_name_the_same() {
        let repo = config("clusters:\n  - name: prod\n    context: prod-admin\n  - name: staging\n");
        let flags = |values: &[&str]| ControllerFlags {
            contexts: per_cluster(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>(), "--context").unwrap(),
            ..ControllerFlags::default()
        };
        // Different: refused. Absent from the flags: refused too (the file alone does not pick a cluster).
        let err = access("prod", &flags(&["prod=prod-ro"]), &repo)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"prod-admin\"") && err.contains("\"prod-ro\""), "{err}");
        let err = access("prod", &flags(&[]), &repo).unwrap_err().to_string();
        assert!(err.contains("confirm it with --context prod=prod-admin"), "{err}");
        assert_eq!(
            access("prod", &flags(&["prod=prod-admin"]), &repo)
                .unwrap()
                .context
                .as_deref(),
            Some("prod-admin")
        );
        // A bare flag is every cluster the flags do not name.
        let both = flags(&["staging=staging-ro", "fallback"]);
        assert_eq!(
            access("staging", &both, &repo).unwrap().context.as_deref(),
            Some("staging-ro")
        );
        assert_eq!(
            access("other", &both, &repo).unwrap().context.as_deref(),
            Some("fallback")
        );
        assert!(per_cluster(&["=x".into()], "--context").is_err());
    }

    #[test]
    fn a_kubeconfig_named_by_the_repository_is_never_used() {
        // A committed kubeconfig could run any command through an exec credential plugin, and a path can reach
        // one however it is spelled (`/proc/self/cwd/kc.yaml`, `/../repo/kc.yaml`).
        for path in [
            "ci/kubeconfig",
            "/proc/self/cwd/kc.yaml",
            "/../repo/kc.yaml",
            "/etc/kubeconfig",
        ] {
            let repo = config(&format!("clusters:\n  - name: prod\n    kubeconfig: {path}\n"));
            let access = access("prod", &ControllerFlags::default(), &repo).unwrap();
            assert_eq!(access.kubeconfig, None, "{path}");
        }
        let flags = ControllerFlags {
            kubeconfig: Some("/etc/sealant/job.kubeconfig".into()),
            ..ControllerFlags::default()
        };
        let repo = config("clusters:\n  - name: prod\n    kubeconfig: kc.yaml\n");
        let access = access("prod", &flags, &repo).unwrap();
        assert_eq!(
            access.kubeconfig.as_deref(),
            Some(Path::new("/etc/sealant/job.kubeconfig"))
        );
    }
}
