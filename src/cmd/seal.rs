//! `sealant seal`: Secret(s) → SealedSecret(s), a raw value → one ciphertext, or new items merged into an
//! existing SealedSecret file without disturbing its layout.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use sealant_core::generate::{self, Generator};
use sealant_core::input;
use sealant_core::keys::Certificate;
use sealant_core::manifest::{self, Format, Located};
use sealant_core::merge::MergeError;
use sealant_core::seal::{self, SealOptions};
use sealant_core::{Scope, Secret};
use sealant_repo::locate;
use time::OffsetDateTime;

use crate::io::{self, Sensitivity};
use sealant_cli::seal::SealArgs;

/// Runs the command.
pub fn run(mut args: SealArgs) -> Result<()> {
    if args.cert.is_none() && args.clusters.is_empty() {
        apply_repository_rules(&mut args)?;
    }
    let targets = targets(&args)?;
    if let Some(config) = &args.from_config {
        // Why say it: the certificate came from files in the repository, not from the command line; the user
        // sees which file chose it and what key the values go to.
        for (cluster, cert) in &targets {
            eprintln!(
                "sealing to {} (cluster {}, chosen by {})",
                cert.fingerprint(),
                cluster.as_deref().unwrap_or("-"),
                config.display()
            );
            if !args.trust_cert.iter().any(|t| t.trim() == cert.fingerprint()) {
                eprintln!(
                    "warning: {} is not pinned (--trust-cert / SEALANT_TRUST_CERT): anyone who can commit to keys/ chose it",
                    cert.fingerprint()
                );
            }
        }
    }
    let template = if targets.len() > 1 {
        Some(per_cluster_template(&args)?)
    } else {
        None
    };
    let (_, cert) = targets.first().ok_or_else(|| anyhow!("no certificate to seal to"))?;
    if args.raw {
        return raw(&args, cert);
    }
    let generated = args
        .generate
        .iter()
        .map(|spec| generate::parse_item(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("--generate: {e}"))?;
    let input = if generated.is_empty() || args.io.file.is_some() {
        io::read_input(
            args.io.file.as_deref(),
            "tty detected: expecting json/yaml k8s resource in stdin",
        )?
    } else {
        new_secret(&args)?
    };
    let (format, mut objects) = manifest::read(&input.text).map_err(|e| anyhow!("{}: {e}", input.name))?;
    generate::add_to_secrets(&mut objects, &generated).map_err(|e| anyhow!("{}: {e}", input.name))?;
    let secrets = input::secrets(&objects).map_err(|e| anyhow!("{}: {e}", input.name))?;
    // Printed once sealing worked (an error is the news otherwise); never in kubeseal mode, whose output
    // scripts compare with kubeseal's.
    let weak = if args.upstream_names {
        Vec::new()
    } else {
        weak_values(&input.name, &secrets, &generated)
    };
    let warn = || weak.iter().for_each(|w| eprintln!("warning: {w}"));
    let opts = seal_options(&args);
    if args.upstream_names {
        for (_, secret) in &secrets {
            let namespace = [secret.namespace(), args.namespace.as_deref().unwrap_or_default()]
                .into_iter()
                .find(|n| !n.is_empty())
                .or(args.default_namespace.as_deref())
                .unwrap_or_default();
            if let Some(problem) = seal::name_problem(namespace, secret.name()) {
                eprintln!("warning: {problem}: sealed as kubeseal does, but the API server will refuse the object");
            }
        }
    }
    if let Some(template) = template {
        seal_per_cluster(
            &args,
            &template,
            &targets,
            (&input, format, &secrets),
            &generated,
            &opts,
        )?;
        warn();
        return Ok(());
    }
    if let Some(target) = &args.merge_into {
        merge_into(target, &input.name, &secrets, cert, opts)?;
        warn();
        return Ok(());
    }
    let mut sealed = input::seal_located(&secrets, cert, &opts).map_err(|e| anyhow!("{}: {e}", input.name))?;
    generate::annotate(&mut sealed, &generated);
    warn();
    let format = io::output_format(args.io.format, args.io.output.as_deref(), format);
    let out = manifest::write_sealed(&sealed, format);
    io::emit(args.io.output.as_deref(), out.as_bytes(), Sensitivity::Public, false)
}

/// The options every sealing path takes from the flags.
fn seal_options(args: &SealArgs) -> SealOptions {
    SealOptions {
        scope: args.scope.map(Scope::from),
        namespace: args.namespace.clone(),
        default_namespace: args.default_namespace.clone(),
        name: args.name.clone(),
        replace_namespace: false,
        allow_empty_data: args.allow_empty_data,
        upstream_names: args.upstream_names,
        now: OffsetDateTime::now_utc(),
    }
}

/// With neither `--cert` nor `--cluster`: the clusters (and scope) of the `.sealant.yaml` path rule matching the
/// output file (`-w` or `--merge-into`), else the repository's only cluster. The repository is the nearest
/// directory up from the working directory holding a `.sealant.yaml`; its `keys/` is used.
fn apply_repository_rules(args: &mut SealArgs) -> Result<()> {
    let target = args.merge_into.as_deref().or(args.io.output.as_deref());
    let Some((root, seal_target)) = locate::seal_target(&std::env::current_dir()?, target)? else {
        return Ok(());
    };
    args.clusters = seal_target.clusters;
    if args.scope.is_none() {
        args.scope = seal_target.scope.map(Into::into);
    }
    if args.keys_dir == Path::new("keys") {
        args.keys_dir = root.join("keys");
    }
    args.from_config = Some(root.join(sealant_repo::config::FILE_NAME));
    Ok(())
}

/// The certificates to seal to: `--cert`, or the current key of each `--cluster`. A certificate that `keys/`
/// marks retired or compromised is refused before anything is written.
fn targets(args: &SealArgs) -> Result<Vec<(Option<String>, Certificate)>> {
    let keys = sealant_repo::KeysDir::load(&args.keys_dir)?;
    let now = OffsetDateTime::now_utc();
    let mut targets = Vec::new();
    if args.clusters.is_empty() {
        let location = args.cert.as_deref().ok_or_else(|| {
            anyhow!(
                "no certificate to seal to: pass --cert FILE|URL (or set SEALANT_CERT), e.g. the controller's /v1/cert.pem, or --cluster NAME, or add a path rule for the -w file to .sealant.yaml"
            )
        })?;
        targets.push((None, sealant_client::cert::load(location, OffsetDateTime::now_utc())?));
    }
    for name in &args.clusters {
        targets.push((Some(name.clone()), keys.current_cert(name, now)?.clone()));
    }
    for (_, cert) in &targets {
        keys.ensure_sealable(cert)?;
    }
    Ok(targets)
}

/// The `-w` path of a multi-cluster seal: it must hold `{cluster}`. Checked before any input is read.
fn per_cluster_template(args: &SealArgs) -> Result<String> {
    let template = args
        .io
        .output
        .as_ref()
        .map(|p| p.display().to_string())
        .filter(|p| p.contains("{cluster}"))
        .ok_or_else(|| {
            anyhow!(
                "sealing to several clusters needs -w with {{cluster}} in it, e.g. -w overlays/{{cluster}}/secret.yaml"
            )
        })?;
    if args.raw || args.merge_into.is_some() {
        bail!("--raw and --merge-into take one certificate; give one --cluster");
    }
    Ok(template)
}

/// Multi-cluster sealing: the same Secret(s) sealed once per cluster, each to `-w` with `{cluster}` replaced.
/// Every cluster is sealed before any file is written.
fn seal_per_cluster(
    args: &SealArgs,
    template: &str,
    targets: &[(Option<String>, Certificate)],
    (source, format, secrets): (&io::Input, Format, &[(&Located, &Secret)]),
    generated: &[(String, Generator)],
    opts: &SealOptions,
) -> Result<()> {
    let input_name = &source.name;
    let mut outputs = Vec::new();
    for (cluster, cert) in targets {
        let cluster = cluster.as_deref().unwrap_or_default();
        let path = std::path::PathBuf::from(template.replace("{cluster}", cluster));
        // Why new values per cluster: one value in two clusters would let whoever reads it in one (its key,
        // its Secret) know it in the other.
        let regenerated;
        let secrets = if generated.is_empty() {
            secrets
        } else {
            let (_, mut objects) = manifest::read(&source.text).map_err(|e| anyhow!("{input_name}: {e}"))?;
            generate::add_to_secrets(&mut objects, generated).map_err(|e| anyhow!("{input_name}: {e}"))?;
            regenerated = objects;
            &input::secrets(&regenerated).map_err(|e| anyhow!("{input_name}: {e}"))?
        };
        let mut sealed = input::seal_located(secrets, cert, opts).map_err(|e| anyhow!("{input_name}: {e}"))?;
        generate::annotate(&mut sealed, generated);
        let format = io::output_format(args.io.format, Some(&path), format);
        outputs.push((path, manifest::write_sealed(&sealed, format)));
    }
    for (path, out) in outputs {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Checked before creating anything: a linked directory must not get new directories outside.
            sealant_repo::repofs::ensure_inside_repository(dir)
                .with_context(|| format!("cannot write {}", path.display()))?;
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        io::write_atomic(&path, out.as_bytes(), Sensitivity::Public)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The Secret `seal --generate` fills when there is no input: `--name` in `--namespace`, no items yet.
fn new_secret(args: &SealArgs) -> Result<io::Input> {
    let name = args
        .name
        .as_deref()
        .ok_or_else(|| anyhow!("--generate without -f makes a new Secret: give its --name (and --namespace)"))?;
    let namespace = args.namespace.as_deref().or(args.default_namespace.as_deref());
    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
    });
    Ok(io::Input {
        name: "the new Secret (--generate)".into(),
        text: zeroize::Zeroizing::new(secret.to_string()),
    })
}

/// A warning per credential-like item whose hand-made value carries less entropy than a generated one would:
/// names the item, never the value.
fn weak_values(input_name: &str, secrets: &[(&Located, &Secret)], generated: &[(String, Generator)]) -> Vec<String> {
    use secrecy::ExposeSecret as _;
    let mut warnings = Vec::new();
    for (located, secret) in secrets {
        for (item, value) in &secret.data {
            if generated.iter().any(|(g, _)| g == item) || !generate::is_credential_name(item) {
                continue;
            }
            let bits = generate::entropy_estimate_bits(value.expose_secret());
            if bits < generate::MIN_ENTROPY_BITS {
                // Why no figure: the estimate follows from the value's length and alphabet, which a CI log
                // must not tell.
                warnings.push(format!(
                    "{input_name}: document {} Secret {}: item {item} looks weak (less entropy than {:.0} random \
                     bits): make one with --generate {item}",
                    located.document,
                    secret.name(),
                    generate::MIN_ENTROPY_BITS
                ));
            }
        }
    }
    warnings
}

fn raw(args: &SealArgs, cert: &Certificate) -> Result<()> {
    let scope = args.scope.map(Scope::from).unwrap_or_default();
    let namespace = args
        .namespace
        .clone()
        .or_else(|| args.default_namespace.clone())
        .unwrap_or_default();
    let name = args.name.clone().unwrap_or_default();
    if scope != Scope::ClusterWide && namespace.is_empty() {
        bail!("must provide the --namespace flag with --raw and --scope {scope}");
    }
    if scope == Scope::Strict && name.is_empty() {
        bail!("must provide the --name flag with --raw and --scope strict");
    }
    let value = match (args.from_file.as_slice(), &args.from_literal) {
        ([], Some(literal)) => {
            eprintln!(
                "warning: --from-literal puts the value in the process list and shell history; prefer --from-file or stdin"
            );
            zeroize::Zeroizing::new(literal.as_bytes().to_vec())
        }
        ([], None) => {
            let input = io::read_input(None, "tty detected: expecting a secret to encrypt in stdin")?;
            zeroize::Zeroizing::new(input.text.as_bytes().to_vec())
        }
        ([spec], _) => {
            let path = spec.split_once('=').map_or(spec.as_str(), |(_, p)| p);
            io::read_secret_file(Path::new(path))?
        }
        _ => bail!("must provide only one --from-file when encrypting a single item with --raw"),
    };
    let sealed = seal::seal_raw(cert, scope, &namespace, &name, &value)?;
    // kubeseal prints the raw ciphertext without a newline; scripts depend on it.
    io::emit(args.io.output.as_deref(), sealed.as_bytes(), Sensitivity::Public, false)
}

/// Seals the input for the target file's SealedSecret (its name, namespace and scope) and writes only the changed
/// values into the file, atomically.
fn merge_into(
    target: &Path,
    input_name: &str,
    secrets: &[(&Located, &Secret)],
    cert: &Certificate,
    opts: SealOptions,
) -> Result<()> {
    let name = target.display().to_string();
    let text = std::fs::read_to_string(target).with_context(|| format!("cannot read {name}"))?;
    let out = sealant_core::merge::merge_into(&text, secrets, cert, opts).map_err(|e| match e {
        // A sealing error is about a document of the input, not of the target.
        MergeError::Seal(_) => anyhow!("{input_name}: {e}"),
        e => anyhow!("{name}: {e}"),
    })?;
    io::write_atomic(target, out.as_bytes(), Sensitivity::Public)
}
