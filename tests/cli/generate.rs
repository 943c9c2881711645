//! `seal --generate`: values made and sealed in one step, shaped as their generator says, annotated for
//! rotation, and nowhere else: not in any output and not in any file.

use super::*;

/// Every regular file under `dir`, read as bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn generated_items_take_their_generators_shape_carry_the_annotation_and_appear_in_no_output_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = sealant()
        .current_dir(dir.path())
        .args(["seal", "--cert"])
        .arg(cert())
        .args(["-n", "web", "--name", "db", "-w", "db.yaml"])
        .args(["--generate", "password", "--generate", "pin=hex:16"])
        .args(["--generate", "token=alnum:40,id=uuid"])
        .assert()
        .success();
    let sealed = fs::read_to_string(dir.path().join("db.yaml")).unwrap();
    for (item, generator) in [
        ("password", "base64:32"),
        ("pin", "hex:16"),
        ("token", "alnum:40"),
        ("id", "uuid"),
    ] {
        assert!(
            sealed.contains(&format!("sealant.dev/generate.{item}: {generator}")),
            "{sealed}"
        );
    }
    let items: std::collections::BTreeMap<String, Vec<u8>> = unseal_items(sealed.clone()).into_iter().collect();
    assert_eq!(items.len(), 4, "{items:?}");
    let text = |k: &str| String::from_utf8(items[k].clone()).unwrap();
    use base64::Engine as _;
    let password = base64::engine::general_purpose::STANDARD
        .decode(text("db/password"))
        .unwrap();
    assert_eq!(password.len(), 32);
    assert!(
        text("db/pin").len() == 32
            && text("db/pin")
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert!(text("db/token").len() == 40 && text("db/token").bytes().all(|b| b.is_ascii_alphanumeric()));
    let id = text("db/id");
    assert!(id.len() == 36 && id.as_bytes()[14] == b'4', "{id}");

    // The canary: no value in stdout, stderr, or any file the command left (the sealed file holds ciphertext).
    let output = run.get_output();
    for (name, value) in &items {
        let value = value.as_slice();
        for stream in [&output.stdout, &output.stderr] {
            assert!(!stream.windows(value.len()).any(|w| w == value), "{name} printed");
        }
        for (path, bytes) in files_under(dir.path()) {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value),
                "{name} in {}",
                path.display()
            );
        }
    }

    // Two runs never make the same value.
    sealant()
        .current_dir(dir.path())
        .args(["seal", "--cert"])
        .arg(cert())
        .args([
            "-n",
            "web",
            "--name",
            "db",
            "--generate",
            "password",
            "-w",
            "again.yaml",
        ])
        .assert()
        .success();
    let again = unseal_items(fs::read(dir.path().join("again.yaml")).unwrap());
    assert_ne!(again[0].1, items["db/password"]);
}

#[test]
fn generate_refuses_an_existing_item_and_a_weak_literal_gets_a_warning_naming_the_item_only() {
    let input = write_temp(&secret_yaml("db", "web", "hunter2"));
    sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .arg("-f")
        .arg(&input)
        .args(["--generate", "password"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("document 1").and(predicate::str::contains("already has item password")));
    let out = sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .arg("-f")
        .arg(&input)
        .args(["--generate", "api-token=hex:32"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("item password looks weak"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let items = unseal_items(out.get_output().stdout.clone());
    assert_eq!(items.len(), 2, "{items:?}");
    // Without a name there is nothing to make.
    sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .args(["--generate", "password"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--name"));
    // A generator below the minimum is refused before anything is made.
    sealant()
        .args(["seal", "--cert"])
        .arg(cert())
        .args(["-n", "web", "--name", "db", "--generate", "password=base64:8"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("between 16 and 4096"));
}

#[test]
fn sealing_for_several_clusters_makes_a_new_value_for_each() {
    // Why: one value in two clusters lets whoever reads it in one (its key, its Secret) know the other's.
    let dir = tempfile::tempdir().unwrap();
    for cluster in ["prod", "staging"] {
        sealant()
            .current_dir(dir.path())
            .args(["keys", "fetch", "--cluster", cluster, "--cert"])
            .arg(cert())
            .assert()
            .success();
    }
    sealant()
        .current_dir(dir.path())
        .args([
            "seal",
            "--cluster",
            "prod",
            "--cluster",
            "staging",
            "-n",
            "web",
            "--name",
            "db",
        ])
        .args(["--generate", "password", "-w", "out/{cluster}.yaml"])
        .assert()
        .success();
    let value = |cluster: &str| unseal_items(fs::read(dir.path().join(format!("out/{cluster}.yaml"))).unwrap());
    let (prod, staging) = (value("prod"), value("staging"));
    assert_eq!((prod.len(), staging.len()), (1, 1));
    assert_ne!(prod[0].1, staging[0].1, "both clusters got the same generated value");
}
