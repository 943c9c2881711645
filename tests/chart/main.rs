//! The Helm chart (charts/sealant) on the real kube-apiserver: it lints, its schema refuses bad values, every
//! rendered object applies server-side, `helm install` runs a controller with exactly the rendered args, env,
//! ServiceAccount and RBAC, upgrades keep the keys and uninstalls keep keys and CRD; the rendered pods pass Pod
//! Security `restricted` as the API server's admission judges it. And Bitnami's own chart as the peer: sealant
//! started as its Deployment says, under its RBAC, works; installs move between the two charts with `helm`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use sealant_testenv::cluster::{self, *};
use sealant_testenv::helm::{bitnami_chart, helm, helm_ok, kustomize_bin, sealant_chart};
use sealant_testenv::pod::PodProcess;
use serde_json::{Value, json};

/// One Helm release at a time: the charts' cluster-wide objects (ClusterRoles, the CRD) are shared.
static RELEASES: Mutex<()> = Mutex::new(());

fn chart() -> String {
    sealant_chart().display().to_string()
}

/// `helm template` of sealant's chart with `args`, as JSON documents.
fn render(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec![
        "template",
        "sealed-secrets-controller",
        chart_str(),
        "--kube-version",
        "1.36.0",
    ];
    all.extend_from_slice(args);
    yaml_docs(&helm_ok(dir, &all))
}

fn chart_str() -> &'static str {
    static CHART: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CHART.get_or_init(chart)
}

fn full_values() -> String {
    sealant_chart().join("ci/full-values.yaml").display().to_string()
}

/// Server-side apply of `obj` as the administrator (`dry_run`: validated and admitted, not stored).
fn apply(obj: &Value, dry_run: bool) -> (u16, String) {
    let name = obj["metadata"]["name"].as_str().unwrap();
    let dry = if dry_run { "&dryRun=All" } else { "" };
    let path = format!(
        "{}/{name}?fieldManager=chart-test&force=true{dry}",
        collection_path(obj)
    );
    let r = plane().request_as(plane().admin(), "APPLY", &path, Some(obj)).unwrap();
    (r.status, r.body)
}

/// The Deployment of a release as the API server has it.
fn deployment(ns: &str, name: &str) -> Value {
    get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}")).expect("the rendered Deployment")
}

fn key_secret_names(ns: &str) -> Vec<String> {
    let list = get(&format!(
        "/api/v1/namespaces/{ns}/secrets?labelSelector=sealedsecrets.bitnami.com/sealed-secrets-key"
    ))
    .unwrap();
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The image values that swap Bitnami's chart to sealant's image.
fn sealant_image() -> String {
    format!(
        "image.registry=ghcr.io,image.repository=sealant-dev/sealant,image.tag={}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Installs Bitnami's chart into `ns` with `values` and returns its Deployment (named `name`).
fn install_bitnami(dir: &Path, ns: &str, values: &str, name: &str) -> Value {
    let chart = bitnami_chart().display().to_string();
    helm_ok(dir, &["install", "sealed-secrets", &chart, "-n", ns, "--set", values]);
    deployment(ns, name)
}

/// Bitnami's chart for a migration: the image swapped, the controller under kubeseal's default name (as its
/// documentation installs it), the ports moved off 8080/8081 so that the two charts' runs cannot collide.
fn install_bitnami_for_migration(dir: &Path, ns: &str, api_port: u16, metrics_port: u16) -> Value {
    let values = format!(
        "{},containerPorts.http={api_port},containerPorts.metrics={metrics_port},fullnameOverride=sealed-secrets-controller",
        sealant_image()
    );
    install_bitnami(dir, ns, &values, "sealed-secrets-controller")
}

/// The objects of a YAML stream as `kind namespace/name`, sorted.
fn identities(objects: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    ids.sort();
    ids
}

mod install;
mod manifests;
mod render;
