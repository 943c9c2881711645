//! Bad input on the page, accessibility, and the page as the controller serves it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_message_next_to_its_field_and_no_output_and_the_page_passes_axe() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, fingerprint) = keys(dir.path());
    let fixtures = sealant_testenv::repo_root().join("tests/fixtures");
    let serve = Serve::start(None);
    let browser = Browser::start().await;
    browser.c().goto(&serve.base).await.unwrap();
    // Without a certificate from the server, the page asks for one.
    browser
        .wait_js(
            "the page to ask for a certificate",
            "return document.getElementById('cert-other').open",
        )
        .await;
    let unlabelled = browser
        .js(
            "return [...document.querySelectorAll('input, select, textarea')] \
               .filter(el => el.labels.length === 0).map(el => el.id)",
            vec![],
        )
        .await;
    assert_eq!(unlabelled, json!([]), "form fields without a label");
    assert_eq!(
        browser.axe().await,
        json!([]),
        "axe-core finds violations on the empty page"
    );

    // Each bad input: the message next to the field, announced, focus on the field, and no output.
    let expect_error = |id: &'static str, words: &'static str| {
        let browser = &browser;
        async move {
            let shown = browser.field_error(id).await;
            assert!(shown.contains(words), "next to {id}: {shown:?}, wanted {words:?}");
            assert_eq!(browser.text("error").await, shown, "the alert says what the field says");
            assert_eq!(browser.js("return document.activeElement.id", vec![]).await, id);
            assert_eq!(
                browser.value("output").await,
                "",
                "an output was written despite the error"
            );
        }
    };
    browser.click("seal").await;
    expect_error("cert-pem", "No certificate").await;
    assert_eq!(
        browser
            .js("return document.getElementById('error').getAttribute('role')", vec![])
            .await,
        "alert"
    );
    for (file, words) in [("test-only-expired.crt", "expired"), ("test-only-ec.crt", "RSA")] {
        browser
            .typ("cert-pem", &std::fs::read_to_string(fixtures.join(file)).unwrap())
            .await;
        browser.click("cert-use").await;
        expect_error("cert-pem", words).await;
    }
    assert_eq!(
        browser.axe().await,
        json!([]),
        "axe-core finds violations with an error shown"
    );
    browser.typ("cert-pem", &std::fs::read_to_string(&cert).unwrap()).await;
    browser.click("cert-use").await;
    browser
        .wait_js(
            "the pasted certificate",
            "return document.getElementById('cert-fingerprint').textContent",
        )
        .await;
    assert_eq!(browser.text("cert-fingerprint").await, fingerprint);
    assert_eq!(browser.field_error("cert-pem").await, "", "the old message stayed");

    browser.typ("namespace", "web").await;
    browser.typ("name", "Web_Secret").await;
    browser.typ("item-1-key", "password").await;
    browser.click("seal").await;
    expect_error("name", "not valid").await;
    browser.typ("name", "web-db-password-prod").await;
    browser.click("seal").await;
    expect_error("item-1-text", "the value is empty").await;
    browser.typ("item-1-key", "").await;
    browser.typ("item-1-text", "x").await;
    browser.click("seal").await;
    expect_error("item-1-key", "the key is empty").await;

    // The naming convention, as `sealant lint` checks it, is a hint while typing.
    browser.typ("name", "mysecret").await;
    assert!(
        browser
            .text("name-hint")
            .await
            .contains("<app>-<secret-type>-<environment>")
    );
    browser.typ("name", "billing-db-credentials-prod").await;
    assert_eq!(browser.text("name-hint").await, "");
    browser.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_serves_the_page_and_unseals_what_it_sealed_into_the_right_secret() {
    let ns = Namespace::new("web-page");
    let c = Controller::start(&ns, "ctl-0", &[], &[]);
    let base = format!("{}/", c.api);
    let response = ureq::get(&base).call().unwrap();
    let csp = response
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert_eq!(response.headers().get("referrer-policy").unwrap(), "no-referrer");

    let browser = Browser::start().await;
    let probe = random_marker("probe");
    browser.c().goto(&format!("{base}?{probe}")).await.unwrap();
    let shown = browser.open(&base).await;
    let cert = cluster::http_get(&format!("{}/v1/cert.pem", c.api)).unwrap().1;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), &cert).unwrap();
    let expected = sealant(
        &["keys", "fingerprint", dir.path().join("cert.pem").to_str().unwrap()],
        "",
    );
    assert!(expected.starts_with(&shown), "fingerprint {shown}");

    let value = random_marker("controller");
    browser.typ("namespace", &ns.name).await;
    browser.typ("name", "web-db-password-prod").await;
    browser.typ("item-1-key", "password").await;
    browser.typ("item-1-text", &value).await;
    browser.select("format", "json").await;
    let sealed: Value = serde_json::from_str(&browser.seal().await).unwrap();
    cluster::create(plane().admin(), &sealed);
    cluster::wait_secret(&ns.name, "web-db-password-prod", |s| {
        cluster::item(s, "password") == value
    });
    let log = browser.finish().await;
    assert_nothing_secret_left(&log, &[c.api.as_str()], &[value.into_bytes()], &probe);
}
