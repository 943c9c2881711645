//! Sealing with the keys/ directory: retired and compromised keys refused, offline re-seal, several clusters.

use super::*;

#[test]
fn a_retired_or_compromised_key_is_refused_for_sealing_and_nothing_is_written() {
    let repo = Repo::new();
    let k1 = ok(repo.path(), &["keys", "fingerprint", "k1/tls.crt"])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    repo.key("k2");
    repo.backup("prod", "k2");
    repo.make_current("prod", "k2");
    let err = fails(repo.path(), &["keys", "retire", "SHA256:unknown"]);
    assert!(err.contains("no certificate under"), "{err}");
    ok(repo.path(), &["keys", "retire", &k1, "--reason", "replaced"]);
    let list = ok(repo.path(), &["keys", "list", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let state = |fp: &str| {
        list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["fingerprint"] == fp)
            .unwrap()["state"]
            .clone()
    };
    let k2 = ok(repo.path(), &["keys", "fingerprint", "k2/tls.crt"])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!((state(&k1), state(&k2)), ("retired".into(), "current".into()));

    std::fs::write(
        repo.path().join("plain.yaml"),
        secret("web-db-password-prod", PLAINTEXTS[0]),
    )
    .unwrap();
    let err = fails(
        repo.path(),
        &["seal", "--cert", "k1/tls.crt", "-f", "plain.yaml", "-w", "sealed.yaml"],
    );
    assert!(err.contains("is retired in keys (cluster prod)"), "{err}");
    assert!(!repo.path().join("sealed.yaml").exists());
    ok(repo.path(), &["keys", "compromise", &k1, "--reason", "laptop lost"]);
    let err = fails(repo.path(), &["keys", "retire", &k1]);
    assert!(err.contains("stays so"), "{err}");
    let err = fails(
        repo.path(),
        &["seal", "--cert", "k1/tls.crt", "-f", "plain.yaml", "-w", "sealed.yaml"],
    );
    assert!(err.contains("is compromised"), "{err}");
    assert!(!repo.path().join("sealed.yaml").exists());
    // The current key still seals.
    ok(
        repo.path(),
        &["seal", "--cluster", "prod", "-f", "plain.yaml", "-w", "sealed.yaml"],
    );
}

#[test]
fn an_offline_reseal_to_a_new_cluster_key_changes_only_values_and_verifies() {
    let repo = Repo::new();
    let apps = repo.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    for (i, value) in PLAINTEXTS.iter().enumerate() {
        std::fs::write(
            repo.path().join("plain.yaml"),
            secret(&format!("web-item{i}-token-prod"), value),
        )
        .unwrap();
        let file = format!("apps/s{i}.yaml");
        ok(
            repo.path(),
            &["seal", "--cluster", "prod", "-f", "plain.yaml", "-w", &file],
        );
        // Hand edits the re-seal must keep: a comment and a label.
        let text = std::fs::read_to_string(repo.path().join(&file)).unwrap();
        std::fs::write(repo.path().join(&file), format!("# owned by team web\n{text}")).unwrap();
    }
    let before: Vec<String> = (0..3)
        .map(|i| std::fs::read_to_string(apps.join(format!("s{i}.yaml"))).unwrap())
        .collect();
    // The cluster gets a new key; its escrow is committed; re-seal offline with the age identity alone.
    let k2 = repo.key("k2");
    repo.backup("prod", "k2");
    repo.make_current("prod", "k2");
    let files: Vec<String> = (0..3).map(|i| format!("apps/s{i}.yaml")).collect();
    let mut args = vec!["reseal", "--cluster", "prod", "--age-identity", "id.txt"];
    args.extend(files.iter().map(String::as_str));
    ok(repo.path(), &args);
    for (i, old) in before.iter().enumerate() {
        let new = std::fs::read_to_string(apps.join(format!("s{i}.yaml"))).unwrap();
        let (old_lines, new_lines): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
        assert_eq!(old_lines.len(), new_lines.len(), "s{i}: line count changed");
        let changed: Vec<(&str, &str)> = old_lines
            .iter()
            .zip(&new_lines)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (*a, *b))
            .collect();
        assert_eq!(changed.len(), 2, "s{i}: {changed:#?}");
        assert!(
            changed
                .iter()
                .any(|(_, b)| b.trim() == format!("sealant.dev/key-fingerprint: {k2}")),
            "{changed:#?}"
        );
        assert!(
            changed
                .iter()
                .any(|(a, b)| a.trim_start().starts_with("value: ") && b.trim_start().starts_with("value: "))
        );
        let verified = ok(repo.path(), &["verify", "--key", "k2/tls.key", "-f", &files[i]]);
        assert!(verified.contains(&format!("key {k2}")), "{verified}");
    }
    // Run again: nothing left to do, nothing rewritten.
    let out = sealant(repo.path(), &args);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already sealed to"));
}

#[test]
fn sealing_to_several_clusters_writes_one_sealed_secret_per_cluster_path() {
    let repo = Repo::new();
    repo.key("k2");
    ok(
        repo.path(),
        &["keys", "fetch", "--cluster", "staging", "--cert", "k2/tls.crt"],
    );
    std::fs::write(
        repo.path().join("plain.yaml"),
        secret("web-db-password-prod", PLAINTEXTS[0]),
    )
    .unwrap();
    let err = fails(
        repo.path(),
        &[
            "seal",
            "--cluster",
            "prod,staging",
            "-f",
            "plain.yaml",
            "-w",
            "one.yaml",
        ],
    );
    assert!(err.contains("{cluster}"), "{err}");
    ok(
        repo.path(),
        &[
            "seal",
            "--cluster",
            "prod",
            "--cluster",
            "staging",
            "-f",
            "plain.yaml",
            "-w",
            "overlays/{cluster}/db.yaml",
        ],
    );
    for (cluster, key) in [("prod", "k1/tls.key"), ("staging", "k2/tls.key")] {
        let file = format!("overlays/{cluster}/db.yaml");
        ok(repo.path(), &["verify", "--key", key, "-f", &file]);
        let other = if key.starts_with("k1") {
            "k2/tls.key"
        } else {
            "k1/tls.key"
        };
        fails(repo.path(), &["verify", "--key", other, "-f", &file]);
    }
    let list = ok(repo.path(), &["keys", "list"]);
    assert!(list.contains("staging") && list.contains("prod"), "{list}");
}
