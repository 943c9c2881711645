//! Black-box tests of the `sealant` binary: round trips, layout-preserving merges, atomic writes, key file
//! modes, the terminal guard, and that no plaintext ever shows up in an error.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use predicates::prelude::*;

const PLAINTEXT: &str = "hunter2-plaintext-marker";

fn sealant() -> assert_cmd::Command {
    assert_cmd::Command::new(cargo_bin("sealant"))
}

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/tests/data/vectors/keys")
}

fn cert() -> PathBuf {
    vectors().join("key2048.cert.pem")
}

fn key() -> PathBuf {
    vectors().join("key2048.key.pem")
}

fn secret_yaml(name: &str, ns: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app: demo\ntype: Opaque\nstringData:\n  password: {value}\n"
    )
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

/// Unseals `sealed` with the test key and returns `name/item` → value.
fn unseal_items(sealed: impl Into<Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    let out = sealant()
        .args(["unseal", "-o", "json", "--key"])
        .arg(key())
        .write_stdin(sealed)
        .assert()
        .success();
    decoded_items(&stdout(&out))
}

fn decoded_items(unsealed: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(unsealed).into_iter::<serde_json::Value>();
    while let Some(Ok(obj)) = de.next() {
        for (k, v) in obj["data"].as_object().into_iter().flatten() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            out.push((format!("{}/{k}", obj["metadata"]["name"].as_str().unwrap()), bytes));
        }
    }
    out
}

#[test]
fn seal_then_unseal_returns_the_original_values_for_yaml_and_json_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.yaml");
    fs::write(
        &input,
        format!(
            "{}---\n{}",
            secret_yaml("a", "ns", PLAINTEXT),
            secret_yaml("b", "ns", "second")
        ),
    )
    .unwrap();
    let sealed = sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .arg("-f")
        .arg(&input)
        .assert()
        .success();
    let sealed = stdout(&sealed);
    assert!(
        sealed.starts_with("---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"),
        "{sealed}"
    );
    assert!(!sealed.contains(PLAINTEXT));
    assert!(sealed.contains("sealant.dev/sealed-at:") && sealed.contains("sealant.dev/key-fingerprint: SHA256:"));
    let items = unseal_items(sealed.clone());
    assert_eq!(
        items,
        vec![
            ("a/password".into(), PLAINTEXT.as_bytes().to_vec()),
            ("b/password".into(), b"second".to_vec())
        ]
    );

    let json = sealant()
        .args(["seal", "-o", "json", "--cert"])
        .arg(cert())
        .write_stdin(secret_yaml("c", "ns", "x"))
        .assert()
        .success();
    let json = stdout(&json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["kind"], "SealedSecret");
    // JSON input stays JSON by default.
    sealant()
        .args(["unseal", "--key"])
        .arg(key())
        .write_stdin(json)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("{"));
}

#[test]
fn scope_flag_is_written_to_both_metadata_and_template_and_unseals_elsewhere() {
    let sealed = sealant()
        .args(["seal", "-o", "yaml", "--scope", "namespace-wide", "--cert"])
        .arg(cert())
        .write_stdin(secret_yaml("orig", "ns", "v"))
        .assert()
        .success();
    let sealed = stdout(&sealed);
    assert_eq!(
        sealed
            .matches("sealedsecrets.bitnami.com/namespace-wide: \"true\"")
            .count(),
        2,
        "{sealed}"
    );
    // Namespace-wide: another name in the same namespace still unseals; another namespace does not.
    let renamed = sealed.replace("name: orig", "name: renamed");
    sealant()
        .args(["verify", "--key"])
        .arg(key())
        .write_stdin(renamed)
        .assert()
        .success();
    let moved = sealed.replace("namespace: ns", "namespace: other");
    sealant()
        .args(["verify", "--key"])
        .arg(key())
        .write_stdin(moved)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no key could decrypt secret (password)"));
}

#[test]
fn merge_into_changes_only_the_sealed_values_and_keeps_comments() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sealed.yaml");
    let first = sealant()
        .args(["seal", "-o", "yaml", "--cert"])
        .arg(cert())
        .write_stdin(secret_yaml("db", "prod", "old"))
        .assert()
        .success();
    let original = format!("# team-db owns this file\n{}", stdout(&first));
    let original = original.replace(
        "  name: db\n  namespace: prod\nspec:",
        "  name: db   # keep me\n  namespace: prod\nspec:",
    );
    fs::write(&target, &original).unwrap();
    let addition = dir.path().join("add.yaml");
    fs::write(
        &addition,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ignored\n  namespace: elsewhere\nstringData:\n  password: new\n  token: tok\n",
    )
    .unwrap();
    sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .arg("-f")
        .arg(&addition)
        .arg("--merge-into")
        .arg(&target)
        .assert()
        .success();
    let merged = fs::read_to_string(&target).unwrap();
    // Apart from the one inserted line, the files match line for line except the re-sealed value and the
    // sealed-at time.
    let without_new: Vec<&str> = merged.lines().filter(|l| !l.starts_with("    token: ")).collect();
    assert_eq!(without_new.len(), original.lines().count());
    let changed: Vec<(&str, &str)> = original.lines().zip(without_new).filter(|(a, b)| a != b).collect();
    assert!(
        changed
            .iter()
            .all(|(a, _)| a.trim_start().starts_with("password:") || a.contains("sealant.dev/sealed-at")),
        "{changed:?}"
    );
    assert!(merged.starts_with("# team-db owns this file\n") && merged.contains("name: db   # keep me\n"));
    assert!(
        merged.contains("\n    token: A"),
        "new item inserted at its siblings' indentation: {merged}"
    );
    let items = unseal_items(fs::read(&target).unwrap());
    assert_eq!(
        items,
        vec![
            ("db/password".into(), b"new".to_vec()),
            ("db/token".into(), b"tok".to_vec())
        ]
    );
}

#[test]
fn a_failed_write_leaves_the_previous_output_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.yaml");
    fs::write(&out, "previous content\n").unwrap();
    sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .arg("-w")
        .arg(&out)
        .write_stdin("kind: Secret\nmetadata: {name: x}\nstringData: {a: b}\n")
        .assert()
        .code(1);
    assert_eq!(fs::read_to_string(&out).unwrap(), "previous content\n");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind: {leftovers:?}");
}

#[test]
fn merge_into_a_file_that_is_not_a_sealed_secret_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("plain.yaml");
    let body = secret_yaml("db", "prod", "v");
    fs::write(&target, &body).unwrap();
    sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .arg("--merge-into")
        .arg(&target)
        .write_stdin(secret_yaml("db", "prod", "w"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no SealedSecret to merge into"));
    assert_eq!(fs::read_to_string(&target).unwrap(), body);
}

#[test]
fn keys_new_writes_private_files_with_mode_0600_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let run = sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(&out)
        .assert()
        .success();
    let fingerprint = stdout(&run);
    assert!(fingerprint.starts_with("SHA256:"));
    let mode = |f: &str| fs::metadata(out.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("tls.key"), 0o600);
    assert_eq!(mode("key-secret.yaml"), 0o600);
    assert_eq!(mode("tls.crt"), 0o644);
    let fp = sealant()
        .args(["keys", "fingerprint"])
        .arg(out.join("key-secret.yaml"))
        .assert()
        .success();
    assert!(
        String::from_utf8(fp.get_output().stdout.clone())
            .unwrap()
            .starts_with(fingerprint.trim())
    );
    sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    // The new key seals and unseals.
    let sealed = sealant()
        .args(["seal", "--cert"])
        .arg(out.join("tls.crt"))
        .write_stdin(secret_yaml("a", "b", "c"))
        .assert()
        .success();
    sealant()
        .args(["verify", "--key"])
        .arg(out.join("key-secret.yaml"))
        .write_stdin(sealed.get_output().stdout.clone())
        .assert()
        .success();
}

#[test]
fn unseal_refuses_to_print_plaintext_to_a_terminal_without_force() {
    // `script` gives the command a pseudo-terminal as stdout.
    if Command::new("script").arg("--version").output().is_err() {
        panic!("util-linux `script` is required for this test");
    }
    let dir = tempfile::tempdir().unwrap();
    let sealed = dir.path().join("s.yaml");
    let out = sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .write_stdin(secret_yaml("a", "b", PLAINTEXT))
        .assert()
        .success();
    fs::write(&sealed, &out.get_output().stdout).unwrap();
    let bin = cargo_bin("sealant");
    let cmd = |extra: &str| {
        format!(
            "{} unseal --key {} -f {} {extra}",
            bin.display(),
            key().display(),
            sealed.display()
        )
    };
    let tty = Command::new("script")
        .args(["-qec", &cmd(""), "/dev/null"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(!tty.status.success());
    assert!(shown.contains("refusing to print plaintext to a terminal"), "{shown}");
    assert!(!shown.contains("aHVudGVy"), "no base64 plaintext on the terminal");
    let forced = Command::new("script")
        .args(["-qec", &cmd("--force"), "/dev/null"])
        .output()
        .unwrap();
    assert!(forced.status.success());
}

#[test]
fn raw_mode_output_is_the_item_ciphertext_for_that_scope() {
    let raw = sealant()
        .args(["seal", "--raw", "-n", "ns", "--name", "db", "--from-file"])
        .arg(write_temp(PLAINTEXT))
        .arg("--cert")
        .arg(cert())
        .assert()
        .success();
    let blob = stdout(&raw);
    assert!(!blob.ends_with('\n'), "kubeseal prints raw output without a newline");
    let doc = format!(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: db, namespace: ns}}\nspec:\n  encryptedData:\n    password: {blob}\n"
    );
    let items = unseal_items(doc.clone());
    assert_eq!(items, vec![("db/password".into(), PLAINTEXT.as_bytes().to_vec())]);
    sealant()
        .args(["verify", "--key"])
        .arg(key())
        .write_stdin(doc.replace("name: db", "name: other"))
        .assert()
        .code(1);
}

fn write_temp(content: &str) -> PathBuf {
    let file = tempfile::NamedTempFile::new().unwrap();
    fs::write(file.path(), content).unwrap();
    file.into_temp_path().keep().unwrap()
}

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
