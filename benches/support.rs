//! What the benchmarks share: process CPU and memory from /proc, sealing and applying many SealedSecrets.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster::*;

/// A numeric field of `/proc/<pid>/<file>` (e.g. `VmHWM:` of `status`, in KiB).
pub fn proc_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum());
    ticks / 100.0
}

/// `n` single-item Secrets for `ns`, sealed in one `sealant seal` call to the certificate at `cert_url`.
pub fn seal_many(cert_url: &str, ns: &str, n: usize) -> Vec<Value> {
    let input: String = (0..n)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s{i}, namespace: {ns}}}\nstringData: {{token: value-{i}}}\n"
            )
        })
        .collect();
    let out = assert_cmd::Command::new(sealant_bin())
        .args(["seal", "--cert", cert_url, "-o", "json"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect()
}

/// Creates every object as admin from `threads` threads; returns how long it took.
pub fn apply_all(objects: &[Value], threads: usize) -> Duration {
    let started = Instant::now();
    std::thread::scope(|s| {
        for chunk in objects.chunks(objects.len().div_ceil(threads)) {
            s.spawn(move || {
                for obj in chunk {
                    create(plane().admin(), obj);
                }
            });
        }
    });
    started.elapsed()
}

/// The API server's count of mutating requests so far (`apiserver_request_total` from its `/metrics`), by
/// `VERB resource[/subresource]`.
pub fn api_writes() -> std::collections::BTreeMap<String, f64> {
    let r = plane().request_as(plane().admin(), "GET", "/metrics", None).unwrap();
    assert_eq!(r.status, 200, "GET /metrics: {}", r.body);
    let mut writes = std::collections::BTreeMap::new();
    for line in r.body.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let Some((labels, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(&format!("{name}=\"")[..])
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        let verb = label("verb");
        if !matches!(verb.as_str(), "POST" | "PUT" | "PATCH" | "DELETE" | "APPLY") {
            continue;
        }
        let (resource, sub) = (label("resource"), label("subresource"));
        let what = if sub.is_empty() {
            resource
        } else {
            format!("{resource}/{sub}")
        };
        *writes.entry(format!("{verb} {what}")).or_insert(0.0) += count.parse::<f64>().unwrap_or(0.0);
    }
    writes
}

/// What changed between two [`api_writes`] counts, per object: `VERB resource 1.00, …`.
pub fn writes_per_object(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    n: usize,
) -> String {
    let parts: Vec<String> = after
        .iter()
        .map(|(k, v)| (k, v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .map(|(k, d)| format!("{k} {:.2}", d / n as f64))
        .collect();
    let total: f64 = after
        .iter()
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
        .sum();
    format!("{:.2} API writes/object ({})", total / n as f64, parts.join(", "))
}

/// The sizes to run, from `BENCH_SIZES` (numbers separated by commas or white space; default 1,000 and 10,000). A value
/// that is not a number stops the bench: silently running fewer sizes would print a shorter table.
pub fn sizes() -> Vec<usize> {
    let text = std::env::var("BENCH_SIZES").unwrap_or_else(|_| "1000,10000".into());
    let sizes: Vec<usize> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("BENCH_SIZES: {s:?} is not a number"))
        })
        .collect();
    assert!(!sizes.is_empty(), "BENCH_SIZES names no size");
    sizes
}
