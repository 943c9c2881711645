//! helm install, upgrade and uninstall, and moving between Bitnami's chart and this one.

use super::*;

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
