//! What must never happen: plaintext in an error, on a terminal or in a committed file; one variable for two guards; redirects; a foreign configuration.

use super::*;

#[test]
fn errors_never_contain_plaintext() {
    let cases: Vec<(Vec<String>, String)> = vec![
        // bad base64 data
        (
            vec!["seal".into()],
            format!("kind: Secret\nmetadata: {{name: a, namespace: b}}\ndata:\n  k: {PLAINTEXT}!\n"),
        ),
        // broken YAML right inside a value
        (
            vec!["seal".into()],
            format!("kind: Secret\nmetadata: {{name: a, namespace: b}}\nstringData:\n  k: \"{PLAINTEXT}\n"),
        ),
        // wrong type for an item
        (
            vec!["seal".into()],
            format!("kind: Secret\nmetadata: {{name: a}}\nstringData:\n  k: [{PLAINTEXT}]\n"),
        ),
        // missing namespace
        (
            vec!["seal".into()],
            format!("kind: Secret\nmetadata: {{name: a}}\nstringData:\n  k: {PLAINTEXT}\n"),
        ),
        // duplicate keys with plaintext values
        (
            vec!["seal".into()],
            format!(
                "kind: Secret\nmetadata: {{name: a, namespace: b}}\nstringData:\n  k: {PLAINTEXT}\n  k: {PLAINTEXT}\n"
            ),
        ),
    ];
    for (args, stdin) in cases {
        let out = sealant()
            .args(&args)
            .arg("--cert")
            .arg(cert())
            .write_stdin(stdin)
            .assert()
            .code(1);
        let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(
            !stderr.contains(PLAINTEXT) && !stderr.contains("hunter2"),
            "plaintext leaked: {stderr}"
        );
    }
}

#[test]
fn every_flag_reads_its_environment_variable() {
    sealant()
        .args(["seal", "-o", "yaml"])
        .env("SEALANT_CERT", cert())
        .env("SEALANT_SCOPE", "cluster-wide")
        .write_stdin(secret_yaml("a", "b", "c"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "sealedsecrets.bitnami.com/cluster-wide: \"true\"",
        ));
}

#[test]
fn reseal_and_merge_into_keep_every_other_object_of_a_json_file_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = sealant()
        .args(["seal", "-o", "json", "--cert"])
        .arg(cert())
        .write_stdin(secret_yaml("db-credentials-prod", "billing", "json-stream-value-1"))
        .assert()
        .success();
    let sealed = stdout(&sealed);
    let before = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"keep-me\"}}\n";
    let after =
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"and-me\"},\"data\":{\"a\":\"b\"}}\n";
    let file = dir.path().join("stream.json");
    std::fs::write(&file, format!("{before}{sealed}{after}")).unwrap();
    // A second key to re-seal to.
    sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(dir.path().join("k2"))
        .assert()
        .success();
    sealant()
        .args(["reseal", "--cert"])
        .arg(dir.path().join("k2/tls.crt"))
        .arg("--key")
        .arg(key())
        .arg(&file)
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(before) && text.ends_with(after), "{text}");
    assert!(text.matches("\"kind\"").count() == 3, "an object was dropped: {text}");
    // --merge-into the same file: the other objects stay too.
    let item = "apiVersion: v1\nkind: Secret\nmetadata: {name: any}\nstringData: {extra: json-stream-value-2}\n";
    sealant()
        .args(["seal", "--cert"])
        .arg(dir.path().join("k2/tls.crt"))
        .arg("--merge-into")
        .arg(&file)
        .write_stdin(item)
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(before) && text.ends_with(after), "{text}");
    let sealed_only: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .map(Result::unwrap)
        .filter(|o| o["kind"] == "SealedSecret")
        .collect();
    assert_eq!(sealed_only.len(), 1);
    let opened = sealant()
        .args(["unseal", "-o", "json", "--key"])
        .arg(dir.path().join("k2/tls.key"))
        .write_stdin(sealed_only[0].to_string())
        .assert()
        .success();
    let items = decoded_items(&stdout(&opened));
    assert!(items.contains(&("db-credentials-prod/password".into(), b"json-stream-value-1".to_vec())));
    assert!(items.contains(&("db-credentials-prod/extra".into(), b"json-stream-value-2".to_vec())));
}

#[test]
fn a_certificate_url_that_redirects_is_refused() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 2048];
        let _ = stream.read(&mut buf);
        let answer = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/cert.pem\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        stream.write_all(answer.as_bytes()).unwrap();
    });
    let out = sealant()
        .args(["seal", "--cert", &format!("http://{addr}/v1/cert.pem")])
        .write_stdin(secret_yaml("db-credentials-prod", "billing", "redirect-canary-value"))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("redirects are not followed"), "{stderr}");
    server.join().unwrap();
}

#[test]
fn a_sealant_yaml_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt as _;
    // (Root-owned files are accepted: root can write anywhere anyway.)
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    assert!(
        std::process::Command::new("git")
            .args(["init", "-q"])
            .arg(repo)
            .status()
            .unwrap()
            .success()
    );
    let config = repo.join(".sealant.yaml");
    std::fs::write(&config, "clusters: [{name: prod}]\n").unwrap();
    // Handing a file to another user takes root, as the test machines (and CI) run.
    assert_eq!(std::fs::metadata(&config).unwrap().uid(), 0, "this test runs as root");
    assert!(
        std::process::Command::new("chown")
            .arg("65534")
            .arg(&config)
            .status()
            .unwrap()
            .success()
    );
    let out = sealant()
        .current_dir(repo)
        .args(["seal", "-w", "x.yaml"])
        .write_stdin(secret_yaml("db-credentials-prod", "billing", "owner-canary-value"))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("owned by uid 65534"), "{stderr}");
    assert!(!repo.join("x.yaml").exists());
}

#[test]
fn the_plaintext_guard_and_the_overwrite_guard_answer_to_different_variables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(&out)
        .assert()
        .success();
    // SEALANT_FORCE (the plaintext-to-terminal guard of unseal) does not make `keys new` overwrite a key.
    sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(&out)
        .env("SEALANT_FORCE", "true")
        .assert()
        .failure();
    sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(&out)
        .env("SEALANT_OVERWRITE", "true")
        .assert()
        .success();
}

#[test]
fn an_exported_output_file_for_seal_never_receives_unsealed_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let sealed_file = dir.path().join("sealed.yaml");
    // The user exported SEALANT_OUTPUT for sealing; the committed file is the SealedSecret.
    sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .env("SEALANT_OUTPUT", &sealed_file)
        .write_stdin(secret_yaml("a", "ns", PLAINTEXT))
        .assert()
        .success();
    let committed = fs::read_to_string(&sealed_file).unwrap();
    assert!(committed.contains("kind: SealedSecret"), "{committed}");
    // Unsealing it with the variable still set goes to stdout; the file keeps its ciphertext.
    let out = sealant()
        .args(["unseal", "--key"])
        .arg(key())
        .arg("-f")
        .arg(&sealed_file)
        .env("SEALANT_OUTPUT", &sealed_file)
        .assert()
        .success();
    assert!(stdout(&out).contains("kind: Secret"));
    assert_eq!(
        fs::read_to_string(&sealed_file).unwrap(),
        committed,
        "the plaintext went into the sealed file"
    );
}

#[test]
fn kubeseal_recovery_never_writes_plaintext_to_the_sealed_file_its_environment_names() {
    let dir = tempfile::tempdir().unwrap();
    let kubeseal = dir.path().join("kubeseal");
    std::os::unix::fs::symlink(cargo_bin("sealant"), &kubeseal).unwrap();
    let sealed_file = dir.path().join("sealed.json");
    sealant()
        .args(["seal", "-o", "json", "--cert"])
        .arg(cert())
        .arg("-w")
        .arg(&sealed_file)
        .write_stdin(secret_yaml("a", "ns", PLAINTEXT))
        .assert()
        .success();
    let committed = fs::read_to_string(&sealed_file).unwrap();
    // SEALED_SECRETS_SEALED_SECRET_FILE exported for sealing: a recovery prints, it does not overwrite that file.
    let out = assert_cmd::Command::new(&kubeseal)
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(key())
        .arg("-f")
        .arg(&sealed_file)
        .env("SEALED_SECRETS_SEALED_SECRET_FILE", &sealed_file)
        .env("KUBECONFIG", "/nonexistent")
        .assert()
        .success();
    assert!(stdout(&out).contains("\"kind\": \"Secret\""), "{}", stdout(&out));
    assert_eq!(
        fs::read_to_string(&sealed_file).unwrap(),
        committed,
        "the plaintext went into the sealed file"
    );
}
