//! The container image definition (`deploy/Containerfile`): distroless, non-root, and a binary that needs only
//! what distroless `cc` ships. No image is built here (no registry to pull a base from); these checks are what
//! can be proved without one.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn containerfile() -> String {
    std::fs::read_to_string(root().join("deploy/Containerfile")).unwrap()
}

/// The instructions of the last stage (from its `FROM` on).
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
fn the_image_is_distroless_and_runs_as_a_numeric_non_root_user() {
    let stage = final_stage(&containerfile());
    assert!(stage[0].starts_with("FROM gcr.io/distroless/cc-"), "{}", stage[0]);
    let user = stage
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets no USER");
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    for id in [uid, gid] {
        let id: u32 = id.parse().unwrap_or_else(|_| panic!("USER {user} is not numeric"));
        assert_ne!(id, 0, "USER {user} is root");
    }
    assert!(
        !stage.iter().any(|l| l.starts_with("RUN ")),
        "the final stage runs commands: {stage:?}"
    );
}

#[test]
fn the_binary_needs_only_the_libraries_distroless_cc_ships() {
    // distroless/cc-debian12: glibc (libc, libm, libdl, libpthread, librt, the loader), libgcc_s, libstdc++.
    let shipped = [
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "ld-linux-x86-64.so.2",
        "libgcc_s.so.1",
        "libstdc++.so.6",
    ];
    let out = std::process::Command::new("readelf")
        .arg("-d")
        .arg(env!("CARGO_BIN_EXE_sealant"))
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
    let missing: Vec<&&str> = needed.iter().filter(|lib| !shipped.contains(lib)).collect();
    assert!(missing.is_empty(), "not in the image: {missing:?}");
}

#[test]
fn the_image_answers_to_bitnamis_controller_command() {
    // Bitnami's chart runs `command: [controller]` (no path): the image has the binary under that name on PATH.
    let stage = final_stage(&containerfile());
    assert!(
        stage
            .iter()
            .any(|l| l.starts_with("COPY ") && l.ends_with(" /usr/local/bin/controller")),
        "{stage:?}"
    );
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
