//! The Helm chart (charts/sealant) on the real kube-apiserver: it lints, its schema refuses bad values, every
//! rendered object applies server-side, `helm install` runs a controller with exactly the rendered args, env,
//! ServiceAccount and RBAC, upgrades keep the keys and uninstalls keep keys and CRD; the rendered pods pass Pod
//! Security `restricted` as the API server's admission judges it. And Bitnami's own chart as the peer: sealant
//! started as its Deployment says, under its RBAC, works; installs move between the two charts with `helm`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use sealant_testenv::cluster::{self, *};
use sealant_testenv::helm::{bitnami_chart, helm, helm_ok, kustomize_bin, sealant_chart};
use sealant_testenv::pod::PodProcess;
use serde_json::{Value, json};

/// One Helm release at a time: the charts' cluster-wide objects (ClusterRoles, the CRD) are shared.
static RELEASES: Mutex<()> = Mutex::new(());

fn chart() -> String {
    sealant_chart().display().to_string()
}

/// `helm template` of sealant's chart with `args`, as JSON documents.
fn render(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec![
        "template",
        "sealed-secrets-controller",
        chart_str(),
        "--kube-version",
        "1.36.0",
    ];
    all.extend_from_slice(args);
    yaml_docs(&helm_ok(dir, &all))
}

fn chart_str() -> &'static str {
    static CHART: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CHART.get_or_init(chart)
}

fn full_values() -> String {
    sealant_chart().join("ci/full-values.yaml").display().to_string()
}

/// Server-side apply of `obj` as the administrator (`dry_run`: validated and admitted, not stored).
fn apply(obj: &Value, dry_run: bool) -> (u16, String) {
    let name = obj["metadata"]["name"].as_str().unwrap();
    let dry = if dry_run { "&dryRun=All" } else { "" };
    let path = format!(
        "{}/{name}?fieldManager=chart-test&force=true{dry}",
        collection_path(obj)
    );
    let r = plane().request_as(plane().admin(), "APPLY", &path, Some(obj)).unwrap();
    (r.status, r.body)
}

/// The Deployment of a release as the API server has it.
fn deployment(ns: &str, name: &str) -> Value {
    get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}")).expect("the rendered Deployment")
}

fn key_secret_names(ns: &str) -> Vec<String> {
    let list = get(&format!(
        "/api/v1/namespaces/{ns}/secrets?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key"
    ))
    .unwrap();
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn the_chart_lints_strictly_with_its_defaults_and_with_every_option_set() {
    let dir = tempfile::tempdir().unwrap();
    let full = full_values();
    for args in [vec![], vec!["-f", full.as_str()]] {
        let mut all = vec!["lint", "--strict", chart_str()];
        all.extend(args);
        let out = helm_ok(dir.path(), &all);
        assert!(out.contains("1 chart(s) linted, 0 chart(s) failed"), "{out}");
    }
}

#[test]
fn the_values_schema_refuses_a_wrong_type_or_an_unknown_key_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (set, expected) in [
        ("replicas=two", "/replicas': got string, want integer"),
        ("controller.keySize=1000", "/controller/keySize'"),
        ("controller.updateStatus=maybe", "/controller/updateStatus'"),
        (
            "controler.keySize=2048",
            "additional properties 'controler' not allowed",
        ),
        ("image.digest=latest", "/image/digest'"),
    ] {
        let (code, _, err) = helm(
            dir.path(),
            &["template", "x", chart_str(), "--kube-version", "1.36.0", "--set", set],
        );
        assert_ne!(code, 0, "{set} was accepted");
        assert!(err.contains(expected), "{set}: {err}");
    }
}

#[test]
fn every_rendered_object_applies_server_side_with_the_defaults_and_with_every_option_set() {
    let dir = tempfile::tempdir().unwrap();
    // The Prometheus Operator's ServiceMonitor is not built in: a CRD standing for it lets its object be checked.
    let _ = apply(
        &json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
            "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
                "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}),
        false,
    );
    wait_for("ServiceMonitor served", Duration::from_secs(30), || {
        plane()
            .request_as(
                plane().admin(),
                "GET",
                "/apis/monitoring.coreos.com/v1/servicemonitors",
                None,
            )
            .ok()
            .filter(|r| r.status == 200)
    });
    let defaults_ns = plane().namespace("chart-defaults").unwrap();
    let (full_ns, rotate_ns) = (
        plane().namespace("chart-full").unwrap(),
        plane().namespace("chart-rot").unwrap(),
    );
    let full = full_values();
    let runs = [
        (render(dir.path(), &["--namespace", &defaults_ns]), 13),
        (
            render(
                dir.path(),
                &[
                    "-f",
                    &full,
                    "--set",
                    &format!("namespace.name={full_ns},rotation.namespace={rotate_ns}"),
                ],
            ),
            22,
        ),
    ];
    for (objects, expected) in runs {
        assert_eq!(objects.len(), expected, "objects rendered");
        for obj in &objects {
            // Namespaces for real (the objects in them need them); everything else validated and admitted by the
            // API server without being stored, so the cluster-wide objects of the two runs do not collide.
            let (status, body) = apply(obj, obj["kind"] != "Namespace");
            assert!(
                status == 200 || status == 201,
                "{} {}: {status} {body}",
                obj["kind"],
                obj["metadata"]["name"]
            );
        }
    }
}

#[test]
fn the_rendered_pods_pass_pod_security_restricted_and_a_weakened_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ns = plane().namespace("chart-pss").unwrap();
    let r = plane()
        .request_as(
            plane().admin(),
            "PATCH",
            &format!("/api/v1/namespaces/{ns}"),
            Some(&json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let objects = render(
        dir.path(),
        &[
            "-f",
            &full_values(),
            "--set",
            &format!("namespace.name={ns},rotation.namespace={ns}"),
        ],
    );
    // The namespaces the chart makes enforce `restricted`.
    for namespace in objects.iter().filter(|o| o["kind"] == "Namespace") {
        for mode in ["enforce", "audit", "warn"] {
            assert_eq!(
                namespace["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}")],
                "restricted"
            );
        }
    }
    let templates: Vec<Value> = objects
        .iter()
        .filter_map(|o| match o["kind"].as_str() {
            Some("Deployment") => Some(o["spec"]["template"].clone()),
            Some("CronJob") => Some(o["spec"]["jobTemplate"]["spec"]["template"].clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        templates.len(),
        2,
        "the controller's and the rotation job's pod templates"
    );
    let pod = |i: usize, spec: &Value| {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": format!("rendered-{i}"), "namespace": ns}, "spec": spec})
    };
    for (i, template) in templates.iter().enumerate() {
        let mut spec = template["spec"].clone();
        // Admission of the pod's own fields only: the priority class and pull secret of the full value set are
        // not objects of this cluster.
        spec.as_object_mut().unwrap().remove("priorityClassName");
        let r = plane()
            .request_as(
                plane().admin(),
                "POST",
                &format!("/api/v1/namespaces/{ns}/pods"),
                Some(&pod(i, &spec)),
            )
            .unwrap();
        assert_eq!(r.status, 201, "rendered pod {i} refused: {}", r.body);
        let mut weakened = spec.clone();
        weakened["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
        let r = plane()
            .request_as(
                plane().admin(),
                "POST",
                &format!("/api/v1/namespaces/{ns}/pods"),
                Some(&pod(i + 10, &weakened)),
            )
            .unwrap();
        assert_eq!(r.status, 403, "a weakened pod was admitted: {}", r.body);
        assert!(r.body.contains("violates PodSecurity"), "{}", r.body);
    }
}

#[test]
fn helm_install_runs_the_controller_as_rendered_and_upgrade_and_uninstall_keep_the_keys_and_the_crd() {
    let _one = RELEASES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let ns = plane().namespace("helm").unwrap();
    let (api_port, metrics_port) = (free_port(), free_port());
    let values = format!(
        "replicas=1,service.port={api_port},service.metricsPort={metrics_port},controller.keySize=2048,\
         controller.allNamespaces=false"
    );
    // `--take-ownership`: the test control plane already has the CRD; the release adopts it.
    helm_ok(
        dir.path(),
        &[
            "install",
            "sealant",
            chart_str(),
            "-n",
            &ns,
            "--take-ownership",
            "--set",
            &values,
        ],
    );
    let rendered = deployment(&ns, "sealed-secrets-controller");
    let container = &rendered["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], json!(["sealant", "controller"]));
    let pod = PodProcess::start(&rendered, &sealant_bin(), dir.path());
    assert!(
        pod.argv.contains(&"--all-namespaces=false".to_string()),
        "{:?}",
        pod.argv
    );
    let api = format!("http://127.0.0.1:{api_port}");
    pod.wait_cert(&api);
    pod.unseals(&api, &ns, "db", "helm-installed-value-1");
    let keys = key_secret_names(&ns);
    assert_eq!(keys.len(), 1, "one key made: {keys:?}");
    // Elected through the Lease the chart's Role allows.
    wait_for("the Lease", Duration::from_secs(30), || {
        get(&format!(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/sealant-controller"
        ))
    });
    pod.stop();

    // An upgrade with a changed value: new args, the same key.
    helm_ok(
        dir.path(),
        &[
            "upgrade",
            "sealant",
            chart_str(),
            "-n",
            &ns,
            "--reuse-values",
            "--set",
            "controller.logLevel=debug",
        ],
    );
    let upgraded = deployment(&ns, "sealed-secrets-controller");
    let pod = PodProcess::start(&upgraded, &sealant_bin(), dir.path());
    assert!(pod.argv.contains(&"--log-level=debug".to_string()), "{:?}", pod.argv);
    pod.wait_cert(&api);
    pod.unseals(&api, &ns, "db2", "helm-upgraded-value-2");
    assert_eq!(
        key_secret_names(&ns),
        keys,
        "the upgrade kept the key and made no other"
    );
    pod.stop();

    helm_ok(dir.path(), &["uninstall", "sealant", "-n", &ns]);
    assert!(
        get(&format!(
            "/apis/apps/v1/namespaces/{ns}/deployments/sealed-secrets-controller"
        ))
        .is_none()
    );
    assert_eq!(key_secret_names(&ns), keys, "the uninstall left the key Secrets");
    assert!(
        get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sealedsecrets.bitnami.com").is_some(),
        "the uninstall deleted the CRD"
    );
    assert!(get_sealed(&ns, "db").is_some(), "the SealedSecrets are still there");
}

/// The image values that swap Bitnami's chart to sealant's image.
fn sealant_image() -> String {
    format!(
        "image.registry=ghcr.io,image.repository=sealant-dev/sealant,image.tag={}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Installs Bitnami's chart into `ns` with `values` and returns its Deployment (named `name`).
fn install_bitnami(dir: &Path, ns: &str, values: &str, name: &str) -> Value {
    let chart = bitnami_chart().display().to_string();
    helm_ok(dir, &["install", "sealed-secrets", &chart, "-n", ns, "--set", values]);
    deployment(ns, name)
}

/// Bitnami's chart for a migration: the image swapped, the controller under kubeseal's default name (as its
/// documentation installs it), the ports moved off 8080/8081 so that the two charts' runs cannot collide.
fn install_bitnami_for_migration(dir: &Path, ns: &str, api_port: u16, metrics_port: u16) -> Value {
    let values = format!(
        "{},containerPorts.http={api_port},containerPorts.metrics={metrics_port},fullnameOverride=sealed-secrets-controller",
        sealant_image()
    );
    install_bitnami(dir, ns, &values, "sealed-secrets-controller")
}

#[test]
fn sealant_runs_with_bitnamis_chart_its_args_env_service_account_and_rbac() {
    let _one = RELEASES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let ns = plane().namespace("bitnami").unwrap();
    // Its defaults, only the image swapped: the controller listens on :8080 and :8081 as rendered.
    let rendered = install_bitnami(dir.path(), &ns, &sealant_image(), "sealed-secrets");
    let container = &rendered["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["command"],
        json!(["controller"]),
        "Bitnami's chart runs `controller`"
    );
    assert_eq!(
        container["args"],
        json!([
            "--update-status",
            "--key-prefix",
            "sealed-secrets-key",
            "--listen-addr",
            ":8080",
            "--listen-metrics-addr",
            ":8081"
        ])
    );
    assert_eq!(
        container["image"],
        format!("ghcr.io/sealant-dev/sealant:{}", env!("CARGO_PKG_VERSION"))
    );
    // sealant as the image has it under the name `controller`.
    let controller = dir.path().join("controller");
    std::os::unix::fs::symlink(sealant_bin(), &controller).unwrap();
    let pod = PodProcess::start(&rendered, &controller, dir.path());
    let api = "http://127.0.0.1:8080".to_string();
    pod.wait_cert(&api);
    pod.unseals(&api, &ns, "db", "bitnami-chart-value-1");
    // Upstream's RBAC has no Lease rights (its chart runs one replica, no election): sealant runs alone.
    assert!(pod.logs().contains("running without leader election"), "{}", pod.logs());
    // Upstream's RBAC grants `update` (not `patch`) on status: the status is written all the same.
    wait_for("status Synced", Duration::from_secs(30), || {
        synced(&ns, "db").filter(|c| c["status"] == "True")
    });
    pod.stop();
    helm_ok(dir.path(), &["uninstall", "sealed-secrets", "-n", &ns]);
}

#[test]
fn helm_moves_an_install_from_bitnamis_chart_to_sealants_and_back_with_the_same_key() {
    let _one = RELEASES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let ns = plane().namespace("migrate").unwrap();
    let (api_port, metrics_port) = (free_port(), free_port());
    let api = format!("http://127.0.0.1:{api_port}");
    // 1. Upstream's chart, upstream's controller process: it makes the key and unseals.
    let rendered = install_bitnami_for_migration(dir.path(), &ns, api_port, metrics_port);
    let upstream_bin = sealant_testenv::upstream::upstream().join("sealed-secrets-controller");
    let pod = PodProcess::start(&rendered, &upstream_bin, dir.path());
    pod.wait_cert(&api);
    pod.unseals(&api, &ns, "before", "made-under-upstream-1");
    let keys = key_secret_names(&ns);
    assert_eq!(keys.len(), 1, "{keys:?}");
    pod.stop();
    helm_ok(dir.path(), &["uninstall", "sealed-secrets", "-n", &ns]);

    // 2. sealant's chart in the same namespace, same controller name: the same key, no new one.
    let values =
        format!("replicas=1,service.port={api_port},service.metricsPort={metrics_port},controller.allNamespaces=false");
    helm_ok(
        dir.path(),
        &[
            "install",
            "sealant",
            chart_str(),
            "-n",
            &ns,
            "--take-ownership",
            "--set",
            &values,
        ],
    );
    let pod = PodProcess::start(
        &deployment(&ns, "sealed-secrets-controller"),
        &sealant_bin(),
        dir.path(),
    );
    pod.wait_cert(&api);
    cluster::delete(&format!("/api/v1/namespaces/{ns}/secrets/before"));
    pod.wait_for_secret(&ns, "before");
    pod.unseals(&api, &ns, "during", "made-under-sealant-2");
    assert_eq!(key_secret_names(&ns), keys, "sealant made a new key");
    pod.stop();
    helm_ok(dir.path(), &["uninstall", "sealant", "-n", &ns]);

    // 3. Back to upstream's chart and controller: it opens what sealant sealed, with the same key.
    let rendered = install_bitnami_for_migration(dir.path(), &ns, api_port, metrics_port);
    let pod = PodProcess::start(&rendered, &upstream_bin, dir.path());
    pod.wait_cert(&api);
    cluster::delete(&format!("/api/v1/namespaces/{ns}/secrets/during"));
    assert_eq!(
        item(&pod.wait_for_secret(&ns, "during"), "password"),
        "made-under-sealant-2"
    );
    assert_eq!(key_secret_names(&ns), keys);
    pod.stop();
    helm_ok(dir.path(), &["uninstall", "sealed-secrets", "-n", &ns]);
}

/// The objects of a YAML stream as `kind namespace/name`, sorted.
fn identities(objects: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_kustomize_base_and_the_single_file_install_are_the_chart_defaults_and_apply_server_side() {
    let root = sealant_testenv::repo_root();
    let out = std::process::Command::new(kustomize_bin())
        .arg("build")
        .arg(root.join("manifests"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let built = yaml_docs(&String::from_utf8(out.stdout).unwrap());
    let install = yaml_docs(&std::fs::read_to_string(root.join("manifests/install.yaml")).unwrap());
    assert_eq!(identities(&built), identities(&install));
    // Rolling restarts patch workloads cluster-wide: that right is never part of the default install.
    assert!(
        !install.iter().any(|o| o.to_string().contains("\"apps\"")),
        "the default install grants rights on apps"
    );
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        identities(&install),
        identities(&render(dir.path(), &["--namespace", "kube-system"])),
        "manifests/ is not the chart with its defaults: run make generate"
    );
    for obj in &install {
        let (status, body) = apply(obj, true);
        assert!(
            status == 200 || status == 201,
            "{} {}: {status} {body}",
            obj["kind"],
            obj["metadata"]["name"]
        );
    }
}

#[test]
fn every_value_of_the_chart_is_in_its_readme_table_and_every_controller_flag_is_a_value() {
    let root = sealant_chart();
    let values: Value = serde_saphyr::from_str(&std::fs::read_to_string(root.join("values.yaml")).unwrap()).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    // Leaves, except under the few keys documented as a whole (Kubernetes objects passed through).
    let whole = [
        "resources",
        "readinessProbe",
        "livenessProbe",
        "podSecurityContext",
        "containerSecurityContext",
        "affinity",
        "nodeSelector",
        "podAnnotations",
        "podLabels",
        "labels",
    ];
    fn leaves(prefix: &str, v: &Value, whole: &[&str], out: &mut Vec<String>) {
        match v.as_object() {
            Some(map) if !map.is_empty() && !whole.iter().any(|w| prefix.ends_with(w)) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&key, v, whole, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut keys = Vec::new();
    leaves("", &values, &whole, &mut keys);
    let missing: Vec<_> = keys
        .iter()
        .filter(|k| !readme.contains(&format!("| `{k}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "values missing from charts/sealant/README.md: {missing:?}"
    );
    // Every flag of `sealant controller` is a value, or set by the chart from another value or the pod.
    let out = std::process::Command::new(sealant_bin())
        .args(["controller", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let by_chart = [
        "print-crd",
        "version",
        "help",
        "namespace",
        "identity",
        "listen-addr",
        "listen-metrics-addr",
        "rotate-period",
        "no-leader-election",
        "require-leader-election",
        "rollout-restarts",
        "escrow-recipients",
        "audit-log",
        "no-sealing-page",
    ];
    let controller = values["controller"].as_object().unwrap();
    let camel = |flag: &str| -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in flag.chars() {
            if c == '-' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    };
    let unmapped: Vec<String> = help
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .split_once("--")
                .filter(|(before, _)| before.is_empty() || before.ends_with(", "))
        })
        .filter_map(|(_, rest)| rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).next())
        .filter(|flag| !by_chart.contains(flag))
        .filter(|flag| !controller.keys().any(|k| k.eq_ignore_ascii_case(&camel(flag))))
        .map(str::to_string)
        .collect();
    assert!(
        unmapped.is_empty(),
        "controller flags with no chart value: {unmapped:?}"
    );
}

#[test]
fn the_network_policy_admits_only_the_api_server_and_the_named_namespaces_once_told_their_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let objects = render(
        dir.path(),
        &[
            "--set",
            "networkPolicy.apiServerCIDRs={10.0.0.1/32},networkPolicy.ingressNamespaces={ci},\
             networkPolicy.metricsNamespaces={monitoring}",
        ],
    );
    let policy = objects
        .iter()
        .find(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["name"] == "sealant-controller")
        .unwrap();
    let spec = &policy["spec"];
    assert_eq!(spec["policyTypes"], json!(["Ingress", "Egress"]));
    // Every ingress rule names its sources: nothing is open to every peer.
    let ingress = spec["ingress"].as_array().unwrap();
    assert!(
        ingress
            .iter()
            .all(|rule| rule["from"].as_array().is_some_and(|f| !f.is_empty())),
        "{spec}"
    );
    let api_rule = ingress.iter().find(|r| r["ports"][0]["port"] == 8080).unwrap();
    assert_eq!(
        api_rule["from"],
        json!([{"ipBlock": {"cidr": "10.0.0.1/32"}},
               {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ci"}}}])
    );
    let metrics_rule = ingress.iter().find(|r| r["ports"][0]["port"] == 8081).unwrap();
    assert_eq!(
        metrics_rule["from"],
        json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}])
    );
    // Egress: the API server only, on its ports; no DNS, nothing else.
    assert_eq!(
        spec["egress"],
        json!([{"to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
                "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}])
    );
    // The API server accepts it as written.
    let (status, body) = apply(policy, true);
    assert!(status == 200 || status == 201, "{status} {body}");
}
