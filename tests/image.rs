//! The container image, built by `make image` (scripts/image.sh) with no container engine: reproducible,
//! annotated, with an SBOM; distroless (no shell, no package manager) and running as 65532. Unpacked by crane, it
//! runs `sealant --version`, and the chart, pinned to the built digest, runs its controller in-cluster style
//! (ServiceAccount token, CA and namespace at the in-cluster path, `KUBERNETES_SERVICE_HOST/PORT`, read-only
//! root) against the real API server, where it unseals a SealedSecret. `deploy/Containerfile` lays out the same
//! files for those who build with Docker or Podman.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use sealant_testenv::cluster::{free_port, get, plane};
use sealant_testenv::helm::{helm_ok, sealant_chart};
use sealant_testenv::image::{self, image};
use sealant_testenv::pod::PodProcess;
use serde_json::json;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn containerfile() -> String {
    std::fs::read_to_string(root().join("deploy/Containerfile")).unwrap()
}

/// The instructions of the Containerfile's last stage (from its `FROM` on).
fn final_stage(text: &str) -> Vec<String> {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let start = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    lines[start..].to_vec()
}

#[test]
fn two_builds_of_one_checkout_give_the_same_digest() {
    let first = &image().digest;
    assert!(first.starts_with("sha256:") && first.len() == 71, "{first}");
    let again = tempfile::tempdir().unwrap();
    assert_eq!(&image::build(&again.path().join("image")), first);
}

#[test]
fn the_image_runs_as_65532_and_holds_no_shell_package_manager_or_tools() {
    let img = image();
    assert_eq!(img.config["User"], "65532:65532");
    let rootfs = &img.rootfs;
    for absent in [
        "bin/sh",
        "usr/bin/sh",
        "bin/bash",
        "bin/busybox",
        "usr/bin/dpkg",
        "usr/bin/apt",
        "usr/bin/env",
        "sbin/ldconfig",
        "usr/sbin/update-ca-certificates",
    ] {
        assert!(
            std::fs::symlink_metadata(rootfs.join(absent)).is_err(),
            "{absent} is in the image"
        );
    }
    // The only programs: the binary and its `controller` name (one file, hard-linked).
    let mut programs: Vec<String> = Vec::new();
    for dir in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin"] {
        for entry in std::fs::read_dir(rootfs.join(dir)).into_iter().flatten() {
            programs.push(format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy()));
        }
    }
    programs.sort();
    assert_eq!(programs, ["usr/local/bin/controller", "usr/local/bin/sealant"]);
    let (a, b) = (
        std::fs::metadata(rootfs.join("usr/local/bin/sealant")).unwrap(),
        std::fs::metadata(rootfs.join("usr/local/bin/controller")).unwrap(),
    );
    assert_eq!(a.ino(), b.ino(), "controller is not the same file as sealant");
    assert_eq!(a.uid(), 0, "the binary belongs to root: the process cannot change it");
    let home = std::fs::metadata(rootfs.join("home/nonroot")).unwrap();
    assert_eq!((home.uid(), home.gid()), (65532, 65532));
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(passwd.contains("nonroot:x:65532:65532:"), "{passwd}");
    // The CA bundle exists for TLS to anything but the API server (whose CA comes with the ServiceAccount).
    let bundle = std::fs::read_to_string(rootfs.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert!(bundle.matches("BEGIN CERTIFICATE").count() > 100);
    // A shell cannot be started in it, whatever the user.
    let out = img.run("0:0", &[], &["/bin/sh", "-c", "true"]);
    assert!(!out.status.success());
}

#[test]
fn the_image_carries_its_version_source_and_revision_and_an_sbom_of_packages_and_crates() {
    let img = image();
    let annotations = &img.manifest["annotations"];
    assert_eq!(
        annotations["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        annotations["org.opencontainers.image.revision"],
        String::from_utf8(head.stdout).unwrap().trim()
    );
    assert!(
        annotations["org.opencontainers.image.source"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    // The same facts as labels, where `docker inspect` shows them.
    assert_eq!(
        img.config["Labels"]["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(img.dir.join("sbom.cdx.json")).unwrap()).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert!(
        sbom["metadata"]["component"]["purl"]
            .as_str()
            .unwrap()
            .contains(&img.digest.replace(':', "%3A"))
    );
    let names: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in ["libc6", "libgcc-s1", "ca-certificates", "aws-lc-rs", "kube-client"] {
        assert!(names.contains(&name), "the SBOM lacks {name}");
    }
    // Scanners find the Debian packages where they look in distroless images.
    assert!(img.rootfs.join("var/lib/dpkg/status.d/libc6").is_file());
}

#[test]
fn sealant_runs_in_the_image_as_65532_on_a_read_only_root() {
    let img = image();
    let out = img.run("65532:65532", &[], &["sealant", "--version"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("sealant {}", env!("CARGO_PKG_VERSION"))
    );
    // Even root cannot write to the root filesystem as the test mounts it (as `readOnlyRootFilesystem` does).
    let out = img.run("0:0", &[], &["sealant", "man", "--dir", "/etc/man"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only file system"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_chart_pinned_to_the_built_digest_runs_the_image_in_cluster_style_and_it_unseals() {
    let img = image();
    let dir = tempfile::tempdir().unwrap();
    let ns = plane().namespace("image").unwrap();
    let (api_port, metrics_port) = (free_port(), free_port());
    let values = format!(
        "image.digest={},replicas=1,service.port={api_port},service.metricsPort={metrics_port},\
         controller.keySize=2048,controller.allNamespaces=false",
        img.digest
    );
    let chart = sealant_chart().display().to_string();
    helm_ok(
        dir.path(),
        &[
            "install",
            "sealant",
            &chart,
            "-n",
            &ns,
            "--take-ownership",
            "--set",
            &values,
        ],
    );
    let deployment = get(&format!(
        "/apis/apps/v1/namespaces/{ns}/deployments/sealed-secrets-controller"
    ))
    .unwrap();
    let spec = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        spec["containers"][0]["image"],
        json!(format!("ghcr.io/sealant-dev/sealant@{}", img.digest))
    );
    assert_eq!(
        spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        json!(true)
    );
    let pod = PodProcess::start_in_image(&deployment, img, dir.path());
    let api = format!("http://127.0.0.1:{api_port}");
    pod.wait_cert(&api);
    pod.unseals(&api, &ns, "db", "unsealed-inside-the-image-1");
    pod.stop();
}

#[test]
fn the_containerfile_lays_out_the_files_and_config_of_the_built_image() {
    let img = image();
    let stage = final_stage(&containerfile());
    assert!(
        stage[0].starts_with("FROM gcr.io/distroless/cc-debian12"),
        "{}",
        stage[0]
    );
    assert!(
        !stage.iter().any(|l| l.starts_with("RUN ")),
        "the final stage runs commands"
    );
    let copied: Vec<&str> = stage
        .iter()
        .filter(|l| l.starts_with("COPY "))
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    assert_eq!(copied, ["/usr/local/bin/sealant", "/usr/local/bin/controller"]);
    let instruction = |name: &str| {
        stage
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in the final stage"))
            .to_string()
    };
    assert_eq!(instruction("USER"), img.config["User"].as_str().unwrap());
    assert_eq!(instruction("WORKDIR"), img.config["WorkingDir"].as_str().unwrap());
    let exec_form = |name: &str| serde_json::from_str::<serde_json::Value>(&instruction(name)).unwrap();
    assert_eq!(exec_form("ENTRYPOINT"), img.config["Entrypoint"]);
    assert_eq!(exec_form("CMD"), img.config["Cmd"]);
}

#[test]
fn the_binary_needs_only_the_libraries_the_image_ships() {
    let rootfs = &image().rootfs;
    let out = std::process::Command::new("readelf")
        .arg("-d")
        .arg(rootfs.join("usr/local/bin/sealant"))
        .output()
        .expect("readelf (binutils) runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let needed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split_once('[')?.1.split_once(']').map(|(lib, _)| lib))
        .collect();
    assert!(needed.contains(&"libc.so.6"), "{text}");
    let missing: Vec<&&str> = needed
        .iter()
        .filter(|lib| {
            !["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"]
                .iter()
                .any(|dir| rootfs.join(dir).join(lib).exists())
        })
        .collect();
    assert!(missing.is_empty(), "not in the image: {missing:?}");
}

#[test]
fn the_manifests_run_the_image_of_this_version() {
    let image = format!("ghcr.io/sealant-dev/sealant:{}", env!("CARGO_PKG_VERSION"));
    assert!(
        containerfile().contains(&format!("-t {image} ")),
        "the build command tags another image"
    );
    let chart = std::fs::read_to_string(root().join("charts/sealant/Chart.yaml")).unwrap();
    assert!(
        chart.contains(&format!("appVersion: \"{}\"", env!("CARGO_PKG_VERSION"))),
        "the chart's appVersion is not this version"
    );
    for manifest in ["manifests/controller.yaml", "manifests/optional/rotate-cronjob.yaml"] {
        let text = std::fs::read_to_string(root().join(manifest)).unwrap();
        let images: Vec<&str> = text.lines().filter_map(|l| l.trim().strip_prefix("image: ")).collect();
        assert!(!images.is_empty(), "{manifest}: no image");
        assert!(images.iter().all(|i| *i == image), "{manifest}: {images:?}");
    }
}

#[test]
fn trivy_finds_no_high_or_critical_misconfiguration_but_the_accepted_ones_each_with_its_reason() {
    let trivy = sealant_testenv::cached_tool("trivy.sh").join("trivy");
    let cache = tempfile::tempdir().unwrap();
    // Nothing ignored here (Trivy would read ./.trivyignore by default): every finding is seen.
    let no_ignores = cache.path().join("none");
    std::fs::write(&no_ignores, "").unwrap();
    let mut found = std::collections::BTreeSet::new();
    let full = root().join("charts/sealant/ci/full-values.yaml");
    let targets: [(&str, Vec<&std::ffi::OsStr>); 3] = [
        ("manifests", vec![]),
        ("charts/sealant", vec![]),
        ("charts/sealant", vec!["--helm-values".as_ref(), full.as_os_str()]),
    ];
    for (target, extra) in targets {
        let out = std::process::Command::new(&trivy)
            .args([
                "config",
                "--quiet",
                "--skip-check-update",
                "--format",
                "json",
                "--severity",
                "HIGH,CRITICAL",
            ])
            .arg("--cache-dir")
            .arg(cache.path())
            .arg("--ignorefile")
            .arg(&no_ignores)
            .args(extra)
            .arg(root().join(target))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for result in report["Results"].as_array().into_iter().flatten() {
            for m in result["Misconfigurations"].as_array().into_iter().flatten() {
                found.insert(m["ID"].as_str().unwrap().to_string());
            }
        }
    }
    // What .trivyignore accepts, and the reason written above each.
    let ignore = std::fs::read_to_string(root().join(".trivyignore")).unwrap();
    let lines: Vec<&str> = ignore.lines().collect();
    let mut accepted = std::collections::BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let reason: Vec<&str> = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with('#'))
            .copied()
            .collect();
        assert!(
            reason.iter().any(|l| l.contains("Why accepted:")),
            "{line} has no reason above it"
        );
        accepted.insert(line.trim().to_string());
    }
    // Every HIGH or CRITICAL finding is accepted with a reason, and nothing is accepted that is not found.
    assert_eq!(found, accepted);
}
