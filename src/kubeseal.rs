//! `kubeseal`-compatible mode: when sealant is invoked as `kubeseal` (a symlink), it takes upstream's flags,
//! `SEALED_SECRETS_*` environment, defaults (JSON output, strict scope, the controller through the API server)
//! and error texts, so existing scripts keep working. The work itself is sealant's.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use clap::{ArgAction, Parser};
use sealant_core::manifest::{self, Format, Object};

use crate::args::{Io, KeyArgs, OutputFormat, ScopeArg, SecretIo};
use crate::cmd::seal::SealArgs;
use crate::cmd::unseal::UnsealArgs;
use crate::io::{self, Sensitivity};
use sealant_client::Controller;

/// The upstream release whose flags, output and ciphertexts kubeseal mode reproduces.
const UPSTREAM_VERSION: &str = "0.36.6";

/// kubeseal's flags (spec 4.2), with the same names, defaults and environment variables.
#[derive(Debug, Parser)]
// `args_override_self`: pflag keeps the last of a repeated flag (`--kubeconfig a --kubeconfig b`); so does this.
#[command(
    name = "kubeseal",
    version,
    disable_version_flag = true,
    term_width = 100,
    args_override_self = true
)]
pub struct Kubeseal {
    /// Certificate / public key file/URL to use for encryption. Overrides --controller-*
    #[arg(long, env = "SEALED_SECRETS_CERT", default_value = "")]
    cert: String,
    /// Namespace of sealed-secrets controller.
    #[arg(long, env = "SEALED_SECRETS_CONTROLLER_NAMESPACE", default_value = "kube-system")]
    controller_namespace: String,
    /// Name of sealed-secrets controller.
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        default_value = "sealed-secrets-controller"
    )]
    controller_name: String,
    /// Output format for sealed secret. Either json or yaml
    #[arg(short = 'o', long = "format", env = "SEALED_SECRETS_FORMAT", default_value = "json")]
    format: String,
    /// Sealed-secret (output) file
    #[arg(short = 'w', long = "sealed-secret-file", env = "SEALED_SECRETS_SEALED_SECRET_FILE")]
    sealed_secret_file: Option<PathBuf>,
    /// Secret (input) file
    #[arg(short = 'f', long = "secret-file", env = "SEALED_SECRETS_SECRET_FILE")]
    secret_file: Option<PathBuf>,
    /// Write certificate to stdout. Useful for later use with --cert
    #[arg(long, env = "SEALED_SECRETS_FETCH_CERT")]
    fetch_cert: bool,
    /// Allow empty data in the secret object
    #[arg(long, env = "SEALED_SECRETS_ALLOW_EMPTY_DATA")]
    allow_empty_data: bool,
    /// Validate given sealed secret object
    #[arg(long, env = "SEALED_SECRETS_VALIDATE")]
    validate: bool,
    /// Merge items from secret into an existing sealed secret file, updating the file in-place instead of
    /// writing to stdout.
    #[arg(long, env = "SEALED_SECRETS_MERGE_INTO")]
    merge_into: Option<PathBuf>,
    /// Encrypt a raw value passed via the --from-* flags instead of the whole secret object
    #[arg(long, env = "SEALED_SECRETS_RAW")]
    raw: bool,
    /// Name of the sealed secret (required with --raw and default (strict) scope)
    #[arg(long, env = "SEALED_SECRETS_NAME")]
    name: Option<String>,
    /// (only with --raw) Secret items can be sourced from files. Pairs of key=file
    #[arg(long = "from-file", env = "SEALED_SECRETS_FROM_FILE", value_delimiter = ',', action = ArgAction::Append)]
    from_file: Vec<String>,
    /// Set the scope of the sealed secret: strict, namespace-wide, cluster-wide (defaults to strict).
    #[arg(long, env = "SEALED_SECRETS_SCOPE", default_value = "strict", value_parser = parse_scope)]
    scope: ScopeArg,
    /// Re-encrypt the given sealed secret to use the latest cluster key.
    #[arg(long = "re-encrypt", visible_alias = "rotate", env = "SEALED_SECRETS_RE_ENCRYPT")]
    re_encrypt: bool,
    /// Decrypt a sealed secrets file obtaining the original secret resource
    #[arg(long = "recovery-unseal", env = "SEALED_SECRETS_RECOVERY_UNSEAL")]
    recovery_unseal: bool,
    /// Private key filename used by the --recovery-unseal command. Multiple files accepted either via comma
    /// separated list or by repetition of the flag.
    #[arg(long = "recovery-private-key", env = "SEALED_SECRETS_RECOVERY_PRIVATE_KEY", value_delimiter = ',', action = ArgAction::Append)]
    recovery_private_key: Vec<PathBuf>,
    /// Path to a kube config. Only required if out-of-cluster
    #[arg(long, env = "SEALED_SECRETS_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// If present, the namespace scope for this CLI request
    #[arg(short = 'n', long, env = "SEALED_SECRETS_NAMESPACE")]
    namespace: Option<String>,
    /// Print the version (as `kubeseal version: …`).
    #[arg(long)]
    version: bool,
}

fn parse_scope(s: &str) -> Result<ScopeArg, String> {
    match s {
        "" | "strict" => Ok(ScopeArg::Strict),
        "namespace-wide" => Ok(ScopeArg::NamespaceWide),
        "cluster-wide" => Ok(ScopeArg::ClusterWide),
        _ => Err("must be one of: strict, namespace-wide, cluster-wide".into()),
    }
}

/// Runs kubeseal mode with the process arguments.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<()> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let parsed = Kubeseal::command()
        .try_get_matches_from(args)
        .and_then(|matches| Ok((Kubeseal::from_arg_matches(&matches)?, matches)));
    let (k, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // Like pflag's ExitOnError under kubeseal: usage errors and help on stdout; exit 2, help 0.
            print!("{}", e.render());
            let _ = std::io::stdout().flush();
            std::process::exit(e.exit_code());
        }
    };
    if k.version {
        // Upstream's format, with the upstream release sealant is compatible with; sealant's own version is the
        // semver build metadata (scripts that compare versions see the upstream one).
        println!(
            "kubeseal version: v{UPSTREAM_VERSION}+sealant.{}",
            env!("CARGO_PKG_VERSION")
        );
        return Ok(());
    }
    if !k.from_file.is_empty() && !k.raw {
        bail!("--from-file requires --raw");
    }
    let format = match k.format.to_ascii_lowercase().as_str() {
        "json" => OutputFormat::Json,
        "yaml" => OutputFormat::Yaml,
        other => bail!("unsupported output format: {other}"),
    };
    // `-w x.yaml` / `.yml` switches to YAML whatever `-o` says (spec 4.1 step 5).
    let format = match k
        .sealed_secret_file
        .as_ref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
    {
        Some("yaml" | "yml") => OutputFormat::Yaml,
        _ => format,
    };
    if let Some(file) = &k.secret_file
        && std::fs::metadata(file).is_err()
    {
        bail!("Could not read file specified with --secret-file");
    }
    let output = if k.re_encrypt && k.sealed_secret_file.is_none() {
        k.secret_file.clone()
    } else {
        k.sealed_secret_file.clone()
    };
    if k.recovery_unseal {
        // Why not from the environment: a SEALED_SECRETS_SEALED_SECRET_FILE exported for sealing names the file
        // that gets committed; the recovered plaintext must never be written over it.
        let on_command_line =
            matches.value_source("sealed_secret_file") == Some(clap::parser::ValueSource::CommandLine);
        let output = output.filter(|_| on_command_line || k.re_encrypt);
        return crate::cmd::unseal::run(UnsealArgs {
            keys: KeyArgs {
                keys: k.recovery_private_key.clone(),
                age_identity: None,
                keys_dir: "keys".into(),
            },
            io: SecretIo {
                file: k.secret_file.clone(),
                format: Some(format),
                output,
            },
            force: true,
        });
    }
    if !k.recovery_private_key.is_empty() && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("warning: ignoring --recovery-private-key because unseal command not chosen with --recovery-unseal");
    }
    if k.validate || k.re_encrypt {
        return through_controller(&k, format, output);
    }
    if !k.cert.is_empty()
        && !k.cert.contains("://")
        && let Err(e) = std::fs::metadata(&k.cert)
    {
        // Upstream's wording (Go's `open` error), which scripts and upstream's own tests match.
        bail!("open {}: {}", k.cert, go_error_text(&e));
    }
    let cert = if k.cert.is_empty() {
        // No --cert: ask the controller through the API server, as kubeseal does; sealing goes on from a file.
        let pem = controller(&k)?
            .cert_pem()
            .map_err(|e| anyhow!("cannot fetch certificate: {e:#}"))?;
        let file = tempfile::NamedTempFile::new()?;
        std::fs::write(file.path(), &pem)?;
        Some(file)
    } else {
        None
    };
    let cert_location = match &cert {
        Some(file) => file.path().display().to_string(),
        None => k.cert.clone(),
    };
    if k.fetch_cert {
        let pem = sealant_client::cert::read(&cert_location)?;
        return io::emit(output.as_deref(), &pem, Sensitivity::Public, false);
    }
    let default_namespace = sealant_client::keysecrets::context_namespace(k.kubeconfig.as_deref());
    crate::cmd::seal::run(SealArgs {
        cert: Some(cert_location),
        clusters: Vec::new(),
        keys_dir: "keys".into(),
        io: Io {
            file: k.secret_file.clone(),
            format: Some(format),
            output,
        },
        scope: (k.scope != ScopeArg::Strict).then_some(k.scope),
        namespace: k.namespace.clone(),
        default_namespace,
        name: k.name.clone(),
        raw: k.raw,
        from_file: k.from_file.clone(),
        from_literal: None,
        merge_into: k.merge_into.clone(),
        allow_empty_data: k.allow_empty_data,
        trust_cert: Vec::new(),
        upstream_names: true,
        from_config: None,
    })
}

/// The controller the flags name, through the API server's service proxy.
fn controller(k: &Kubeseal) -> Result<Controller> {
    Ok(Controller::through_proxy(
        k.kubeconfig.as_deref(),
        &k.controller_namespace,
        &k.controller_name,
    )?)
}

/// The kubeconfig context's namespace, used for Secrets without one (spec 4.3). None without a kubeconfig.
fn through_controller(k: &Kubeseal, format: OutputFormat, output: Option<PathBuf>) -> Result<()> {
    let input = io::read_input(
        k.secret_file.as_deref(),
        "tty detected: expecting json/yaml k8s resource in stdin",
    )?;
    let objects = match manifest::read(&input.text) {
        Ok((_, objects)) => objects,
        Err(_) if k.validate => bail!("unable to decrypt sealed secret"),
        Err(e) => bail!("cannot re-encrypt secret: {e}"),
    };
    let controller = controller(k)?;
    let mut rotated = Vec::new();
    for located in &objects {
        let Object::SealedSecret(ss) = &located.object else {
            continue;
        };
        if k.validate {
            match controller.verify(ss) {
                Ok(true) => {}
                Ok(false) => bail!("unable to decrypt sealed secret: {}", ss.name()),
                Err(sealant_client::Error::Status { status, .. }) => {
                    bail!("cannot validate sealed secret: the server answered {status}")
                }
                Err(e) => bail!("cannot validate sealed secret: {e:#}"),
            }
        } else {
            match controller.rotate(ss) {
                Ok(Some(new)) => rotated.push(new),
                Ok(None) => bail!("unable to rotate secret"),
                Err(sealant_client::Error::Status { status, .. }) => {
                    bail!("cannot re-encrypt secret: the server answered {status}")
                }
                Err(e) => bail!("cannot re-encrypt secret: {e:#}"),
            }
        }
    }
    if k.validate {
        return Ok(());
    }
    let format = match format {
        OutputFormat::Json => Format::Json,
        OutputFormat::Yaml => Format::Yaml,
    };
    let out = manifest::write_sealed(&rotated, format);
    match output {
        Some(path) => io::write_atomic(&path, out.as_bytes(), Sensitivity::Public),
        None => {
            std::io::stdout().write_all(out.as_bytes())?;
            Ok(())
        }
    }
}

/// An OS error as Go prints it: `no such file or directory`, not `No such file or directory (os error 2)`.
fn go_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or_default();
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}
