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

mod audit;
mod escrow;
mod restore;
mod sealing;
