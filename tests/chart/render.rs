//! The chart rendered: strict lint, the values schema, server-side apply, Pod Security restricted.

use super::*;

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
