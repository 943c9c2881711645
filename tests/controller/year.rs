//! A year unattended. The controller renews its key every few seconds; the rotation job runs as its CronJob
//! would (a clone of a real Gitea repository, the live controller through the API server, the job's own
//! ServiceAccount), once per simulated 30 days, twelve times; a reviewer merges each pull request, and nothing
//! else is done by hand. At step 7 a compromise of the key everything is sealed to is declared.
//!
//! The schedule the counts must match: every step follows a key renewal, so every item is touched at every step.
//! An item whose period is P steps (its `sealant.dev/rotate-every` / 30 days) is regenerated at step k when
//! k - (its last regeneration, 0 at the start) >= P, and at the compromise step; otherwise it is re-sealed to the
//! new key. One pull request per step.

use std::collections::{BTreeMap, BTreeSet};

use sealant_testenv::gitea;
use time::format_description::well_known::Rfc3339;
use time::{Duration as Days, OffsetDateTime};

use super::*;

const STEPS: i64 = 12;
const COMPROMISE_AT: i64 = 7;
/// The controller's key renewal period: long enough for one job run to fall between two renewals.
const RENEWAL: &str = "10s";
/// The SealedSecrets (one generated item each) and their rotation periods in days.
const ITEMS: [(&str, i64); 3] = [("year-db-prod", 90), ("year-api-prod", 60), ("year-hook-prod", 30)];

/// How many items the schedule regenerates at `step`, and what it leaves them at.
fn scheduled(step: i64, last: &mut BTreeMap<&'static str, i64>) -> usize {
    let mut regenerated = 0;
    for (name, days) in ITEMS {
        let last_step = last.entry(name).or_insert(0);
        if step - *last_step >= days / 30 || step == COMPROMISE_AT {
            *last_step = step;
            regenerated += 1;
        }
    }
    regenerated
}

/// `N item(s) to regenerate, M to re-seal` from the job's summary line.
fn counts(output: &str) -> (usize, usize) {
    let line = output
        .lines()
        .find(|l| l.contains("item(s) to regenerate"))
        .unwrap_or_else(|| panic!("no summary line in:\n{output}"));
    let number_before = |marker: &str| -> usize {
        let head = &line[..line.find(marker).unwrap()];
        head.split_whitespace().last().unwrap().parse().unwrap()
    };
    (number_before("item(s) to regenerate"), number_before("to re-seal"))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// The certificate the controller serves, once its escrowed key is published too.
fn served_and_escrowed(api: &str) -> Option<String> {
    let (_, pem) = http_get(&format!("{api}/v1/cert.pem")).ok()?;
    let (status, bundle) = http_get(&format!("{api}/v1/escrow")).ok()?;
    let bundle: BTreeMap<String, String> = serde_json::from_str(&bundle).ok().filter(|_| status == 200)?;
    bundle.values().any(|v| v.trim() == pem.trim()).then_some(pem)
}

#[test]
fn a_year_of_renewals_rotations_and_one_compromise_needs_nothing_but_merges() {
    let started = std::time::Instant::now();
    let ns = Namespace::new("year");
    let apps = ns.other("year-apps");
    let root = ns.dir.path();
    let (_, job_kubeconfig) = rotation_job(&ns);
    let (identity, public) = age::age_identity(root, "break-glass.txt");
    let c = Controller::start_on_test_host(
        &ns,
        "ctl-0",
        &[&apps],
        &["--escrow-recipients", &public, "--key-renew-period", RENEWAL],
    );
    expose_through_service_proxy(&ns.name, "sealed-secrets-controller", &c.ip(), c.port());
    let first = wait_for("the first key escrowed", Duration::from_secs(60), || {
        served_and_escrowed(&c.api)
    });

    // The repository, made by a person once: the cluster's certificate and escrow, three generated secrets.
    let config = format!("clusters: [{{name: prod, controller: {{namespace: {}}}}}]\n", ns.name);
    let work = gitops_with(&ns, &config, |work| {
        let api = &c.api;
        let fetch = ["keys", "fetch", "--cluster", "prod"];
        let cert = format!("{api}/v1/cert.pem");
        let escrow = format!("{api}/v1/escrow");
        cli(work, &[&fetch[..], &["--cert", &cert, "--escrow", &escrow]].concat());
        std::fs::create_dir(work.join("apps")).unwrap();
        for (name, days) in ITEMS {
            let input = work.join("../input.yaml");
            std::fs::write(
                &input,
                format!(
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {apps}\n  annotations: {{sealant.dev/rotate-every: {days}d}}\n"
                ),
            )
            .unwrap();
            let out = format!("apps/{name}.yaml");
            let args = [
                "seal",
                "--cluster",
                "prod",
                "-f",
                input.to_str().unwrap(),
                "--generate",
                "value",
                "-w",
                &out,
            ];
            cli(work, &args);
        }
    });
    let start = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let gitea = gitea::Gitea::start();
    gitea.push_new_repo("gitops", &work);
    let checkout = root.join("checkout");
    git_in(root, &["clone", "-q", &gitea.authed_clone_url("gitops"), "checkout"]);

    let forge_api = format!("{}/api/v1", gitea.url);
    let clone_url = gitea.clone_url("gitops");
    let job_env = [
        ("KUBECONFIG", job_kubeconfig.as_path()),
        ("SEALANT_GIT_TOKEN", std::path::Path::new(&gitea.token)),
        ("SEALANT_GIT_USER", std::path::Path::new(&gitea.user)),
        ("SEALANT_FORGE_TOKEN", std::path::Path::new(&gitea.token)),
    ];
    let mut served = BTreeSet::from([first]);
    let mut last = BTreeMap::new();
    let (mut pull_requests, mut reseals, mut regenerations) = (0, 0, 0);
    for step in 1..=STEPS {
        let now = start + Days::days(30 * step);
        // The controller renews on its own clock; the job runs once the new key is served and escrowed.
        let latest = wait_for("a renewed key, served and escrowed", Duration::from_secs(60), || {
            served_and_escrowed(&c.api).filter(|pem| !served.contains(pem))
        });
        served.insert(latest);
        let sealed_to = |file: &str| -> String {
            let text = std::fs::read_to_string(checkout.join(file)).unwrap();
            let line = text
                .lines()
                .find(|l| l.contains("sealant.dev/key-fingerprint"))
                .unwrap();
            line.split_once(": ")
                .unwrap()
                .1
                .trim()
                .trim_matches('\'')
                .trim_matches('"')
                .to_string()
        };
        let compromised = (step == COMPROMISE_AT).then(|| sealed_to(&format!("apps/{}.yaml", ITEMS[0].0)));
        let mut args = vec![
            "rotate".to_string(),
            "--clone".into(),
            clone_url.clone(),
            "--base".into(),
            "main".into(),
            "--controller".into(),
            "--controller-namespace".into(),
            ns.name.clone(),
            "--forge".into(),
            "gitea".into(),
            "--forge-url".into(),
            forge_api.clone(),
            "--forge-repo".into(),
            "sealant/gitops".into(),
            "--now".into(),
            rfc3339(now),
        ];
        if let Some(key) = &compromised {
            args.extend(["--compromised".into(), key.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = cli_with(root, &args, &job_env);
        let (regenerated, resealed) = counts(&run);
        let expected = scheduled(step, &mut last);
        assert_eq!(
            (regenerated, resealed),
            (expected, ITEMS.len() - expected),
            "step {step}:\n{run}"
        );
        assert!(run.contains("key renewal in 1 cluster(s)"), "step {step}: {run}");
        regenerations += regenerated;
        reseals += resealed;

        // The reviewer: one open pull request, merged as it is.
        let (_, open) = gitea.api("GET", "/repos/sealant/gitops/pulls?state=open", None);
        let open = open.as_array().unwrap();
        assert_eq!(open.len(), 1, "step {step}: {open:?}");
        let number = open[0]["number"].as_u64().unwrap();
        let title = open[0]["title"].as_str().unwrap();
        assert_eq!(
            title.starts_with("URGENT"),
            compromised.is_some(),
            "step {step}: {title}"
        );
        let (status, merged) = gitea.api(
            "POST",
            &format!("/repos/sealant/gitops/pulls/{number}/merge"),
            Some(&json!({"Do": "merge"})),
        );
        assert!(status == 200 || status == 204, "step {step}: merge {status} {merged}");
        pull_requests += 1;
        git_in(&checkout, &["pull", "-q", "--ff-only"]);

        // Invariants. Every certificate the controller served before the run, with its escrow, is under keys/.
        let keys_dir = checkout.join("keys/prod");
        let committed: Vec<String> = std::fs::read_dir(&keys_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "crt"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap().trim().to_string())
            .collect();
        for pem in &served {
            assert!(
                committed.contains(&pem.trim().to_string()),
                "step {step}: a served certificate is missing"
            );
        }
        let escrowed = std::fs::read_dir(&keys_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".key.age"))
            .count();
        assert!(
            escrowed >= served.len(),
            "step {step}: {escrowed} escrowed of {}",
            served.len()
        );
        // Lint at the step's time finds nothing overdue and no unknown or retired key.
        let lint = std::process::Command::new(sealant_bin())
            .current_dir(&checkout)
            .args(["lint", "-o", "json", "--now", &rfc3339(now)])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&lint.stdout);
        for rule in ["rotation-overdue", "unknown-sealing-key", "retired-sealing-key"] {
            assert!(!report.contains(rule), "step {step}: lint reports {rule}:\n{report}");
        }
        if let Some(key) = &compromised {
            for (name, _) in ITEMS {
                assert_ne!(
                    &sealed_to(&format!("apps/{name}.yaml")),
                    key,
                    "step {step}: {name} still on it"
                );
            }
        }
        for (name, days) in ITEMS {
            let file = format!("apps/{name}.yaml");
            // No item is older than its period at the step's time.
            let text = std::fs::read_to_string(checkout.join(&file)).unwrap();
            let at = text
                .lines()
                .filter(|l| l.contains("sealant.dev/sealed-at") || l.contains("sealant.dev/rotated-at."))
                .map(|l| {
                    l.split_once(": ")
                        .unwrap()
                        .1
                        .trim()
                        .trim_matches('\'')
                        .trim_matches('"')
                })
                .map(|t| OffsetDateTime::parse(t, &Rfc3339).unwrap())
                .max()
                .unwrap();
            assert!(
                (now - at).whole_days() < days,
                "step {step}: {name} is {} days old",
                (now - at).whole_days()
            );
            // The cluster unseals what is committed to the value the repository's own escrow opens.
            let intended = cli(
                &checkout,
                &[
                    "unseal",
                    "--age-identity",
                    identity.to_str().unwrap(),
                    "-f",
                    &file,
                    "-o",
                    "json",
                ],
            );
            let intended: Value = serde_json::from_str(&intended).unwrap();
            let mut object = yaml_docs(&text).remove(0);
            object["metadata"]["namespace"] = json!(apps);
            let path = format!(
                "/apis/bitnami.com/v1alpha1/namespaces/{apps}/sealedsecrets/{name}?fieldManager=year&force=true"
            );
            let applied = cluster::plane()
                .request_as(cluster::plane().admin(), "APPLY", &path, Some(&object))
                .unwrap();
            assert!(applied.status < 300, "step {step}: apply {name}: {}", applied.body);
            let want = intended["data"]["value"].as_str().unwrap().to_string();
            wait_secret(&apps, name, |s| s["data"]["value"].as_str() == Some(want.as_str()));
        }
    }
    // The year's totals, as the schedule predicts them (90, 60 and 30 days; compromise at step 7).
    assert_eq!((pull_requests, regenerations, reseals), (12, 22, 14));
    eprintln!(
        "a simulated year: {pull_requests} pull requests, {regenerations} regenerations, {reseals} re-seals, \
         {} certificates served, human steps: {pull_requests} merges; {:.0} s",
        served.len(),
        started.elapsed().as_secs_f64()
    );
}
