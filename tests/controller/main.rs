//! `sealant controller` on a real etcd + kube-apiserver, running as its ServiceAccount under the shipped RBAC:
//! Secrets follow SealedSecrets, failures are reported without hot loops, restarts cost no RSA work, two
//! replicas elect one writer, Bitnami key Secrets work as they are, and the RBAC denies what it should.

use sealant_testenv::age;
use sealant_testenv::cluster;

use std::time::Duration;

use cluster::*;
use serde_json::{Value, json};

fn sealed_for(c: &Controller, ns: &str, name: &str, items: &[(&str, &str)]) -> Value {
    seal(&format!("{}/v1/cert.pem", c.api), &secret(ns, name, items), &[])
}

fn vectors() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/tests/data/vectors")
}

fn vector_doc(path: &str) -> Value {
    yaml_docs(&std::fs::read_to_string(vectors().join(path)).unwrap()).remove(0)
}

/// The vectors' two Bitnami key Secrets, as they are, in the controller's namespace.
fn import_vector_keys(ns: &str) {
    for file in ["keys/key2048.secret.yaml", "keys/key4096.secret.yaml"] {
        let mut key = vector_doc(file);
        key["metadata"]["namespace"] = json!(ns);
        key["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
        create(cluster::plane().admin(), &key);
    }
}

/// Creates a namespace with a fixed name (the vectors' own); fine if it exists.
fn ensure_namespace(name: &str) {
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    let r = cluster::plane()
        .request_as(cluster::plane().admin(), "POST", "/api/v1/namespaces", Some(&body))
        .unwrap();
    assert!(r.status == 201 || r.status == 409, "{}", r.body);
}

/// Merge-patches a SealedSecret as admin.
fn patch_sealed(ns: &str, name: &str, patch: &Value) {
    let path = format!("/apis/bitnami.com/v1alpha1/namespaces/{ns}/sealedsecrets/{name}");
    let r = cluster::plane()
        .request_as(cluster::plane().admin(), "PATCH", &path, Some(patch))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

fn uid(obj: &Value) -> String {
    obj["metadata"]["uid"].as_str().unwrap().to_string()
}

/// How one slow client's connection ended.
#[derive(Debug, PartialEq)]
enum SlowEnd {
    /// The server closed it before the client gave up.
    Closed,
    /// Still open after the client's minute of dribbling.
    StillOpen,
}

/// A slowloris client: the start of a request, then one header byte every 200 ms for up to a minute.
fn slowloris(addr: &str) -> SlowEnd {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return SlowEnd::Closed;
    };
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    if stream.write_all(b"POST /v1/verify HTTP/1.1\r\nHost: slow\r\n").is_err() {
        return SlowEnd::Closed;
    }
    let started = std::time::Instant::now();
    let header = b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut buf = [0u8; 512];
    while started.elapsed() < Duration::from_secs(60) {
        let byte = header[(started.elapsed().as_millis() / 200) as usize % header.len()];
        if stream.write_all(&[byte]).is_err() {
            return SlowEnd::Closed;
        }
        match stream.read(&mut buf) {
            // The server hung up (possibly after an error answer): the connection is gone either way.
            Ok(0) => return SlowEnd::Closed,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return SlowEnd::Closed,
        }
    }
    SlowEnd::StillOpen
}

/// Runs the sealant CLI in `dir`; asserts success and returns stdout + stderr.
fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    cli_with(dir, args, &[])
}

/// `sealant` in `dir` with extra environment variables; fails the test unless it succeeds.
fn cli_with(dir: &std::path::Path, args: &[&str], envs: &[(&str, &std::path::Path)]) -> String {
    let out = std::process::Command::new(sealant_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("SEALANT_CERT")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

fn git_in(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

mod audit;
mod http;
mod keys;
mod renewal;
mod replicas;
mod secrets;
mod year;

/// The rotation CronJob's ServiceAccount under the shipped Role and RoleBinding (kube-system and the job's
/// namespace both `ns`), with the binding that lets every authenticated user use the service proxy (as upstream
/// ships) removed, as a hardened cluster does: the job's access comes from its own Role only. Its identity and
/// kubeconfig.
fn rotation_job(ns: &Namespace) -> (sealant_testenv::Identity, std::path::PathBuf) {
    cluster::delete(&format!(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/{}/rolebindings/sealant-service-proxier",
        ns.name
    ));
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/optional/rotate-cronjob.yaml"
    ))
    .unwrap();
    for obj in yaml_docs(&shipped) {
        if obj["kind"] == "Role" || obj["kind"] == "RoleBinding" {
            let text = obj
                .to_string()
                .replace("\"kube-system\"", &format!("\"{}\"", ns.name))
                .replace(
                    "\"sealant-rotate\",\"namespace\":\"sealant-rotate\"",
                    &format!("\"sealant-rotate\",\"namespace\":\"{}\"", ns.name),
                );
            create(cluster::plane().admin(), &serde_json::from_str(&text).unwrap());
        }
    }
    let job = cluster::plane().service_account(&ns.name, "sealant-rotate").unwrap();
    let file = ns.dir.path().join(format!("{}-job.kubeconfig", ns.name));
    std::fs::write(&file, cluster::plane().kubeconfig(&job)).unwrap();
    (job, file)
}

/// A key made by `sealant keys new` into `<ns dir>/<name>/`, its key Secret created in the controller's namespace;
/// a second apart from the previous one, so each is newer than the last.
fn add_key_secret(ns: &Namespace, name: &str) {
    let root = ns.dir.path();
    cli(root, &["keys", "new", "--bits", "2048", "--out", name]);
    let mut secret = yaml_docs(&std::fs::read_to_string(root.join(name).join("key-secret.yaml")).unwrap()).remove(0);
    secret["metadata"]["namespace"] = json!(ns.name);
    create(cluster::plane().admin(), &secret);
    std::thread::sleep(Duration::from_millis(1100));
}

/// A GitOps repository at `<ns dir>/work` whose `.sealant.yaml` names the controller in `ns` as cluster prod's:
/// `fill` runs in it, everything is committed, and `origin` is a bare clone at `<ns dir>/remote.git`.
fn gitops(ns: &Namespace, fill: impl FnOnce(&std::path::Path)) -> std::path::PathBuf {
    let config = format!("clusters: [{{name: prod, controller: {{namespace: {}}}}}]\n", ns.name);
    gitops_with(ns, &config, fill)
}

/// As [`gitops`], with `config` as `.sealant.yaml`.
fn gitops_with(ns: &Namespace, config: &str, fill: impl FnOnce(&std::path::Path)) -> std::path::PathBuf {
    let root = ns.dir.path();
    let work = root.join("work");
    std::fs::create_dir(&work).unwrap();
    git_in(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join(".sealant.yaml"), config).unwrap();
    fill(&work);
    git_in(&work, &["add", "-A"]);
    git_in(&work, &["commit", "-q", "-m", "init"]);
    git_in(root, &["clone", "-q", "--bare", "work", "remote.git"]);
    git_in(
        &work,
        &[
            "remote",
            "add",
            "origin",
            &format!("file://{}", root.join("remote.git").display()),
        ],
    );
    work
}

/// Seals a Secret `web/web-db-prod` with item `password` = `value` to `cert` into `file` (in `dir`).
fn seal_into(dir: &std::path::Path, cert: &str, file: &str, value: &str) {
    let input = dir.join("../plain.yaml");
    std::fs::write(
        &input,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: web-db-prod, namespace: web}}\nstringData: {{password: {value}}}\n"
        ),
    )
    .unwrap();
    cli(
        dir,
        &["seal", "--cert", cert, "-f", input.to_str().unwrap(), "-w", file],
    );
}

/// The one `sealant/…` branch of `<root>/remote.git`.
fn rotation_branch(root: &std::path::Path) -> String {
    let branch = git_in(
        &root.join("remote.git"),
        &["for-each-ref", "--format=%(refname:short)", "refs/heads/sealant/"],
    );
    branch.trim().to_string()
}

/// `file` on the rotation branch of `<root>/remote.git`.
fn on_rotation_branch(root: &std::path::Path, file: &str) -> String {
    git_in(
        &root.join("remote.git"),
        &["show", &format!("{}:{file}", rotation_branch(root))],
    )
}
