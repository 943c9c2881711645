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
