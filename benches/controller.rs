//! `make bench-controller`: the controller (release build) on the real apiserver with N = 1,000 and 10,000
//! single-item SealedSecrets (4096-bit key): time until every Secret exists, RSA private operations, CPU time,
//! peak RSS; then a restart (a full resync) that must do no RSA work. The RSA bound is N private operations at
//! `openssl speed`'s rate on every core (`OPENSSL_RSA4096_SIGN_PER_S`, measured by benches/controller.sh in the
//! same run); the ratio to it says whether convergence is bound by RSA or by the API round trips.

use sealant_testenv::cluster;
#[path = "support.rs"]
mod support;

use std::time::{Duration, Instant};

use cluster::*;
use support::*;

fn run(n: usize, rsa_per_s_per_core: f64) {
    let ns = Namespace::new(&format!("bench{n}"));
    // Production key size. The first controller only makes the key the objects are sealed to.
    let keymaker = Controller::start(&ns, "keymaker", &[], &["--key-size", "4096", "--log-level", "warn"]);
    let objects = seal_many(&format!("{}/v1/cert.pem", keymaker.api), &ns.name, n);
    drop(keymaker);
    // All objects exist before the measured controller starts: what is timed is the controller's own work
    // (list, decrypt, create Secrets, write status and events), not how fast this program can POST.
    let apply = apply_all(&objects, 8);

    let writes_before = api_writes();
    let started = Instant::now();
    let c = Controller::start(&ns, "bench", &[], &["--log-level", "warn"]);
    let pid = c.pid().unwrap();
    let mut written = 0.0;
    while written < n as f64 {
        // Every scrape costs the controller a pass over its SealedSecrets (the age inventory); Prometheus scrapes
        // every 15-60 s, so polling every 50 ms made the bench measure its own scrapes (8 % of the controller's
        // CPU at 10,000 objects). 250 ms keeps the timing within half a percent of a 50 s run.
        std::thread::sleep(Duration::from_millis(250));
        written = c.metric("sealant_secret_writes_total");
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "no convergence: {written} of {n}"
        );
    }
    let converged = started.elapsed();
    // Status and events are written after the Secret: wait until the controller is idle before counting (the
    // peak RSS too, so it includes that tail).
    std::thread::sleep(Duration::from_secs(3));
    let cpu = cpu_seconds(pid);
    let rss_kib = proc_field(pid, "status", "VmHWM:").unwrap_or(0);
    let rsa = c.metric("sealant_rsa_private_operations_total");
    let writes = writes_per_object(&writes_before, &api_writes(), n);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let bound = n as f64 / (rsa_per_s_per_core * cores);
    println!(
        "N={n}: (applied in {:.1}s) controller start → all Secrets {:.1}s, RSA ops {rsa} ({:.3}/item), controller CPU {cpu:.1}s ({:.1} ms/item), peak RSS {:.1} MiB, RSA bound on {cores} cores {bound:.1}s, converge/bound {:.2}",
        apply.as_secs_f64(),
        converged.as_secs_f64(),
        rsa / n as f64,
        cpu * 1000.0 / n as f64,
        rss_kib as f64 / 1024.0,
        converged.as_secs_f64() / bound
    );
    println!("N={n}: {writes}");
    drop(c);

    // Resync: a restarted controller lists everything again and must not decrypt anything.
    let writes_before = api_writes();
    let started = Instant::now();
    let c = Controller::start(&ns, "bench-restarted", &[], &["--log-level", "warn"]);
    let pid = c.pid().unwrap();
    while c.metric("sealant_unseal_skipped_total") < n as f64 {
        std::thread::sleep(Duration::from_millis(250));
        assert!(started.elapsed() < Duration::from_secs(600), "resync did not finish");
    }
    let seen = started.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    println!(
        "N={n} resync: start → all seen {:.1}s, RSA ops {}, Secret writes {}, controller CPU {:.1}s, peak RSS {:.1} MiB, {}",
        seen.as_secs_f64(),
        c.metric("sealant_rsa_private_operations_total") + 0.0,
        c.metric("sealant_secret_writes_total") + 0.0,
        cpu_seconds(pid),
        proc_field(pid, "status", "VmHWM:").unwrap_or(0) as f64 / 1024.0,
        writes_per_object(&writes_before, &api_writes(), n)
    );
}

fn main() {
    let rsa: f64 = std::env::var("OPENSSL_RSA4096_SIGN_PER_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        rsa > 0.0,
        "run through benches/controller.sh (it measures openssl speed first)"
    );
    for n in sizes() {
        run(n, rsa);
    }
}
