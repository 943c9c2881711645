//! Escrow files: the age CLI opens what sealant writes and the reverse; wrong identities and tampering fail whole.

use super::*;

#[test]
fn escrow_files_are_armored_age_files_that_the_age_cli_opens_and_sealant_opens_what_age_made() {
    let repo = Repo::new();
    let escrow = repo.escrow_file("prod");
    let text = std::fs::read_to_string(&escrow).unwrap();
    assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"), "not armored");
    assert!(!text.contains("PRIVATE KEY"));

    // age → the key: the same fingerprint as the key sealant escrowed.
    let out = Command::new(age_bin().join("age"))
        .args(["-d", "-i"])
        .arg(repo.path().join("id.txt"))
        .arg(&escrow)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
    std::fs::write(repo.path().join("decrypted.pem"), &out.stdout).unwrap();
    let want = ok(repo.path(), &["keys", "fingerprint", "k1/tls.key"]);
    let got = ok(repo.path(), &["keys", "fingerprint", "decrypted.pem"]);
    assert_eq!(want.split_whitespace().next(), got.split_whitespace().next());

    // age-made escrow (`age -a -r`) of another key → sealant unseals with it.
    repo.key("k2");
    let stem = std::fs::read_dir(repo.path().join("keys/prod"))
        .unwrap()
        .flatten()
        .count();
    assert!(stem >= 2);
    let dir = repo.path().join("keys/staging");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo.path().join("k2/tls.crt"), dir.join("k2.crt")).unwrap();
    let status = Command::new(age_bin().join("age"))
        .args(["-a", "-r", &repo.public, "-o"])
        .arg(dir.join("k2.key.age"))
        .arg(repo.path().join("k2/tls.key"))
        .status()
        .unwrap();
    assert!(status.success());
    // The escrow file must be named after the fingerprint to be found next to its certificate.
    let fp = ok(repo.path(), &["keys", "fingerprint", "k2/tls.crt"]);
    let stem = fp
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches("SHA256:")
        .replace('/', "_")
        .replace('+', "-");
    std::fs::rename(dir.join("k2.key.age"), dir.join(format!("{stem}.key.age"))).unwrap();
    std::fs::rename(dir.join("k2.crt"), dir.join(format!("{stem}.crt"))).unwrap();
    std::fs::write(
        repo.path().join("plain.yaml"),
        secret("web-api-token-staging", PLAINTEXTS[1]),
    )
    .unwrap();
    ok(
        repo.path(),
        &["seal", "--cluster", "staging", "-f", "plain.yaml", "-w", "sealed.yaml"],
    );
    let opened = ok(
        repo.path(),
        &["unseal", "--age-identity", "id.txt", "-f", "sealed.yaml"],
    );
    let b64 = "czNjcjN0LWFwaS10b2tlbi1rZXlz"; // base64 of PLAINTEXTS[1]
    assert!(opened.contains(b64), "{opened}");
}

#[test]
fn a_wrong_identity_or_a_truncated_or_tampered_escrow_file_fails_clearly_and_writes_nothing() {
    let repo = Repo::new();
    let escrow = repo.escrow_file("prod");
    let (other, _) = age_identity(repo.path(), "other.txt");
    let other = other.to_str().unwrap();
    let err = fails(
        repo.path(),
        &[
            "keys",
            "restore",
            "--cluster",
            "prod",
            "--age-identity",
            other,
            "--all",
            "-w",
            "out.yaml",
        ],
    );
    assert!(
        err.contains("not encrypted to any of the given age identities"),
        "{err}"
    );
    let err = fails(repo.path(), &["verify", "--age-identity", other, "-f", "/dev/null"]);
    assert!(err.contains("opens none of the escrowed keys"), "{err}");

    let original = std::fs::read_to_string(&escrow).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let truncated = format!(
        "{}\n-----END AGE ENCRYPTED FILE-----\n",
        lines[..lines.len() / 2].join("\n")
    );
    let mut tampered: Vec<char> = original.chars().collect();
    let at = original.len() * 3 / 4;
    tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
    for (what, text) in [("truncated", truncated), ("tampered", tampered.into_iter().collect())] {
        std::fs::write(&escrow, text).unwrap();
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
        assert!(err.contains("cannot decrypt"), "{what}: {err}");
        assert!(
            err.contains(&escrow.file_name().unwrap().to_string_lossy().to_string()),
            "{what}: {err}"
        );
        assert!(!repo.path().join("out.yaml").exists(), "{what}: restore wrote a file");
    }
    std::fs::write(&escrow, original).unwrap();
    ok(
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
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(repo.path().join("out.yaml")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "restored key Secrets must be 0600");
}
