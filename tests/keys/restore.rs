//! Bundles and restores: what gets committed under keys/, and what a restore brings back.

use super::*;

#[test]
fn an_escrow_bundle_is_committed_only_under_its_own_certificates_fingerprints() {
    let repo = Repo::new();
    let escrow = std::fs::read_to_string(repo.escrow_file("prod")).unwrap();
    let cert = std::fs::read_to_string(repo.path().join("k1/tls.crt")).unwrap();
    let stem = repo
        .escrow_file("prod")
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".key.age")
        .to_string();
    let good = serde_json::json!({format!("{stem}.crt"): cert, format!("{stem}.key.age"): escrow});
    std::fs::write(repo.path().join("good.json"), good.to_string()).unwrap();
    ok(
        repo.path(),
        &[
            "keys",
            "fetch",
            "--cluster",
            "dr",
            "--cert",
            "k1/tls.crt",
            "--escrow",
            "good.json",
        ],
    );
    assert!(repo.path().join(format!("keys/dr/{stem}.key.age")).is_file());

    // A certificate filed under another key's name is refused, and nothing is escrowed for it.
    repo.key("k2");
    let other = std::fs::read_to_string(repo.path().join("k2/tls.crt")).unwrap();
    let forged = serde_json::json!({"AAAA.crt": other, "AAAA.key.age": escrow});
    std::fs::write(repo.path().join("forged.json"), forged.to_string()).unwrap();
    let err = fails(
        repo.path(),
        &[
            "keys",
            "fetch",
            "--cluster",
            "qa",
            "--cert",
            "k2/tls.crt",
            "--escrow",
            "forged.json",
        ],
    );
    assert!(err.contains("AAAA.crt holds the certificate of"), "{err}");
    assert!(
        !repo.path().join("keys/qa").exists(),
        "a refused bundle must leave keys/ untouched"
    );
}

#[test]
fn a_future_dated_key_a_repository_writer_escrowed_is_never_restored() {
    // The break-glass recipients are public: a repository writer can escrow a key of their own to them. Dated
    // in the future, it would be the newest key after a restore, and every new secret would be sealed to it.
    let repo = Repo::new();
    let planted = future_key(repo.path(), "planted");
    repo.backup("prod", "planted");
    let err = fails(
        repo.path(),
        &[
            "keys",
            "restore",
            "--cluster",
            "prod",
            "--age-identity",
            "id.txt",
            "--all",
            "-w",
            "out.yaml",
        ],
    );
    assert!(err.contains(&planted) && err.contains("not valid before"), "{err}");
    assert!(!repo.path().join("out.yaml").exists(), "restore wrote a file");
}

#[test]
fn restore_takes_only_the_named_keys_or_all_of_them_when_asked() {
    let repo = Repo::new();
    let k1 = ok(repo.path(), &["keys", "fingerprint", "k1/tls.crt"])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // A second escrowed key (a repository writer's, or just one not meant to come back).
    let k2 = repo.key("k2");
    repo.backup("prod", "k2");
    let base = [
        "keys",
        "restore",
        "--cluster",
        "prod",
        "--age-identity",
        "id.txt",
        "-w",
        "out.yaml",
    ];
    let restored = |extra: &[&str]| -> (usize, String) {
        let _ = std::fs::remove_file(repo.path().join("out.yaml"));
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = sealant(repo.path(), &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(repo.path().join("out.yaml")).unwrap();
        let count = serde_saphyr::from_multiple::<serde_json::Value>(&text)
            .unwrap()
            .iter()
            .filter(|d| !d.is_null())
            .count();
        (count, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // Neither named nor --all: nothing is restored, and the keys there are listed.
    let err = fails(repo.path(), &base);
    assert!(
        err.contains("--fingerprint") && err.contains(&k1) && err.contains(&k2),
        "{err}"
    );
    assert!(!repo.path().join("out.yaml").exists());
    let (all, listing) = restored(&["--all"]);
    assert_eq!(all, 2);
    assert!(listing.contains(&k1) && listing.contains(&k2), "{listing}");
    assert_eq!(restored(&["--fingerprint", &k1]).0, 1);
    let mut args = base.to_vec();
    args.extend_from_slice(&["--fingerprint", "SHA256:nope"]);
    let err = fails(repo.path(), &args);
    assert!(err.contains("SHA256:nope"), "{err}");
}
