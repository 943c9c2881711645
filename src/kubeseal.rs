//! `kubeseal`-compatible mode: when sealant is invoked as `kubeseal` (a symlink), it takes upstream's flags,
//! `SEALED_SECRETS_*` environment, defaults (JSON output, strict scope, the controller through the API server)
//! and error texts, so existing scripts keep working. The work itself is sealant's.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use sealant_core::manifest::{self, Format, Object};

use crate::io::{self, Sensitivity};
use sealant_cli::kubeseal::Kubeseal;
use sealant_cli::seal::SealArgs;
use sealant_cli::shared::{AuditArgs, Io, KeyArgs, OutputFormat, ScopeArg, SecretIo};
use sealant_cli::unseal::UnsealArgs;
use sealant_client::Controller;
use sealant_client::cluster::Access;

/// The upstream release whose flags, output and ciphertexts kubeseal mode reproduces.
const UPSTREAM_VERSION: &str = "0.36.6";

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
            // kubeseal has no such flag; the variable still applies, as for `sealant unseal`.
            audit: AuditArgs {
                audit_log: std::env::var_os("SEALANT_AUDIT_LOG").map(Into::into),
            },
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
    let default_namespace = access(&k).namespace();
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
        generate: Vec::new(),
        trust_cert: Vec::new(),
        upstream_names: true,
        from_config: None,
    })
}

/// The controller the flags name, through the API server's service proxy.
fn controller(k: &Kubeseal) -> Result<Controller> {
    Ok(Controller::through_proxy(
        &access(k),
        &k.controller_namespace,
        &k.controller_name,
    )?)
}

/// The cluster `--kubeconfig` and `--context` name.
fn access(k: &Kubeseal) -> Access {
    Access::new(k.kubeconfig.clone(), k.context.clone())
}

/// `--validate` and `--re-encrypt`: each SealedSecret of the input sent to the controller's `/v1/verify` or
/// `/v1/rotate`; the re-encrypted ones written out.
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
    let format = io::output_format(Some(format), None, Format::Json);
    let out = manifest::write_sealed(&rotated, format);
    io::emit(output.as_deref(), out.as_bytes(), Sensitivity::Public, false)
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
