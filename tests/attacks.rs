//! Attacks on the controller by the people SECURITY.md names, each on the real apiserver: a cluster user working
//! in their own namespace as their own ServiceAccount, and a pod on the network calling the HTTP API. Each test
//! is the attack; it passes when the attack fails.

use sealant_testenv::cluster;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster::*;
use serde_json::{Value, json};

/// A user who may create SealedSecrets and read Secrets in their own namespace, and nothing else.
struct Tenant {
    namespace: String,
    who: sealant_testenv::Identity,
}

impl Tenant {
    fn new(ns: &Namespace, prefix: &str) -> Self {
        let namespace = ns.other(prefix);
        let admin = plane().admin();
        create(
            admin,
            &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "tenant", "namespace": namespace},
                    "rules": [{"apiGroups": ["bitnami.com"], "resources": ["sealedsecrets"],
                               "verbs": ["get", "list", "create", "update", "patch"]},
                              {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}),
        );
        create(
            admin,
            &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "tenant", "namespace": namespace},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant"},
                    "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": namespace}]}),
        );
        let who = plane().service_account(&namespace, "tenant").unwrap();
        Self { namespace, who }
    }

    /// The tenant reads a Secret of their own namespace: its item, if the Secret exists.
    fn read(&self, name: &str, key: &str) -> Option<String> {
        let r = plane()
            .request_as(
                &self.who,
                "GET",
                &format!("/api/v1/namespaces/{}/secrets/{name}", self.namespace),
                None,
            )
            .unwrap();
        (r.status == 200).then(|| item(&r.json(), key))
    }

    /// Waits (up to a minute) for a Secret of the tenant's namespace to exist, then reads its item.
    fn read_when(&self, name: &str, key: &str) -> Option<String> {
        wait_secret(&self.namespace, name, |_| true);
        self.read(name, key)
    }
}

fn sealed_for(c: &Controller, ns: &str, name: &str, items: &[(&str, &str)]) -> Value {
    seal(&format!("{}/v1/cert.pem", c.api), &secret(ns, name, items), &[])
}

fn post(c: &Controller, path: &str, body: &str) -> (u16, String) {
    http_post(&format!("{}{path}", c.api), body, &[]).unwrap()
}

/// Sends one raw HTTP/1.1 request (any method) and returns the status code of the answer.
fn raw_status(addr: &str, request: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

fn peak_rss_kib(c: &Controller) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid().unwrap())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_template_scope_annotation_cannot_widen_a_strict_secret_through_rotate() {
    let ns = Namespace::new("widen");
    let victim = ns.other("victim");
    let tenant = Tenant::new(&ns, "mallory");
    let c = Controller::start(&ns, "ctl-0", &[&victim, &tenant.namespace], &[]);
    let original = sealed_for(&c, &victim, "db", &[("password", "victim-password-0451")]);

    // The request claims cluster-wide in the template (and, for good measure, on the outer object).
    let mut request = original.clone();
    request["spec"]["template"]["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"] = json!("true");
    request["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"] = json!("true");
    let (status, answer) = post(&c, "/v1/rotate", &request.to_string());
    assert_eq!(status, 200, "{answer}");
    let mut stolen: Value = serde_json::from_str(&answer).unwrap();

    // Renamed into the attacker's namespace, the answer must not unseal there.
    stolen["metadata"] = json!({"name": "loot", "namespace": tenant.namespace,
                                "annotations": {"sealedsecrets.bitnami.com/cluster-wide": "true"}});
    stolen["spec"]["template"]["metadata"] = json!({"name": "loot", "namespace": tenant.namespace});
    create(&tenant.who, &stolen);
    wait_for("loot Synced=False", Duration::from_secs(30), || {
        synced(&tenant.namespace, "loot").filter(|c| c["status"] == "False")
    });
    assert_eq!(
        tenant.read("loot", "password"),
        None,
        "the victim's value was unsealed for the attacker"
    );
    let (status, _) = post(&c, "/v1/verify", &stolen.to_string());
    assert_eq!(status, 409);
    // And the re-sealed object still works where it belongs.
    assert_eq!(post(&c, "/v1/verify", &answer).0, 200);
}

#[test]
fn a_template_bomb_fails_alone_with_a_clear_status_and_bounded_memory() {
    let ns = Namespace::new("bomb");
    let tenant = Tenant::new(&ns, "bomber");
    let c = Controller::start(&ns, "ctl-0", &[&tenant.namespace], &[]);
    let big = "a".repeat(64 * 1024);
    let mut bomb = sealed_for(&c, &tenant.namespace, "bomb", &[("a", &big)]);
    bomb["spec"]["template"]["data"] = json!({"out": "{{.a}}".repeat(8192)});
    create(&tenant.who, &bomb);
    let fine = sealed_for(&c, &tenant.namespace, "fine", &[("k", "fine-value-after-bomb")]);
    create(&tenant.who, &fine);

    let condition = wait_for("bomb Synced=False", Duration::from_secs(60), || {
        synced(&tenant.namespace, "bomb").filter(|c| c["status"] == "False")
    });
    let message = condition["message"].as_str().unwrap();
    assert!(message.contains("exceeds 1048576 bytes"), "{message}");
    wait_secret(&tenant.namespace, "fine", |s| item(s, "k") == "fine-value-after-bomb");
    assert!(get_secret(&tenant.namespace, "bomb").is_none());
    // The same object through the HTTP API: refused, no growth.
    assert_eq!(post(&c, "/v1/verify", &bomb.to_string()).0, 409);
    let mut c = c;
    assert!(c.running(), "{}", c.logs());
    let peak = peak_rss_kib(&c);
    assert!(peak < 200 * 1024, "peak resident memory {peak} KiB");

    // Too many items: refused before any decryption.
    let rsa = c.metric("sealant_rsa_private_operations_total");
    let mut many = sealed_for(&c, &tenant.namespace, "many", &[("k", "v")]);
    let blob = many["spec"]["encryptedData"]["k"].clone();
    for i in 0..1100 {
        many["spec"]["encryptedData"][format!("k{i}")] = blob.clone();
    }
    assert_eq!(post(&c, "/v1/verify", &many.to_string()).0, 409);
    assert_eq!(c.metric("sealant_rsa_private_operations_total"), rsa);
}

#[test]
fn a_b64dec_template_error_puts_no_byte_of_the_value_in_status_events_or_logs() {
    let ns = Namespace::new("leak");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let canary = "not!base64!canary-7731";
    let mut ss = sealed_for(&c, &ns.name, "leaky", &[("a", canary)]);
    ss["spec"]["template"]["data"] = json!({"out": "{{ .a | b64dec }}"});
    create(plane().admin(), &ss);
    let condition = wait_for("leaky Synced=False", Duration::from_secs(30), || {
        synced(&ns.name, "leaky").filter(|c| c["status"] == "False")
    });
    let message = condition["message"].as_str().unwrap();
    assert!(message.contains("not valid base64"), "{message}");
    let events = get(&format!("/apis/events.k8s.io/v1/namespaces/{}/events", ns.name)).unwrap();
    let everything = format!("{message}\n{events}\n{}\n{:?}", c.logs(), c.audit_lines());
    for needle in [canary, "symbol", "offset"] {
        assert!(!everything.contains(needle), "{needle:?} leaked: {message} / {events}");
    }
}

#[test]
fn forged_forwarded_for_headers_do_not_escape_the_rate_limit() {
    let ns = Namespace::new("xff");
    let c = Controller::start(&ns, "ctl-0", &[], &["--rate-limit", "1", "--rate-limit-burst", "3"]);
    let good = sealed_for(&c, &ns.name, "web", &[("k", "v")]);
    let statuses: Vec<u16> = (0..12)
        .map(|i| {
            let client = format!("10.9.8.{i}");
            http_post(
                &format!("{}/v1/verify", c.api),
                &good.to_string(),
                &[("X-Forwarded-For", &client)],
            )
            .unwrap()
            .0
        })
        .collect();
    assert!(
        statuses.contains(&429),
        "a new header per request escaped the limit: {statuses:?}"
    );
    // The audit names the peer, not the header.
    let audit = c.audit_lines();
    assert!(audit.iter().any(|l| l["audit"] == "http" && l["client"] == "127.0.0.1"));
    assert!(
        !audit
            .iter()
            .any(|l| l["client"].as_str().is_some_and(|c| c.starts_with("10.9.8.")))
    );
}

#[test]
fn invented_methods_are_refused_and_do_not_grow_the_metrics() {
    let ns = Namespace::new("methods");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let addr = c.api.trim_start_matches("http://").to_string();
    for i in 0..200 {
        let method = format!("X{}{i}", "LONGMETHOD".repeat(20));
        let status = raw_status(
            &addr,
            &format!("{method} /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        );
        assert_eq!(status, 405, "{method}");
    }
    let (_, metrics) = http_get(&format!("{}/metrics", c.metrics)).unwrap();
    assert!(!metrics.contains("LONGMETHOD"), "a method became a label");
    assert!(metrics.len() < 64 * 1024, "/metrics is {} bytes", metrics.len());
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

#[test]
fn bogus_items_cost_one_items_rsa_work_and_a_body_stream_is_refused_unparsed() {
    let ns = Namespace::new("rsa");
    let c = Controller::start(&ns, "ctl-0", &[], &["--rate-limit", "100", "--rate-limit-burst", "100"]);
    let mut bogus = sealed_for(&c, &ns.name, "bogus", &[("k", "v")]);
    let other = sealed_for(&c, &ns.name, "elsewhere", &[("k", "v")]);
    let foreign = other["spec"]["encryptedData"]["k"].clone();
    for i in 0..500 {
        bogus["spec"]["encryptedData"][format!("x{i:03}")] = foreign.clone();
    }
    let before = c.metric("sealant_rsa_private_operations_total");
    assert_eq!(post(&c, "/v1/verify", &bogus.to_string()).0, 409);
    let spent = c.metric("sealant_rsa_private_operations_total") - before;
    // One key: the good item `k` (one operation) and the first bogus item (three labels).
    assert!(spent <= 4.0, "{spent} RSA operations for one request");

    // Half a megabyte of tiny JSON documents: refused as a stream, and /healthz stays quick meanwhile.
    let stream = "{}".repeat(256 * 1024);
    let (url, body) = (format!("{}/v1/verify", c.api), stream.clone());
    let flood: Vec<_> = (0..2)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            std::thread::spawn(move || http_post(&url, &body, &[]).unwrap().0)
        })
        .collect();
    let started = Instant::now();
    let (status, _) = http_get(&format!("{}/healthz", c.api)).unwrap();
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "/healthz took {:?}",
        started.elapsed()
    );
    for h in flood {
        assert_eq!(h.join().unwrap(), 500);
    }
    let audit = c.audit_lines();
    assert!(
        audit
            .iter()
            .any(|l| l["error"].as_str().is_some_and(|e| e.contains("Multistream")))
    );
}

#[test]
fn a_controller_that_cannot_take_the_lease_exits_with_an_error_instead_of_idling() {
    let ns = Namespace::new("nolease");
    delete(&format!(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/{}/rolebindings/sealant-controller-leader",
        ns.name
    ));
    let log = ns.dir.path().join("ctl.log");
    // As sealant's chart runs it: the Lease is required (without the flag it would run alone, as upstream does;
    // see the next test).
    let mut child = Command::new(sealant_bin())
        .args([
            "controller",
            "--key-size",
            "2048",
            "--lease-duration",
            "4s",
            "--require-leader-election",
        ])
        .args(["--all-namespaces=false"])
        .args(["--listen-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--listen-metrics-addr", &format!("127.0.0.1:{}", free_port())])
        .env("KUBECONFIG", &ns.kubeconfig)
        .env("POD_NAMESPACE", &ns.name)
        .env("POD_NAME", "ctl-0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let logs = std::fs::read_to_string(&log).unwrap();
    let status = status.unwrap_or_else(|| panic!("still running after 90 s with no Lease:\n{logs}"));
    assert!(!status.success(), "{logs}");
    assert!(logs.contains("lease"), "{logs}");
}

#[test]
fn a_controller_with_no_right_to_leases_runs_alone_as_upstream_does_and_says_so() {
    // Upstream's RBAC (Bitnami's chart) has no Lease rights and runs one replica without election: sealant
    // dropped into it must work there, and say it runs alone, rather than stop.
    let ns = Namespace::new("nolease2");
    delete(&format!(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/{}/rolebindings/sealant-controller-leader",
        ns.name
    ));
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let sealed = sealed_for(&c, &ns.name, "alone", &[("k", "unsealed-without-a-lease")]);
    create(plane().admin(), &sealed);
    wait_secret(&ns.name, "alone", |s| item(s, "k") == "unsealed-without-a-lease");
    assert!(c.logs().contains("running without leader election"), "{}", c.logs());
}

#[test]
fn a_decrypting_command_is_not_dumpable_and_writes_no_core_file() {
    use std::os::unix::fs::MetadataExt as _;
    // Run as another user, so that /proc/<pid> belongs to that user unless the process made itself
    // non-dumpable (then the kernel hands it to root, and ptrace or /proc/<pid>/mem by that user fail).
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(sealant_bin())
        .args(["unseal", "--key", "/dev/stdin", "-f", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let limits = wait_for("the process started", Duration::from_secs(10), || {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "sealant").then_some(limits)
    });
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    assert_eq!(core.split_whitespace().nth(5), Some("0"), "{core}");
    let owner = std::fs::metadata(format!("/proc/{pid}/mem")).unwrap().uid();
    assert_eq!(owner, 0, "/proc/{pid} belongs to uid {owner}: the process is dumpable");
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn editing_the_labels_of_a_failing_sealed_secret_costs_no_new_rsa_work() {
    let ns = Namespace::new("relabel");
    let tenant = Tenant::new(&ns, "churner");
    let c = Controller::start(&ns, "ctl-0", &[&tenant.namespace], &[]);
    // Sealed for another name: it can never open here, and every try costs three labels' worth of RSA work.
    let mut moved = sealed_for(&c, &tenant.namespace, "original", &[("k", "value-that-never-opens")]);
    moved["metadata"]["name"] = json!("moved");
    moved["spec"]["template"]["metadata"]["name"] = json!("moved");
    create(&tenant.who, &moved);
    wait_for("moved Synced=False", Duration::from_secs(30), || {
        synced(&tenant.namespace, "moved").filter(|c| c["status"] == "False")
    });
    std::thread::sleep(Duration::from_secs(1));
    let rsa = c.metric("sealant_rsa_private_operations_total");
    let requests = c.metric("sealed_secrets_controller_unseal_requests_total");
    let path = format!(
        "/apis/bitnami.com/v1alpha1/namespaces/{}/sealedsecrets/moved",
        tenant.namespace
    );
    for i in 0..20 {
        let patch = json!({"metadata": {"labels": {"churn": format!("n{i}")}}});
        let r = plane().request_as(&tenant.who, "PATCH", &path, Some(&patch)).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // A metadata edit is not a new generation: as upstream, it wakes no reconcile, and decrypts nothing.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        c.metric("sealant_rsa_private_operations_total"),
        rsa,
        "a label edit made the controller decrypt again"
    );
    assert_eq!(
        c.metric("sealed_secrets_controller_unseal_requests_total"),
        requests,
        "a label edit woke the reconciler"
    );
    // A change of the sealed input is tried again.
    let fixed = sealed_for(&c, &tenant.namespace, "moved", &[("k", "value-that-opens-now")]);
    let patch = json!({"spec": {"encryptedData": fixed["spec"]["encryptedData"]}});
    let r = plane().request_as(&tenant.who, "PATCH", &path, Some(&patch)).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(tenant.read_when("moved", "k").as_deref(), Some("value-that-opens-now"));
}
