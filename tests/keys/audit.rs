//! The command line's audit lines for the commands that handle escrowed private keys: `keys restore` and an
//! offline `rotate` each write exactly one schema-valid line naming the keys, files and items, never a value.

use super::*;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn audit_lines(dir: &Path) -> Vec<serde_json::Value> {
    let log = dir.join("audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    for p in PLAINTEXTS {
        assert!(!text.contains(p), "a value in the audit log");
    }
    sealant_testenv::audit::read(&log)
}

#[test]
fn keys_restore_writes_one_line_naming_the_cluster_the_keys_and_the_escrow_files() {
    let repo = Repo::new();
    let k1 = ok(repo.path(), &["keys", "fingerprint", "k1/tls.crt"])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    ok(
        repo.path(),
        &[
            "keys",
            "restore",
            "--cluster",
            "prod",
            "--age-identity",
            "id.txt",
            "--fingerprint",
            &k1,
            "-w",
            "out.yaml",
            "--audit-log",
            "audit.jsonl",
        ],
    );
    let lines = audit_lines(repo.path());
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert_eq!(line["command"], "keys restore");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["cluster"], "prod");
    assert_eq!(line["keys"], serde_json::json!([k1]));
    assert_eq!(line["output"], "out.yaml");
    let files = line["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].as_str().unwrap().ends_with(".key.age"), "{line}");
}

#[test]
fn an_offline_rotation_writes_one_line_naming_the_items_it_opened_and_the_keys_it_could_use() {
    let repo = Repo::new();
    let dir = repo.path();
    repo.make_current("prod", "k1");
    std::fs::write(
        dir.join(".sealant.yaml"),
        "clusters: [{name: prod}]\npolicy: {rotation: 90d}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("apps")).unwrap();
    std::fs::write(dir.join("plain.yaml"), secret("web-db-password-prod", PLAINTEXTS[0])).unwrap();
    ok(dir, &["seal", "-f", "plain.yaml", "-w", "apps/db.yaml"]);
    std::fs::remove_file(dir.join("plain.yaml")).unwrap();
    // A new current key: the item sealed to k1 is re-sealed, which opens it with the escrowed k1.
    let k2 = repo.key("k2");
    repo.backup("prod", "k2");
    repo.make_current("prod", "k2");
    for key in ["k1", "k2"] {
        std::fs::remove_dir_all(dir.join(key)).unwrap();
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "start"]);
    ok(
        dir,
        &[
            "rotate",
            "--forge",
            "none",
            "--no-push",
            "--age-identity",
            "id.txt",
            "--trust-cert",
            &format!("prod={k2}"),
            "--audit-log",
            "audit.jsonl",
        ],
    );
    let lines = audit_lines(dir);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert_eq!(line["command"], "rotate");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["files"], serde_json::json!(["apps/db.yaml"]));
    assert_eq!(
        line["objects"],
        serde_json::json!([{"namespace": "web", "name": "web-db-password-prod", "items": ["value"]}])
    );
    let keys: Vec<&str> = line["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(keys.contains(&k2.as_str()) && keys.len() == 2, "{line}");
}
