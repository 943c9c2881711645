//! The page seals in every scope, and merges into a pasted SealedSecret without touching the rest.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_seals_text_binary_and_generated_items_in_every_scope_and_no_value_leaves_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key_secret, fingerprint) = keys(dir.path());
    let serve = Serve::start(Some(&cert));
    let browser = Browser::start().await;
    let probe = random_marker("probe");
    browser.c().goto(&format!("{}?{probe}", serve.base)).await.unwrap();
    let mut canaries: Vec<Vec<u8>> = Vec::new();

    for (scope, namespace) in [
        ("strict", "billing"),
        ("namespace-wide", "billing"),
        ("cluster-wide", ""),
    ] {
        assert_eq!(
            browser.open(&serve.base).await,
            fingerprint,
            "the page shows the key's fingerprint"
        );
        let text = random_marker("text");
        let mut binary = random_marker("file").into_bytes();
        binary.extend([0u8, 0xff, 0xfe, b'\n', 0x80, 0]);
        binary.extend((0..=255u8).rev());
        let file = dir.path().join(format!("blob-{scope}.bin"));
        std::fs::write(&file, &binary).unwrap();

        browser.typ("namespace", namespace).await;
        browser.typ("name", "billing-db-credentials-prod").await;
        browser.select("scope", scope).await;
        browser.typ("item-1-key", "password").await;
        browser.typ("item-1-text", &text).await;
        // Every page load starts with one row; "Add an item" numbers the next ones.
        browser.click("add-item").await;
        browser.typ("item-2-key", "ca.der").await;
        browser.select("item-2-source", "file").await;
        browser
            .c()
            .find(Locator::Id("item-2-file"))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
        browser.click("add-item").await;
        browser.typ("item-3-key", "session-key").await;
        browser.select("item-3-source", "generate").await;

        if scope == "strict" {
            browser.screenshot("filled-form").await;
        }
        let sealed = browser.seal().await;
        if scope == "strict" {
            browser.screenshot("sealed-result").await;
            assert_eq!(
                browser.axe().await,
                json!([]),
                "axe-core finds violations on the sealed page"
            );
        }
        // The values are gone from the form once sealed.
        assert_eq!(
            browser.value("item-1-text").await,
            "",
            "{scope}: the typed value stayed in the form"
        );
        assert_eq!(
            browser.value("item-2-file").await,
            "",
            "{scope}: the file stayed chosen"
        );

        let doc = yaml_docs(&sealed).remove(0);
        let annotations = &doc["metadata"]["annotations"];
        assert_eq!(annotations["sealant.dev/key-fingerprint"], fingerprint.as_str());
        assert_eq!(annotations["sealant.dev/generate.session-key"], "base64:32");
        assert!(annotations["sealant.dev/sealed-at"].as_str().unwrap().ends_with('Z'));
        match scope {
            "namespace-wide" => assert_eq!(annotations["sealedsecrets.bitnami.com/namespace-wide"], "true"),
            "cluster-wide" => assert_eq!(annotations["sealedsecrets.bitnami.com/cluster-wide"], "true"),
            _ => assert!(annotations.get("sealedsecrets.bitnami.com/namespace-wide").is_none()),
        }

        let ours = sealant(
            &["unseal", "--key", key_secret.to_str().unwrap(), "-o", "json"],
            &sealed,
        );
        let theirs = kubeseal_recover(&key_secret, &sealed);
        for (who, opened) in [("sealant unseal", &ours), ("kubeseal --recovery-unseal", &theirs)] {
            let data = secret_data(opened);
            assert_eq!(data["password"], text.as_bytes(), "{scope}, {who}: the typed value");
            assert_eq!(data["ca.der"], binary, "{scope}, {who}: the file's bytes");
            let generated = &data["session-key"];
            assert_eq!(
                B64.decode(generated).unwrap().len(),
                32,
                "{scope}, {who}: base64 of 32 random bytes"
            );
            canaries.push(generated.clone());
        }
        // The same item under another name or namespace does not open: the scope's label is bound in.
        if scope == "strict" {
            let moved = sealed.replace("name: billing-db-credentials-prod", "name: billing-db-credentials-dev");
            let (code, _, _) = upstream::run(
                Command::new(sealant_bin()).args(["unseal", "--key", key_secret.to_str().unwrap(), "-o", "json"]),
                &moved,
            );
            assert_ne!(code, 0, "a strict item opened under another name");
        }
        canaries.push(text.into_bytes());
        canaries.push(binary);
    }
    let log = browser.finish().await;
    let origin = serve.base.trim_end_matches('/');
    assert_nothing_secret_left(&log, &[origin], &canaries, &probe);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasting_a_sealedsecret_adds_an_item_and_keeps_the_others_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key_secret, _) = keys(dir.path());
    let existing = sealant(
        &["seal", "--cert", cert.to_str().unwrap(), "--scope", "namespace-wide"],
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-api-keys-prod\n  namespace: web\n  labels: {app: web}\n\
          stringData:\n  first: one-value\n  second: two-value\n",
    );
    let before = yaml_docs(&existing).remove(0);
    let serve = Serve::start(Some(&cert));
    let browser = Browser::start().await;
    browser.open(&serve.base).await;
    browser
        .js(
            "const el = document.getElementById('existing'); el.value = arguments[0]; \
             el.dispatchEvent(new Event('change'))",
            vec![json!(existing)],
        )
        .await;
    // Name, namespace and scope now come from the pasted SealedSecret.
    assert_eq!(browser.value("name").await, "web-api-keys-prod");
    assert_eq!(browser.value("namespace").await, "web");
    assert_eq!(browser.value("scope").await, "namespace-wide");
    assert!(browser.text("existing-status").await.contains("first, second"));
    browser.typ("item-1-key", "third").await;
    browser.typ("item-1-text", "three-value").await;
    let merged = browser.seal().await;
    let after = yaml_docs(&merged).remove(0);
    for item in ["first", "second"] {
        assert_eq!(
            after["spec"]["encryptedData"][item], before["spec"]["encryptedData"][item],
            "{item} was not kept byte for byte"
        );
    }
    assert_eq!(
        after["spec"]["template"], before["spec"]["template"],
        "the template was changed"
    );
    assert_eq!(after["metadata"]["name"], "web-api-keys-prod");
    let opened = secret_data(&sealant(
        &["unseal", "--key", key_secret.to_str().unwrap(), "-o", "json"],
        &merged,
    ));
    assert_eq!(opened["first"], b"one-value");
    assert_eq!(opened["second"], b"two-value");
    assert_eq!(opened["third"], b"three-value");
    // The same merge through the JSON output.
    browser.select("format", "json").await;
    let json_out: Value = serde_json::from_str(&browser.value("output").await).unwrap();
    assert_eq!(json_out, after);
    browser.finish().await;
}
