//! The other install forms, the values table, and the network policy.

use super::*;

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
        "audit-fail-closed",
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
