//! Sealing, unsealing, merging, raw mode and writing files.

use super::*;

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
