//! `make bench-compare`: sealant against upstream Bitnami Sealed Secrets (v0.36.6, built from Go modules), one
//! after the other in one run on one machine, with `openssl speed` as the RSA limit (benches/compare.sh
//! measures it first).
//!
//! * Sealing: 1,000 Secrets in one file, and 100 single-Secret invocations: `sealant seal` vs `kubeseal`.
//! * Controller: N SealedSecrets (default 1,000 and 10,000, `BENCH_SIZES`) already applied, then the controller
//!   starts: time until every Secret exists (counted through the API server the same way for both), CPU time,
//!   peak RSS, unseal attempts; then a restart (a full resync) and the unseal work it causes.
//!
//! Prints a Markdown table (the rows of BENCHMARKS.md) and the ratios.

use sealant_testenv::cluster;
#[path = "support.rs"]
mod support;
use sealant_testenv::upstream;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster::*;
use support::*;
use upstream::*;

/// Times `f` once.
fn timed(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64()
}

fn run_quiet(bin: &std::path::Path, args: &[&str], stdin: &str) {
    let (code, _, err) = run(Command::new(bin).args(args).env("KUBECONFIG", "/nonexistent"), stdin);
    assert_eq!(code, 0, "{} {args:?}: {err}", bin.display());
}

/// Sealing side by side. Returns the table rows.
fn sealing(rsa_verify_per_s: f64) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let status = Command::new(sealant_bin())
        .args(["keys", "new", "--out"])
        .arg(&keys)
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let cert = keys.join("tls.crt").display().to_string();
    let one = |i: usize| {
        format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"s{i}\",\"namespace\":\"bench\"}},\"stringData\":{{\"token\":\"value-{i}\"}}}}\n"
        )
    };
    let many: String = (0..1000).map(one).collect();
    let kubeseal = upstream().join("kubeseal");
    let sealant = sealant_bin();
    let mut rows = Vec::new();
    let bound_1000 = 1000.0 / rsa_verify_per_s;
    let (s, k) = (
        timed(|| run_quiet(&sealant, &["seal", "--cert", &cert, "-o", "json"], &many)),
        timed(|| run_quiet(&kubeseal, &["--cert", &cert, "-o", "json"], &many)),
    );
    rows.push(format!(
        "| seal 1,000 Secrets in one file | {s:.2} s | {k:.2} s | **{:.1}×** | {bound_1000:.2} s (1,000 RSA-4096 public ops, one core) |",
        k / s
    ));
    let (s, k) = (
        timed(|| (0..100).for_each(|i| run_quiet(&sealant, &["seal", "--cert", &cert, "-o", "json"], &one(i)))),
        timed(|| (0..100).for_each(|i| run_quiet(&kubeseal, &["--cert", &cert, "-o", "json"], &one(i)))),
    );
    rows.push(format!(
        "| 100 single-Secret invocations | {s:.2} s | {k:.2} s | **{:.1}×** | {:.2} s |",
        k / s,
        100.0 / rsa_verify_per_s
    ));
    rows
}

/// How many Secrets `ns` holds, from one `limit=1` LIST (1 + remainingItemCount).
fn secret_count(ns: &str) -> usize {
    let list = get(&format!("/api/v1/namespaces/{ns}/secrets?limit=1")).unwrap();
    let items = list["items"].as_array().map_or(0, Vec::len);
    items + list["metadata"]["remainingItemCount"].as_u64().unwrap_or(0) as usize
}

/// One controller's figures.
struct Figures {
    converge_s: f64,
    cpu_s: f64,
    rss_mib: f64,
    unseals: f64,
    rsa_ops: f64,
    resync_s: f64,
    resync_unseals: f64,
    resync_rsa_ops: f64,
    resync_cpu_s: f64,
}

/// What differs between the two controllers: how to start one, and where its metrics are.
enum Which {
    Sealant,
    Upstream,
}

/// A running controller of either kind.
enum Running {
    Sealant(Controller),
    Upstream(Upstream),
}

impl Running {
    fn start(which: &Which, ns: &Namespace, apps: &str, name: &str) -> Self {
        match which {
            Which::Sealant => Self::Sealant(Controller::start(
                ns,
                name,
                &[apps],
                &["--key-size", "4096", "--log-level", "warn"],
            )),
            // Why no client-side rate limit for upstream: its default (5 requests/s) would measure client-go's
            // throttle, not the controller; sealant's client has none. The default-settings figure is in BENCHMARKS.md.
            Which::Upstream => Self::Upstream(Upstream::start(
                ns,
                name,
                &["--key-size", "4096", "--kubeclient-qps=-1"],
            )),
        }
    }

    fn cert_url(&self) -> String {
        match self {
            Self::Sealant(c) => format!("{}/v1/cert.pem", c.api),
            Self::Upstream(u) => format!("{}/v1/cert.pem", u.api),
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Self::Sealant(c) => c.pid().unwrap(),
            Self::Upstream(u) => u.child.id(),
        }
    }

    /// sealant's RSA private-operation counter (upstream has none: each of its unseals is one here, one key).
    fn rsa_ops(&self) -> f64 {
        match self {
            Self::Sealant(c) => c.metric("sealant_rsa_private_operations_total"),
            Self::Upstream(_) => f64::NAN,
        }
    }

    /// Unseal attempts: the upstream metric both controllers export.
    fn unseals(&self) -> f64 {
        let base = match self {
            Self::Sealant(c) => &c.metrics,
            Self::Upstream(u) => &u.metrics,
        };
        metric_at(base, "sealed_secrets_controller_unseal_requests_total")
    }
}

fn controller(which: &Which, n: usize) -> Figures {
    let label = match which {
        Which::Sealant => "sealant",
        Which::Upstream => "upstream",
    };
    let ns = Namespace::new(&format!("cmp-{label}-{n}"));
    let apps = ns.other(&format!("cmp-{label}-{n}-apps"));
    // The first start only makes the key the objects are sealed to.
    let keymaker = Running::start(which, &ns, &apps, "keymaker");
    let objects = seal_many(&keymaker.cert_url(), &apps, n);
    drop(keymaker);
    apply_all(&objects, 8);

    let started = Instant::now();
    let c = Running::start(which, &ns, &apps, "measured");
    while secret_count(&apps) < n {
        std::thread::sleep(Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(3600), "{label}: no convergence");
    }
    let converge_s = started.elapsed().as_secs_f64();
    let pid = c.pid();
    let (cpu_s, rss_mib, unseals, rsa_ops) = (
        cpu_seconds(pid),
        proc_field(pid, "status", "VmHWM:").unwrap_or(0) as f64 / 1024.0,
        c.unseals(),
        c.rsa_ops(),
    );
    drop(c);

    // Resync: a restarted controller lists everything again. Measured until it has either decrypted every
    // object again or, for sealant, seen every one as current (its skip counter), whichever it does.
    let started = Instant::now();
    let c = Running::start(which, &ns, &apps, "restarted");
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let done = match &c {
            Running::Sealant(s) => s.metric("sealant_unseal_skipped_total") + c.unseals() >= n as f64,
            Running::Upstream(_) => c.unseals() >= n as f64,
        };
        if done || started.elapsed() > Duration::from_secs(3600) {
            break;
        }
    }
    Figures {
        converge_s,
        cpu_s,
        rss_mib,
        unseals,
        rsa_ops,
        resync_s: started.elapsed().as_secs_f64(),
        resync_unseals: c.unseals(),
        resync_rsa_ops: c.rsa_ops(),
        resync_cpu_s: cpu_seconds(c.pid()),
    }
}

fn main() {
    let env = |name: &str| -> f64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} unset: run through benches/compare.sh"))
    };
    let (sign, verify) = (env("OPENSSL_RSA4096_SIGN_PER_S"), env("OPENSSL_RSA4096_VERIFY_PER_S"));
    let sizes = sizes();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;

    let mut rows = vec![
        "| sealing | sealant | kubeseal v0.36.6 | kubeseal / sealant | RSA limit (`openssl speed`) |".to_string(),
        "| --- | --- | --- | --- | --- |".to_string(),
    ];
    rows.extend(sealing(verify));
    rows.push(String::new());
    rows.push("| controller, N SealedSecrets (RSA-4096) | sealant | upstream v0.36.6 | upstream / sealant |".into());
    rows.push("| --- | --- | --- | --- |".into());
    for n in sizes {
        let ours = controller(&Which::Sealant, n);
        let theirs = controller(&Which::Upstream, n);
        let bound = n as f64 / (sign * cores);
        let row = |what: &str, a: f64, b: f64, unit: &str| {
            format!(
                "| N={n}: {what} | {a:.1}{unit} | {b:.1}{unit} | **{:.1}×** |",
                b / a.max(1e-9)
            )
        };
        rows.push(row(
            "start → all Secrets present",
            ours.converge_s,
            theirs.converge_s,
            " s",
        ));
        rows.push(row("controller CPU time", ours.cpu_s, theirs.cpu_s, " s"));
        rows.push(row("peak RSS", ours.rss_mib, theirs.rss_mib, " MiB"));
        rows.push(format!(
            "| N={n}: unseal requests (reconciles) / sealant RSA private ops | {} / {} RSA ops | {} | RSA limit on {cores} cores: {bound:.1} s |",
            ours.unseals, ours.rsa_ops, theirs.unseals
        ));
        rows.push(format!(
            "| N={n}: restart (resync): RSA work, CPU, time until done | {} RSA ops, {:.1} s, {:.1} s | {} decryptions, {:.1} s, {:.1} s | |",
            ours.resync_rsa_ops, ours.resync_cpu_s, ours.resync_s, theirs.resync_unseals, theirs.resync_cpu_s, theirs.resync_s
        ));
    }
    println!("openssl speed rsa4096: {sign} private ops/s, {verify} public ops/s (one core); {cores} cores\n");
    for row in rows {
        println!("{row}");
    }
}
