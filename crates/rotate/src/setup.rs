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
    /// `--context CLUSTER=CONTEXT`: the kubeconfig context of each cluster.
    pub contexts: BTreeMap<String, String>,
    /// `--controller-namespace`: the Service's namespace, for every cluster.
    pub namespace: Option<String>,
    /// `--controller-name`: the Service's name, for every cluster.
    pub name: Option<String>,
}

/// Each cluster's controller: `url` for a repository with one cluster, else the API server's service proxy to
/// the Service the flags name (for every cluster under keys/), or else `clusters[].controller` of `.sealant.yaml`.
///
/// Why the flags win and a differing repository value is refused: whoever chooses the Service chooses whose
/// `/v1/rotate` answers (and whose certificate) the job trusts. A repository writer who can also run a Service
/// somewhere the job may proxy to must not be able to point the job at it.
pub fn controllers(
    flags: &ControllerFlags,
    config: &RepoConfig,
    keys: &KeysDir,
    root: &Path,
) -> Result<BTreeMap<String, Controller>, SetupError> {
    let mut controllers = BTreeMap::new();
    if let Some(url) = &flags.url {
        let [cluster] = keys.clusters() else {
            return Err(SetupError::Controllers(
                "--controller-url needs a repository with exactly one cluster under keys/; use .sealant.yaml clusters[].controller".into(),
            ));
        };
        controllers.insert(cluster.name.clone(), Controller::at_url(url));
        return Ok(controllers);
    }
    let pinned = flags.namespace.is_some() || flags.name.is_some();
    let mut targets: BTreeMap<String, (String, String)> = BTreeMap::new();
    for cluster in &config.clusters {
        let Some(controller) = &cluster.controller else {
            continue;
        };
        // Why not `controller.url`: a repository writer could point it at a server of their own that answers
        // /v1/rotate with ciphertexts of values they know. Only flags name a URL.
        if controller.url.is_some() {
            tracing::warn!(
                cluster = %cluster.name,
                "clusters[].controller.url in .sealant.yaml is ignored: give --controller-url (one cluster) or use the service proxy"
            );
        }
        for (field, repo, flag) in [
            ("namespace", &controller.namespace, &flags.namespace),
            ("name", &controller.name, &flags.name),
        ] {
            if let Some(flag) = flag
                && flag != repo
            {
                return Err(SetupError::Controllers(format!(
                    "cluster {}: .sealant.yaml names controller {field} {repo:?}, the flags {flag:?}; refusing to guess which to trust (fix the file, or the flags)",
                    cluster.name
                )));
            }
        }
        targets.insert(
            cluster.name.clone(),
            (controller.namespace.clone(), controller.name.clone()),
        );
    }
    if pinned {
        for cluster in keys.clusters() {
            targets.insert(
                cluster.name.clone(),
                (
                    flags.namespace.clone().unwrap_or_else(|| "kube-system".into()),
                    flags.name.clone().unwrap_or_else(|| "sealed-secrets-controller".into()),
                ),
            );
        }
    } else if !targets.is_empty() {
        tracing::warn!(
            "the controllers' Services come from .sealant.yaml (clusters[].controller): pin them with --controller-namespace and --controller-name"
        );
    }
    for (cluster, (namespace, name)) in targets {
        let access = access(&cluster, flags, config, root)?;
        let proxied = Controller::through_proxy(&access, &namespace, &name)?;
        controllers.insert(cluster, proxied);
    }
    if controllers.is_empty() {
        return Err(SetupError::Controllers(
            "--controller: no cluster in .sealant.yaml has a controller (clusters[].controller), and no --controller-namespace/--controller-name".into(),
        ));
    }
    Ok(controllers)
}

/// How to reach `cluster`'s API server: `--context CLUSTER=CONTEXT` and `--kubeconfig`, else `clusters[].context`
/// and `clusters[].kubeconfig` of `.sealant.yaml` (with a warning).
///
/// Why a context the flags and the file both name must agree: as for the controller's Service, whoever picks the
/// context picks which cluster's controller answers. Why a kubeconfig from the file must be an absolute path
/// outside the repository: a kubeconfig can run commands (`exec` credential plugins), and one a repository writer
/// committed would run them inside the job, with its credentials.
pub fn access(cluster: &str, flags: &ControllerFlags, config: &RepoConfig, root: &Path) -> Result<Access, SetupError> {
    let file = config.cluster(cluster);
    let from_file = file.and_then(|c| c.context.clone());
    let flag = flags.contexts.get(cluster).or_else(|| flags.contexts.get(""));
    let context = match (flag, from_file) {
        (Some(flag), Some(repo)) if *flag != repo => {
            return Err(SetupError::Controllers(format!(
                "cluster {cluster}: .sealant.yaml names kubeconfig context {repo:?}, --context {flag:?}; refusing to guess which to trust (fix the file, or the flags)"
            )));
        }
        (Some(flag), _) => Some(flag.clone()),
        (None, Some(repo)) => {
            tracing::warn!(%cluster, "cluster {cluster}: kubeconfig context {repo:?} comes from .sealant.yaml: pin it with --context {cluster}={repo}");
            Some(repo)
        }
        (None, None) => None,
    };
    let kubeconfig = match (&flags.kubeconfig, file.and_then(|c| c.kubeconfig.clone())) {
        (Some(flag), _) => Some(flag.clone()),
        (None, Some(path)) if !path.is_absolute() || path.starts_with(root) => {
            return Err(SetupError::Controllers(format!(
                "cluster {cluster}: clusters[].kubeconfig {} in .sealant.yaml is inside the repository (or relative):                  a kubeconfig can run commands, so it must come from outside (an absolute path, or --kubeconfig)",
                path.display()
            )));
        }
        (None, path) => path,
    };
    Ok(Access::new(kubeconfig, context))
}

/// `CLUSTER=CONTEXT` flag values as a map; a bare `CONTEXT` (key `""`) is for every cluster not named.
pub fn contexts(values: &[String]) -> Result<BTreeMap<String, String>, SetupError> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((cluster, context)) if !cluster.is_empty() && !context.is_empty() => {
                Ok((cluster.to_string(), context.to_string()))
            }
            None if !v.is_empty() => Ok((String::new(), v.clone())),
            _ => Err(SetupError::Controllers(format!(
                "--context {v:?}: want CLUSTER=CONTEXT (the kubeconfig context of each cluster), or one CONTEXT for all"
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
            namespace: Some("kube-system".into()),
            name: Some("sealed-secrets-controller".into()),
            ..ControllerFlags::default()
        };
        let Err(err) = controllers(&flags, &repo, &KeysDir::default(), Path::new("/repo")) else {
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
            Path::new("/repo"),
        ) else {
            panic!("found a controller where none is named");
        };
        let err = err.to_string();
        assert!(err.contains("--controller-namespace"), "{err}");
    }

    #[test]
    fn a_context_the_file_and_the_flags_name_differently_is_refused_and_the_flag_wins_otherwise() {
        let repo = config("clusters:\n  - name: prod\n    context: prod-admin\n  - name: staging\n");
        let flags = ControllerFlags {
            contexts: contexts(&["prod=prod-ro".into()]).unwrap(),
            ..ControllerFlags::default()
        };
        let err = access("prod", &flags, &repo, Path::new("/repo"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"prod-admin\"") && err.contains("\"prod-ro\""), "{err}");
        let flags = ControllerFlags {
            contexts: contexts(&["staging=staging-ro".into(), "fallback".into()]).unwrap(),
            ..ControllerFlags::default()
        };
        assert_eq!(
            access("staging", &flags, &repo, Path::new("/repo"))
                .unwrap()
                .context
                .as_deref(),
            Some("staging-ro")
        );
        // The file's context agrees with no flag for prod: it is used; a bare flag is every other cluster's.
        let no_prod_flag = ControllerFlags::default();
        assert_eq!(
            access("prod", &no_prod_flag, &repo, Path::new("/repo"))
                .unwrap()
                .context
                .as_deref(),
            Some("prod-admin")
        );
        assert_eq!(
            access("other", &flags, &repo, Path::new("/repo"))
                .unwrap()
                .context
                .as_deref(),
            Some("fallback")
        );
        assert!(contexts(&["=x".into()]).is_err());
    }

    #[test]
    fn a_kubeconfig_named_by_the_repository_must_live_outside_it() {
        // A committed kubeconfig could run any command through an exec credential plugin.
        for path in ["ci/kubeconfig", "/repo/ci/kubeconfig"] {
            let repo = config(&format!("clusters:\n  - name: prod\n    kubeconfig: {path}\n"));
            let err = access("prod", &ControllerFlags::default(), &repo, Path::new("/repo"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("can run commands"), "{path}: {err}");
        }
        let repo = config("clusters:\n  - name: prod\n    kubeconfig: /etc/sealant/prod.kubeconfig\n");
        let access = access("prod", &ControllerFlags::default(), &repo, Path::new("/repo")).unwrap();
        assert_eq!(
            access.kubeconfig.as_deref(),
            Some(Path::new("/etc/sealant/prod.kubeconfig"))
        );
    }
}
