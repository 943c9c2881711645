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

fn write_temp(content: &str) -> PathBuf {
    let file = tempfile::NamedTempFile::new().unwrap();
    fs::write(file.path(), content).unwrap();
    file.into_temp_path().keep().unwrap()
}

mod audit;
mod generate;
mod guards;
mod seal;
