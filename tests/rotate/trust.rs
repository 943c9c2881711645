//! What the repository decides and what it must not: path rules, certificates only it vouches for, configuration from above it.

use super::*;

#[test]
fn seal_without_a_certificate_follows_the_path_rules_of_sealant_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("apps/web")).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let mut fingerprints = Vec::new();
    for (key, cluster) in [("a", "prod"), ("b", "staging")] {
        ok(dir.path(), &["keys", "new", "--bits", "2048", "--out", key], &[]);
        let cert = format!("../{key}/tls.crt");
        ok(&work, &["keys", "fetch", "--cluster", cluster, "--cert", &cert], &[]);
        let printed = ok(dir.path(), &["keys", "fingerprint", &format!("{key}/tls.crt")], &[]);
        fingerprints.push(printed.split_whitespace().next().unwrap().to_string());
    }
    std::fs::write(
        work.join(".sealant.yaml"),
        "clusters: [{name: prod}, {name: staging}]\npaths:\n  - {glob: 'apps/*/prod/**', clusters: [prod]}\n  - {glob: 'apps/**', clusters: [staging], scope: namespace-wide}\n",
    )
    .unwrap();
    let input = dir.path().join("input.yaml");
    std::fs::write(&input, secret("web-db-prod", &[("password", PLAINTEXTS[0])], &[])).unwrap();
    let input = input.to_str().unwrap();
    // Run from a subdirectory: the repository is found upwards, the rule matched on the path from its root.
    let cwd = work.join("apps/web");
    for sub in ["prod", "dev"] {
        std::fs::create_dir_all(cwd.join(sub)).unwrap();
    }
    ok(&cwd, &["seal", "-f", input, "-w", "prod/db.yaml"], &[]);
    ok(&cwd, &["seal", "-f", input, "-w", "dev/db.yaml"], &[]);
    let prod = std::fs::read_to_string(cwd.join("prod/db.yaml")).unwrap();
    let dev = std::fs::read_to_string(cwd.join("dev/db.yaml")).unwrap();
    assert!(prod.contains(&fingerprints[0]), "sealed to prod's key: {prod}");
    assert!(!prod.contains("namespace-wide"), "{prod}");
    assert!(dev.contains(&fingerprints[1]), "sealed to staging's key: {dev}");
    assert!(
        dev.contains("sealedsecrets.bitnami.com/namespace-wide: \"true\""),
        "the rule's scope: {dev}"
    );
    // No rule and two clusters: a clear error, nothing written.
    let out = run(&work, &["seal", "-f", input, "-w", "elsewhere.yaml"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".sealant.yaml"));
    assert!(!work.join("elsewhere.yaml").exists());
}

#[test]
fn a_certificate_only_the_repository_vouches_for_is_never_a_rotation_target() {
    let repo = GitOps::new();
    let work = repo.work();
    // A repository writer adds their own key pair's certificate and makes it current: a routine-looking commit.
    ok(repo.root(), &["keys", "new", "--bits", "2048", "--out", "mallory"], &[]);
    ok(
        &work,
        &["keys", "fetch", "--cluster", "prod", "--cert", "../mallory/tls.crt"],
        &[],
    );
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "keys: renew prod"]);
    let before = repo.remote_refs();

    let out = run(
        &work,
        &["rotate", "--dry-run", "--now", &repo.now, "--age-identity", "../id.txt"],
        &[],
    );
    let table = String::from_utf8_lossy(&out.stderr);
    assert!(table.contains("is not confirmed"), "{table}");

    let out = repo.rotate(&["--forge", "none"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the repository alone vouches for"), "{stderr}");
    assert_eq!(repo.remote_refs(), before, "something was pushed");
    assert_eq!(git(&work, &["branch", "--list", "sealant/*"]), "");

    // Pinning the writer's certificate (a person checked it) is what lets it through.
    let fp = ok(repo.root(), &["keys", "fingerprint", "mallory/tls.crt"], &[]);
    let fp = fp.split_whitespace().next().unwrap();
    let out = repo.rotate(&["--forge", "none"], &[("SEALANT_TRUST_CERT", fp)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn seal_never_takes_a_sealant_yaml_from_above_the_repository() {
    // Whoever can write a shared parent directory (a CI workspace, /tmp) plants a configuration and a key.
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path();
    ok(parent, &["keys", "new", "--bits", "2048", "--out", "planted"], &[]);
    ok(
        parent,
        &["keys", "fetch", "--cluster", "prod", "--cert", "planted/tls.crt"],
        &[],
    );
    std::fs::write(parent.join(".sealant.yaml"), "clusters: [{name: prod}]\n").unwrap();
    let work = parent.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let input = parent.join("input.yaml");
    std::fs::write(&input, secret("web-db-prod", &[("password", PLAINTEXTS[0])], &[])).unwrap();
    let out = run(&work, &["seal", "-f", input.to_str().unwrap(), "-w", "db.yaml"], &[]);
    assert!(!out.status.success(), "sealed to a key planted above the repository");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no certificate to seal to"));
    assert!(!work.join("db.yaml").exists());

    // Inside the repository, the configuration is used and said: which file chose which key, and that the
    // key is not pinned.
    ok(
        &work,
        &["keys", "fetch", "--cluster", "prod", "--cert", "../planted/tls.crt"],
        &[],
    );
    std::fs::write(work.join(".sealant.yaml"), "clusters: [{name: prod}]\n").unwrap();
    let said = ok(&work, &["seal", "-f", input.to_str().unwrap(), "-w", "db.yaml"], &[]);
    assert!(said.contains("chosen by") && said.contains(".sealant.yaml"), "{said}");
    assert!(said.contains("is not pinned"), "{said}");
}
