//! The command line's audit log: every command that decrypts or handles a private key writes exactly one line
//! (schema-checked) naming the user, the command, the files, the SealedSecrets, items and keys — never a value —
//! and a log that cannot be written stops the command before it decrypts.

use super::*;
use serde_json::Value;

/// Seals a Secret with two items to the test certificate: (sealed file, its directory).
fn sealed_file(dir: &Path, name: &str) -> PathBuf {
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: audit\nstringData:\n  password: {PLAINTEXT}\n  token: {PLAINTEXT}-token\n"
    );
    let out = sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .write_stdin(secret)
        .assert()
        .success();
    let file = dir.join(format!("{name}.yaml"));
    fs::write(&file, stdout(&out)).unwrap();
    file
}

/// `sealant unseal` of `sealed` with the test key and `--audit-log log`; callers add where the output goes.
fn unseal(sealed: &Path, log: &Path) -> assert_cmd::Command {
    let mut command = sealant();
    command
        .args(["unseal", "--key"])
        .arg(key())
        .arg("-f")
        .arg(sealed)
        .arg("--audit-log")
        .arg(log);
    command
}

fn fingerprint() -> String {
    let out = sealant().args(["keys", "fingerprint"]).arg(cert()).assert().success();
    stdout(&out).split_whitespace().next().unwrap().to_string()
}

/// The log's lines, each valid against docs/audit.schema.json, and none holding the test's values.
fn lines(log: &Path) -> Vec<Value> {
    let text = fs::read_to_string(log).unwrap_or_default();
    assert!(!text.contains(PLAINTEXT), "a value reached the audit log:\n{text}");
    sealant_testenv::audit::read(log)
}

#[test]
fn unseal_and_verify_write_one_line_each_naming_user_files_objects_items_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let sealed = sealed_file(dir.path(), "db");
    let recovered = dir.path().join("recovered.yaml");
    unseal(&sealed, &log).arg("-w").arg(&recovered).assert().success();
    // The variable does the same as the flag.
    sealant()
        .args(["verify", "--key"])
        .arg(key())
        .arg("-f")
        .arg(&sealed)
        .env("SEALANT_AUDIT_LOG", &log)
        .assert()
        .success();
    let lines = lines(&log);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let user = uzers_name();
    for (line, command) in lines.iter().zip(["unseal", "verify"]) {
        assert_eq!(line["command"], command);
        assert_eq!(line["outcome"], "ok");
        assert_eq!(line["user"], user.as_str());
        assert_eq!(line["files"], serde_json::json!([sealed.display().to_string()]));
        assert_eq!(
            line["objects"],
            serde_json::json!([{"namespace": "audit", "name": "db", "items": ["password", "token"]}])
        );
        assert_eq!(line["keys"], serde_json::json!([fingerprint()]));
    }
    assert_eq!(lines[0]["output"], recovered.display().to_string());
}

/// The name the password database gives the uid running the tests.
fn uzers_name() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_failed_decryption_is_recorded_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let sealed = sealed_file(dir.path(), "db");
    // Another key: nothing opens.
    let other = dir.path().join("other");
    sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(&other)
        .assert()
        .success();
    sealant()
        .args(["unseal", "--key"])
        .arg(other.join("tls.key"))
        .arg("-f")
        .arg(&sealed)
        .arg("--audit-log")
        .arg(&log)
        .assert()
        .failure();
    let lines = lines(&log);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["outcome"], "error");
    assert!(lines[0]["error"].as_str().unwrap().contains("db"), "{}", lines[0]);
}

#[test]
fn an_audit_log_that_cannot_be_written_stops_the_command_before_it_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = sealed_file(dir.path(), "db");
    // A directory where the file should be: unwritable even for root.
    let log = dir.path().join("audit-dir");
    fs::create_dir(&log).unwrap();
    let recovered = dir.path().join("recovered.yaml");
    unseal(&sealed, &log)
        .arg("-w")
        .arg(&recovered)
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot open the audit log"));
    assert!(!recovered.exists(), "plaintext was written without an audit line");
}

#[test]
fn a_full_audit_disk_stops_unseal_before_any_plaintext_is_written() {
    // /dev/full opens and fails every write with ENOSPC, as a full volume does.
    let dir = tempfile::tempdir().unwrap();
    let sealed = sealed_file(dir.path(), "db");
    let recovered = dir.path().join("recovered.yaml");
    unseal(&sealed, Path::new("/dev/full"))
        .arg("-w")
        .arg(&recovered)
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot write the audit log"));
    assert!(!recovered.exists(), "plaintext was written without an audit line");
    let out = unseal(&sealed, Path::new("/dev/full"))
        .arg("--force")
        .assert()
        .failure();
    assert!(
        !stdout(&out).contains(PLAINTEXT),
        "plaintext printed without an audit line"
    );
}

#[test]
fn reseal_keys_new_and_keys_backup_record_the_keys_they_handle() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let sealed = sealed_file(dir.path(), "db");
    let new = dir.path().join("new");
    let out = sealant()
        .args(["keys", "new", "--bits", "2048", "--out"])
        .arg(&new)
        .arg("--audit-log")
        .arg(&log)
        .assert()
        .success();
    let new_fp = stdout(&out).trim().to_string();
    sealant()
        .args(["reseal", "--key"])
        .arg(key())
        .arg("--cert")
        .arg(new.join("tls.crt"))
        .arg(&sealed)
        .arg("--audit-log")
        .arg(&log)
        .assert()
        .success();
    // An age recipient (from an identity made by the age crate's format: any valid X25519 recipient works).
    let repo = dir.path().join("repo");
    fs::create_dir(&repo).unwrap();
    sealant()
        .args([
            "keys",
            "backup",
            "--cluster",
            "prod",
            "--recipient",
            AGE_RECIPIENT,
            "--key-secrets",
        ])
        .arg(new.join("key-secret.yaml"))
        .arg("--repo")
        .arg(&repo)
        .arg("--audit-log")
        .arg(&log)
        .assert()
        .success();
    let lines = lines(&log);
    let commands: Vec<&str> = lines.iter().map(|l| l["command"].as_str().unwrap()).collect();
    assert_eq!(commands, ["keys new", "reseal", "keys backup"]);
    assert_eq!(lines[0]["keys"], serde_json::json!([new_fp]));
    assert_eq!(lines[0]["output"], new.display().to_string());
    assert_eq!(lines[1]["keys"], serde_json::json!([fingerprint()]));
    assert_eq!(lines[1]["objects"][0]["name"], "db");
    assert_eq!(lines[2]["keys"], serde_json::json!([new_fp]));
    assert_eq!(lines[2]["cluster"], "prod");
}

/// A recipient from age's own test vectors (public key only).
const AGE_RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
