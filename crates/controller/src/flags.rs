//! The controller's flags: upstream's names, read from upstream's `SEALED_SECRETS_<FLAG>` environment variables
//! so an existing Deployment's settings carry over; sealant's own flags read `SEALANT_CONTROLLER_<FLAG>`. The
//! value grammars (Go durations, `date -R` times, `:port` addresses) are upstream's too.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::Config;
use crate::keys::KeyOrder;

/// Flags of `sealant controller`.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// Print the SealedSecret CRD (YAML) and exit.
    #[arg(long)]
    pub print_crd: bool,
    /// Namespace of the key Secrets and the leader Lease [default: $POD_NAMESPACE, else the service account's].
    #[arg(long, env = "SEALANT_CONTROLLER_NAMESPACE")]
    pub namespace: Option<String>,
    /// `generateName` of new key Secrets (and name of the legacy single key Secret).
    #[arg(long, env = "SEALED_SECRETS_KEY_PREFIX", default_value = "sealed-secrets-key")]
    pub key_prefix: String,
    /// RSA key size of new keys.
    #[arg(long, env = "SEALED_SECRETS_KEY_SIZE", default_value_t = 4096)]
    pub key_size: usize,
    /// Validity of new certificates (`87600h`, `3650d`).
    #[arg(long, env = "SEALED_SECRETS_KEY_TTL", default_value = "87600h", value_parser = parse_duration)]
    pub key_ttl: Duration,
    /// A new key every this often; 0 disables renewal.
    #[arg(long, visible_alias = "rotate-period", env = "SEALED_SECRETS_KEY_RENEW_PERIOD", default_value = "720h", value_parser = parse_duration)]
    pub key_renew_period: Duration,
    /// Generate a new key at start if the newest is older than this (RFC 1123Z, as `date -R` prints, or RFC 3339).
    #[arg(long, env = "SEALED_SECRETS_KEY_CUTOFF_TIME", value_parser = parse_time)]
    pub key_cutoff_time: Option<OffsetDateTime>,
    /// Labels for new key Secrets (`k=v,k2=v2`).
    #[arg(long, env = "SEALED_SECRETS_PRIVATEKEY_LABELS", default_value = "", value_parser = parse_pairs)]
    pub privatekey_labels: BTreeMap<String, String>,
    /// Annotations for new key Secrets (`k=v,k2=v2`).
    #[arg(long, env = "SEALED_SECRETS_PRIVATEKEY_ANNOTATIONS", default_value = "", value_parser = parse_pairs)]
    pub privatekey_annotations: BTreeMap<String, String>,
    /// age public keys (`age1…`, comma-separated) to escrow every sealing key to: published in the escrow
    /// ConfigMap and at `GET /v1/escrow`. Public keys only; the identities stay offline.
    #[arg(
        long = "escrow-recipients",
        env = "SEALANT_CONTROLLER_ESCROW_RECIPIENTS",
        value_name = "AGE1,..."
    )]
    pub escrow_recipients: Option<String>,
    /// ConfigMap in the controller namespace that holds the escrow bundle.
    #[arg(
        long = "escrow-configmap",
        env = "SEALANT_CONTROLLER_ESCROW_CONFIGMAP",
        default_value = "sealant-key-escrow"
    )]
    pub escrow_configmap: String,
    /// Open SealedSecrets in the deprecated whole-Secret `spec.data` format.
    #[arg(long, env = "SEALED_SECRETS_ACCEPT_DEPRECATED_V1_DATA", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub accept_deprecated_v1_data: bool,
    /// Watch every namespace; `--all-namespaces=false` watches only the controller's own namespace (and
    /// --additional-namespaces).
    #[arg(long, env = "SEALED_SECRETS_ALL_NAMESPACES", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub all_namespaces: bool,
    /// Watch these namespaces (comma-separated) besides the controller's own; given, it turns --all-namespaces off.
    #[arg(long, env = "SEALED_SECRETS_ADDITIONAL_NAMESPACES", value_delimiter = ',')]
    pub additional_namespaces: Vec<String>,
    /// Only SealedSecrets matching this label selector.
    #[arg(long, env = "SEALED_SECRETS_LABEL_SELECTOR")]
    pub label_selector: Option<String>,
    /// Write `status` on SealedSecrets.
    #[arg(long, env = "SEALED_SECRETS_UPDATE_STATUS", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub update_status: bool,
    /// Do not re-create a deleted or edited Secret on its own change (only when its SealedSecret changes or the
    /// keys do).
    #[arg(long, env = "SEALED_SECRETS_SKIP_RECREATE", default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub skip_recreate: bool,
    /// Common name (subject and issuer) of new certificates; empty by default, as upstream.
    #[arg(long, env = "SEALED_SECRETS_MY_CN", default_value = "")]
    pub my_cn: String,
    /// Which key is newest (seals): `CertNotBefore` (the certificate's NotBefore) or `SecretCreationTimestamp`.
    #[arg(long, env = "SEALED_SECRETS_KEY_ORDER_PRIORITY", default_value = "CertNotBefore", value_parser = parse_key_order)]
    pub key_order_priority: KeyOrder,
    /// Accepted for upstream compatibility; always on: key Secrets are always watched.
    #[arg(long, env = "SEALED_SECRETS_WATCH_FOR_SECRETS", default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub watch_for_secrets: bool,
    /// Accepted for upstream compatibility, no effect: Secrets are removed by Kubernetes' garbage collector
    /// through their owner reference.
    #[arg(long, env = "SEALED_SECRETS_OLD_GC_BEHAVIOR", default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub old_gc_behavior: bool,
    /// Accepted for upstream compatibility, no effect: logs go to stderr (stdout is the audit log's).
    #[arg(long, env = "SEALED_SECRETS_LOG_INFO_STDOUT", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool, action = clap::ArgAction::Set)]
    pub log_info_stdout: bool,
    /// Accepted for upstream compatibility, no effect: the Kubernetes client has no client-side rate limiter;
    /// --concurrency bounds the load on the API server.
    #[arg(
        long,
        env = "SEALED_SECRETS_KUBECLIENT_QPS",
        default_value_t = 5.0,
        allow_negative_numbers = true
    )]
    pub kubeclient_qps: f32,
    /// Accepted for upstream compatibility, no effect (see --kubeclient-qps).
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_BURST", default_value_t = 10)]
    pub kubeclient_burst: i64,
    /// Accepted for upstream compatibility: the per-request limit (--read-timeout) covers the whole exchange.
    #[arg(long, env = "SEALED_SECRETS_WRITE_TIMEOUT", default_value = "2m", value_parser = parse_duration)]
    pub write_timeout: Duration,
    /// Print the version (`controller version: v…`) and exit.
    #[arg(long)]
    pub version: bool,
    /// Rolling-restart workloads after their Secret changed, where the SealedSecret asks
    /// (`sealant.dev/rollout-restart`) and the workload accepts (`sealant.dev/accept-restarts: "true"`). Needs the
    /// optional `manifests/rollout-restart.yaml` RBAC.
    #[arg(long, env = "SEALANT_CONTROLLER_ROLLOUT_RESTARTS")]
    pub rollout_restarts: bool,
    /// Retries of a failing object (API errors) before waiting for it to change.
    #[arg(long, env = "SEALED_SECRETS_MAX_UNSEAL_RETRIES", default_value_t = 5)]
    pub max_unseal_retries: u32,
    /// SealedSecrets reconciled concurrently.
    #[arg(long, env = "SEALANT_CONTROLLER_CONCURRENCY", default_value_t = 32)]
    pub concurrency: u16,
    /// HTTP API address.
    #[arg(long, env = "SEALED_SECRETS_LISTEN_ADDR", default_value = ":8080", value_parser = parse_addr)]
    pub listen_addr: SocketAddr,
    /// Do not serve the sealing page at `/` of the HTTP API address (it seals in the browser, to this
    /// controller's certificate; it holds and receives no secret).
    #[arg(long, env = "SEALANT_CONTROLLER_NO_SEALING_PAGE")]
    pub no_sealing_page: bool,
    /// Metrics address.
    #[arg(long, env = "SEALED_SECRETS_LISTEN_METRICS_ADDR", default_value = ":8081", value_parser = parse_addr)]
    pub listen_metrics_addr: SocketAddr,
    /// `/v1/verify` and `/v1/rotate` requests per second, per client.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT", default_value_t = 2)]
    pub rate_limit: u32,
    /// Burst above the rate limit.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT_BURST", default_value_t = 2)]
    pub rate_limit_burst: u32,
    /// Addresses of proxies (e.g. the API server) whose `X-Forwarded-For` names the client for rate limits and
    /// the audit log; every other caller is keyed on its own address. Comma-separated IP addresses.
    #[arg(
        long,
        env = "SEALANT_CONTROLLER_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "IP"
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Largest HTTP request body, in bytes.
    #[arg(long, env = "SEALANT_CONTROLLER_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Per-request time limit of the HTTP API.
    #[arg(long, env = "SEALED_SECRETS_READ_TIMEOUT", default_value = "2m", value_parser = parse_duration)]
    pub read_timeout: Duration,
    /// Time a client has to send its request headers (slow clients are cut off).
    #[arg(long, env = "SEALANT_CONTROLLER_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Connections each HTTP server (API, metrics) serves at once; more wait to be accepted.
    #[arg(long, env = "SEALANT_CONTROLLER_MAX_CONNECTIONS", default_value_t = 256)]
    pub max_connections: usize,
    /// Audit log file (JSON lines) [default: stdout].
    #[arg(long, env = "SEALANT_CONTROLLER_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,
    /// While the audit log file cannot be written, decrypt nothing (reconciles wait, `/v1/verify` and
    /// `/v1/rotate` answer 503) and fail `/readyz`: every access to secrets is logged, or none happens. Without
    /// it, the failure is logged and counted (`sealant_audit_write_failures`) and decrypting goes on.
    #[arg(long, env = "SEALANT_CONTROLLER_AUDIT_FAIL_CLOSED", requires = "audit_log")]
    pub audit_fail_closed: bool,
    /// Exit with an error when the Lease cannot be used, instead of running without leader election (what a
    /// controller without Lease rights does otherwise, as upstream runs). sealant's chart sets it.
    #[arg(
        long,
        env = "SEALANT_CONTROLLER_REQUIRE_LEADER_ELECTION",
        conflicts_with = "no_leader_election"
    )]
    pub require_leader_election: bool,
    /// Run without leader election (only ever one replica!).
    #[arg(long, env = "SEALANT_CONTROLLER_NO_LEADER_ELECTION")]
    pub no_leader_election: bool,
    /// Name of the leader Lease.
    #[arg(long, env = "SEALANT_CONTROLLER_LEASE_NAME", default_value = "sealant-controller")]
    pub lease_name: String,
    /// Lease duration.
    #[arg(long, env = "SEALANT_CONTROLLER_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// This replica's identity [default: $POD_NAME, else the host name].
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Log level (`error`, `warn`, `info`, `debug`), or a tracing filter.
    #[arg(long, env = "SEALED_SECRETS_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log format: `text` or `json`.
    #[arg(long, env = "SEALED_SECRETS_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

/// A flag value the controller cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// `--key-prefix` is not a valid name (upstream's check).
    #[error("--key-prefix: {0}")]
    KeyPrefix(&'static str),
    /// `--escrow-recipients` holds something that is not an age public key.
    #[error(transparent)]
    Recipients(#[from] sealant_repo::escrow::EscrowError),
}

impl Flags {
    /// The controller's configuration from its flags (and, for the namespace and identity, the pod's
    /// environment).
    pub fn into_config(self) -> Result<Config, FlagError> {
        let args = self;
        let namespace = args
            .namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .or_else(|| std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace").ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "kube-system".into());
        validate_prefix(&args.key_prefix)?;
        let identity = args
            .identity
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| format!("sealant-{}", std::process::id()));
        let namespaces = watched_namespaces(&namespace, args.all_namespaces, args.additional_namespaces);
        Ok(Config {
            namespace,
            key_prefix: args.key_prefix,
            key_size: args.key_size,
            key_ttl: args.key_ttl,
            key_renew_period: args.key_renew_period,
            key_cutoff_time: args.key_cutoff_time,
            key_labels: args.privatekey_labels,
            key_annotations: args.privatekey_annotations,
            escrow_recipients: args
                .escrow_recipients
                .as_deref()
                .map(|r| sealant_repo::Recipients::parse(r, "--escrow-recipients"))
                .transpose()?,
            escrow_configmap: args.escrow_configmap,
            accept_deprecated_v1_data: args.accept_deprecated_v1_data,
            namespaces,
            label_selector: args.label_selector.filter(|s| !s.is_empty()),
            update_status: args.update_status,
            skip_recreate: args.skip_recreate,
            my_cn: Some(args.my_cn).filter(|cn| !cn.is_empty()),
            key_order: args.key_order_priority,
            rollout_restarts: args.rollout_restarts,
            max_unseal_retries: args.max_unseal_retries,
            concurrency: args.concurrency,
            listen_addr: args.listen_addr,
            metrics_addr: args.listen_metrics_addr,
            rate_limit: args.rate_limit,
            rate_limit_burst: args.rate_limit_burst,
            sealing_page: !args.no_sealing_page,
            trusted_proxies: args.trusted_proxies,
            max_body_bytes: args.max_body_bytes,
            request_timeout: args.read_timeout,
            header_timeout: args.header_timeout,
            max_connections: args.max_connections,
            audit_log: args.audit_log,
            audit_fail_closed: args.audit_fail_closed,
            leader_election: !args.no_leader_election,
            require_leader_election: args.require_leader_election,
            lease_name: args.lease_name,
            identity,
            lease_duration: args.lease_duration,
        })
    }
}

/// Upstream's rule: every namespace, unless `--all-namespaces=false` or `--additional-namespaces` is given;
/// then the controller's own namespace and the additional ones (an empty list means all).
fn watched_namespaces(own: &str, all: bool, additional: Vec<String>) -> Vec<String> {
    let additional: Vec<String> = additional.into_iter().filter(|n| !n.trim().is_empty()).collect();
    if all && additional.is_empty() {
        return Vec::new();
    }
    let mut namespaces = vec![own.to_string()];
    for ns in additional {
        if !namespaces.contains(&ns) {
            namespaces.push(ns);
        }
    }
    namespaces
}

/// A boolean as Go's `strconv.ParseBool` reads it (what upstream's flags and environment accept).
fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean (true or false)")),
    }
}

fn parse_key_order(text: &str) -> Result<KeyOrder, String> {
    match text {
        "CertNotBefore" => Ok(KeyOrder::CertNotBefore),
        "SecretCreationTimestamp" => Ok(KeyOrder::SecretCreationTimestamp),
        _ => Err(format!("{text:?}: want CertNotBefore or SecretCreationTimestamp")),
    }
}

/// Upstream's check (spec 3.1): at most 245 characters of `[a-z0-9-]`.
fn validate_prefix(prefix: &str) -> Result<(), FlagError> {
    if prefix.len() > 245 {
        return Err(FlagError::KeyPrefix("name is too long"));
    }
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(FlagError::KeyPrefix("name contains illegal character"));
    }
    Ok(())
}

/// Go-style durations (`720h`, `2m0s`, `1h30m`), plus `d` for days.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        let (number, tail) = rest.split_at(digits);
        let number: f64 = number.parse().map_err(|_| format!("invalid duration {text:?}"))?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(format!("unknown unit {unit:?} in duration {text:?}")),
        };
        total += number * seconds;
        rest = tail;
    }
    Ok(Duration::from_secs_f64(total))
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    use time::format_description::well_known::{Rfc2822, Rfc3339};
    OffsetDateTime::parse(text, &Rfc2822)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .map_err(|_| format!("{text:?} is neither RFC 1123Z (`date -R`) nor RFC 3339"))
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.parse()
        .map_err(|_| format!("invalid address {text:?} (want host:port or :port)"))
}

fn parse_pairs(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (k, v) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not key=value"))?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn durations_read_like_go_plus_days() {
        assert_eq!(parse_duration("720h").unwrap(), Duration::from_secs(720 * 3600));
        assert_eq!(parse_duration("2m0s").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn cutoff_time_accepts_date_r_and_rfc3339() {
        assert!(parse_time("Mon, 02 Jan 2006 15:04:05 -0700").is_ok());
        assert!(parse_time("2026-01-02T03:04:05Z").is_ok());
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn booleans_read_like_go_flags_bare_or_with_equals() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            flags: Flags,
        }
        let parse = |args: &[&str]| {
            let mut argv = vec!["controller"];
            argv.extend_from_slice(args);
            Command::try_parse_from(argv).map(|c| c.flags)
        };
        assert!(parse(&["--update-status"]).unwrap().update_status);
        assert!(!parse(&["--update-status=false"]).unwrap().update_status);
        assert!(!parse(&["--update-status=F"]).unwrap().update_status);
        assert!(parse(&["--update-status=maybe"]).is_err());
        // Bitnami's chart: a bare boolean followed by other flags.
        let chart = parse(&[
            "--update-status",
            "--key-prefix",
            "sealed-secrets-key",
            "--listen-addr",
            ":8080",
        ])
        .unwrap();
        assert!(chart.update_status);
        assert_eq!(chart.key_prefix, "sealed-secrets-key");
    }

    #[test]
    fn namespaces_are_all_unless_restricted_then_own_plus_additional() {
        assert!(watched_namespaces("ss", true, vec![]).is_empty());
        assert_eq!(watched_namespaces("ss", false, vec![]), ["ss"]);
        assert_eq!(
            watched_namespaces("ss", true, vec!["a".into(), "ss".into(), "".into()]),
            ["ss", "a"]
        );
    }

    #[test]
    fn key_prefix_is_checked_like_upstream() {
        assert!(validate_prefix("sealed-secrets-key").is_ok());
        assert!(validate_prefix("Bad_Prefix").is_err());
        assert!(validate_prefix(&"a".repeat(246)).is_err());
    }

    #[test]
    fn the_flag_defaults_are_the_library_defaults() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            flags: Flags,
        }
        let parsed = Command::try_parse_from(["controller", "--namespace", "kube-system", "--identity", "x"]).unwrap();
        let from_flags = parsed.flags.into_config().unwrap();
        let defaults = Config {
            identity: "x".into(),
            ..Config::default()
        };
        // Config holds no secret: its Debug form is a faithful field-by-field comparison.
        assert_eq!(format!("{from_flags:#?}"), format!("{defaults:#?}"));
    }
}
