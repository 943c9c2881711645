//! The HTTP API: verify, rotate, rate limits, slow clients.

use super::*;

#[test]
fn the_http_api_verifies_rotates_and_limits_callers() {
    let ns = Namespace::new("http");
    let c = Controller::start(
        &ns,
        "ctl-0",
        &[],
        &[
            "--rate-limit",
            "1",
            "--rate-limit-burst",
            "3",
            "--max-body-bytes",
            "65536",
            // The test stands for the API server's service proxy, which names callers in X-Forwarded-For.
            "--trusted-proxies",
            "127.0.0.1",
        ],
    );
    let (status, body) = http_get(&format!("{}/healthz", c.api)).unwrap();
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let good = sealed_for(&c, &ns.name, "web", &[("k", "v")]);
    let mut moved = good.clone();
    moved["metadata"]["name"] = json!("elsewhere");
    let verify = |ss: &Value, client: &str| {
        http_post(
            &format!("{}/v1/verify", c.api),
            &ss.to_string(),
            &[("X-Forwarded-For", client)],
        )
        .unwrap()
        .0
    };
    assert_eq!(verify(&good, "alice"), 200);
    assert_eq!(verify(&moved, "alice"), 409);

    // Rotate keeps the scope the ciphertext has, whatever the caller's annotations claim.
    let mut widened = good.clone();
    widened["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"] = json!("true");
    let (status, rotated) = http_post(
        &format!("{}/v1/rotate", c.api),
        &widened.to_string(),
        &[("X-Forwarded-For", "bob")],
    )
    .unwrap();
    assert_eq!(status, 200, "{rotated}");
    let rotated: Value = serde_json::from_str(&rotated).unwrap();
    assert!(
        rotated["metadata"]["annotations"]
            .get("sealedsecrets.bitnami.com/cluster-wide")
            .is_none(),
        "{rotated}"
    );
    assert_eq!(verify(&rotated, "bob"), 200);
    let mut rotated_moved = rotated.clone();
    rotated_moved["metadata"]["name"] = json!("elsewhere");
    assert_eq!(verify(&rotated_moved, "bob"), 409, "the rotated item was widened");

    // Rate limit per client: carol's burst is 3, then 429 with Retry-After; dave is not affected.
    let statuses: Vec<u16> = (0..6).map(|_| verify(&good, "carol")).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(verify(&good, "dave"), 200);
    // Body limit.
    let huge = "x".repeat(100_000);
    let (status, _) = http_post(&format!("{}/v1/verify", c.api), &huge, &[("X-Forwarded-For", "erin")]).unwrap();
    assert_eq!(status, 413);
    // Every call audited, no values.
    let audit = c.audit_lines();
    assert!(audit.iter().filter(|l| l["audit"] == "http").count() >= 10);
    assert!(
        audit
            .iter()
            .any(|l| l["audit"] == "http" && l["status"] == 429 && l["client"] == "carol")
    );
    let metrics = c.metric("sealed_secrets_controller_http_requests_total");
    assert!(metrics >= 10.0, "{metrics}");
}

#[test]
fn slow_clients_are_cut_off_and_a_verify_flood_stays_bounded_while_others_are_served() {
    let ns = Namespace::new("load");
    let mut c = Controller::start(
        &ns,
        "ctl-0",
        &[],
        &[
            "--header-timeout",
            "2s",
            "--max-connections",
            "16",
            "--rate-limit",
            "1",
            "--rate-limit-burst",
            "5",
            "--trusted-proxies",
            "127.0.0.1",
        ],
    );
    let good = sealed_for(&c, &ns.name, "web", &[("k", "v")]);
    let addr = c.api.trim_start_matches("http://").to_string();

    // Twice as many slow clients as the server takes connections.
    let slow: Vec<_> = (0..32)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || slowloris(&addr))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));

    // Meanwhile a flood of verifies from 8 clients at once, 25 each, and an ordinary caller.
    let flood: Vec<_> = (0..8)
        .map(|i| {
            let (url, body) = (format!("{}/v1/verify", c.api), good.to_string());
            std::thread::spawn(move || {
                let client = format!("flood-{i}");
                (0..25)
                    .map(|_| http_post(&url, &body, &[("X-Forwarded-For", client.as_str())]).map(|r| r.0))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let (status, body) = http_get(&format!("{}/healthz", c.api)).unwrap();
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let mut answered = std::collections::BTreeMap::<u16, usize>::new();
    for handle in flood {
        for result in handle.join().unwrap() {
            let status = result.expect("a flood request got no answer");
            *answered.entry(status).or_default() += 1;
        }
    }
    // Each client had at least its burst of 5 verified, the excess was refused with 429, and nothing else came
    // back: no 5xx, no reset connection.
    assert!(answered.get(&200).copied().unwrap_or(0) >= 8 * 5, "{answered:?}");
    assert!(answered.get(&429).copied().unwrap_or(0) >= 1, "{answered:?}");
    assert!(answered.keys().all(|s| [200, 429].contains(s)), "{answered:?}");
    let status = http_post(
        &format!("{}/v1/verify", c.api),
        &good.to_string(),
        &[("X-Forwarded-For", "zoe")],
    )
    .unwrap()
    .0;
    assert_eq!(status, 200);

    // Every slow client was disconnected by the server, none outlasted it.
    let ends: Vec<SlowEnd> = slow.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(ends.iter().all(|e| *e == SlowEnd::Closed), "{ends:?}");
    assert!(c.running(), "the controller exited:\n{}", c.logs());
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid().unwrap())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    assert!(peak_kib < 256 * 1024, "peak resident memory {peak_kib} KiB");
}
