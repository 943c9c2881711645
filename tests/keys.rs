//! Keys across clusters, offline: `keys/<cluster>/` certificates and states, age escrow checked against the
//! reference `age` CLI (built from Go modules by tests/tools/age.sh), offline unseal / verify / reseal, refusal
//! to seal to a retired key, multi-cluster sealing.

use sealant_testenv::age;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use age::{age_bin, age_identity};

/// Made-up values sealed in these tests: none may appear in any output.
const PLAINTEXTS: [&str; 3] = ["hunter2-keys-test", "s3cr3t-api-token-keys", "tls-key-material-keys"];

fn sealant(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
        .current_dir(dir)
        .args(args)
        .env_remove("SEALANT_CERT")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // Unseal prints plaintext on purpose; everything else must not.
    if args[0] != "unseal" {
        for p in PLAINTEXTS {
            assert!(
                !stdout.contains(p) && !stderr.contains(p),
                "{args:?} printed a plaintext"
            );
        }
    }
    out
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = sealant(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = sealant(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

fn secret(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: web\nstringData:\n  value: {value}\n"
    )
}

/// A repository with one cluster `prod` whose key `k1` is escrowed to `id.txt`.
struct Repo {
    dir: tempfile::TempDir,
    public: String,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (_, public) = age_identity(dir.path(), "id.txt");
        let repo = Self { dir, public };
        repo.key("k1");
        repo.backup("prod", "k1");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn key(&self, name: &str) -> String {
        ok(self.path(), &["keys", "new", "--bits", "2048", "--out", name]);
        ok(self.path(), &["keys", "fingerprint", &format!("{name}/tls.crt")])
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }

    fn backup(&self, cluster: &str, key: &str) {
        ok(
            self.path(),
            &[
                "keys",
                "backup",
                "--cluster",
                cluster,
                "--recipient",
                &self.public,
                "--key-secrets",
                &format!("{key}/key-secret.yaml"),
            ],
        );
    }

    /// What `keys fetch` does when a cluster's controller renews its key: the new certificate becomes current.
    fn make_current(&self, cluster: &str, key: &str) {
        ok(
            self.path(),
            &[
                "keys",
                "fetch",
                "--cluster",
                cluster,
                "--cert",
                &format!("{key}/tls.crt"),
            ],
        );
    }

    fn escrow_file(&self, cluster: &str) -> PathBuf {
        std::fs::read_dir(self.path().join("keys").join(cluster))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".key.age"))
            .unwrap()
    }
}

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

/// A key pair whose certificate starts in the future, as `keys new` writes one: `dir/<name>/key-secret.yaml`.
fn future_key(dir: &Path, name: &str) -> String {
    use sealant_core::keys::{DEFAULT_CERT_VALIDITY, generate_key_and_cert, private_key_pkcs1_pem};
    use sealant_core::keysecret;
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    let (key, cert) = generate_key_and_cert(2048, later, DEFAULT_CERT_VALIDITY).unwrap();
    let pem = private_key_pkcs1_pem(&key).unwrap();
    std::fs::create_dir_all(dir.join(name)).unwrap();
    let secret = keysecret::yaml(
        &cert,
        &pem,
        "kube-system",
        keysecret::Naming::Prefix(keysecret::DEFAULT_PREFIX),
    );
    std::fs::write(dir.join(name).join("key-secret.yaml"), secret.as_bytes()).unwrap();
    cert.fingerprint().to_string()
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
