//! `sealant report` as a person sees it: the page opened from disk in headless Chromium. The bars and rotation
//! lines are measured where the browser draws them (not where the markup says), at two window widths; the colours
//! are the computed ones; the tiles, tables and findings are read as shown. The page fetches nothing, and text a
//! repository writer controls (file names, annotations, item names) stays text.

use super::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The time every age is counted to: fixed, so the test does not depend on the day it runs.
const NOW: &str = "2030-01-15T12:00:00Z";

/// The window a person looks at the page in; the narrow one makes the chart scale down.
const WIDE: (u32, u32) = (1200, 2000);
const NARROW: (u32, u32) = (640, 2000);

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        // Why: the test must not depend on the user's or CI's git identity and signing settings.
        .args(["-c", "user.name=sealant-test", "-c", "user.email=test@example.invalid"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn now() -> OffsetDateTime {
    OffsetDateTime::parse(NOW, &Rfc3339).unwrap()
}

/// A GitOps repository with one cluster, `prod`, whose current key is a fresh throwaway one.
struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    cert: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The key pair lives outside the repository, as a cluster's does.
        let (cert, _, _) = keys(dir.path());
        let repo = dir.path().join("gitops");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        sealant(
            &[
                "keys",
                "fetch",
                "--cluster",
                "prod",
                "--cert",
                cert.to_str().unwrap(),
                "--repo",
                repo.to_str().unwrap(),
            ],
            "",
        );
        std::fs::write(
            repo.join(".sealant.yaml"),
            "clusters: [{name: prod}]\npolicy: {rotation: 90d}\n",
        )
        .unwrap();
        Self { dir, repo, cert }
    }

    /// Seals a Secret to prod's key and writes it to `file` (relative to the repository), as sealed `age_days`
    /// before [`NOW`], with `annotations` (raw YAML values) added next to the sealing time.
    fn sealed(&self, file: &str, namespace: &str, name: &str, age_days: i64, annotations: &[(&str, &str)]) {
        let secret = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n\
             stringData:\n  password: not-a-real-value\n"
        );
        let sealed = sealant(&["seal", "--cert", self.cert.to_str().unwrap()], &secret);
        let at = (now() - time::Duration::days(age_days)).format(&Rfc3339).unwrap();
        // Why a rewrite: `seal` stamps the real time; the report is asked about a fixed moment.
        let mut seen = false;
        let lines: Vec<String> = sealed
            .lines()
            .flat_map(|line| {
                let Some(indent) = line.find("sealant.dev/sealed-at:") else {
                    return vec![line.to_string()];
                };
                seen = true;
                let pad = &line[..indent];
                let mut out = vec![format!("{pad}sealant.dev/sealed-at: \"{at}\"")];
                out.extend(annotations.iter().map(|(k, v)| format!("{pad}{k}: {v}")));
                out
            })
            .collect();
        assert!(seen, "seal wrote no sealant.dev/sealed-at:\n{sealed}");
        self.write(file, &(lines.join("\n") + "\n"));
    }

    fn write(&self, file: &str, text: &str) {
        let path = self.repo.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Commits everything and writes the report at [`NOW`]; returns the page's path and its text.
    fn report(&self) -> (PathBuf, String) {
        git(&self.repo, &["add", "-A"]);
        git(&self.repo, &["commit", "-q", "-m", "fixture"]);
        let html = self.dir.path().join("out/report.html");
        std::fs::create_dir_all(html.parent().unwrap()).unwrap();
        sealant(
            &[
                "report",
                "--repo",
                self.repo.to_str().unwrap(),
                "--html",
                html.to_str().unwrap(),
                "--now",
                NOW,
            ],
            "",
        );
        let text = std::fs::read_to_string(&html).unwrap();
        (html, text)
    }
}

fn file_url(path: &Path) -> String {
    // Why percent-encoding: a hostile file name can hold `#`, `?`, `"` or spaces, which a URL reads otherwise.
    format!("file://{}", url_path(path.to_str().unwrap()))
}

fn url_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where the browser draws one cluster's chart, in CSS pixels of the window.
const MEASURE_CHART: &str = r#"
const svg = document.querySelector(`svg.chart[data-cluster="${arguments[0]}"]`);
if (!svg) return null;
const box = svg.getBoundingClientRect();
const mid = (el) => { const r = el.getBoundingClientRect(); return (r.left + r.right) / 2; };
return {
  left: box.left,
  right: box.right,
  scale: box.width / svg.viewBox.baseVal.width,
  perDay: Number(svg.dataset.pxPerDay),
  labelWidth: Number(svg.dataset.labelWidth),
  ticks: [...svg.querySelectorAll('text.axis')].map((t, i) => ({
    label: t.textContent,
    x: mid(svg.querySelectorAll('line.tick')[i]),
  })),
  rows: [...svg.querySelectorAll('g.row')].map((g) => {
    const bar = g.querySelector('rect.bar');
    const b = bar.getBoundingClientRect();
    return {
      name: g.dataset.name,
      namespace: g.dataset.namespace,
      age: bar.dataset.age === undefined ? null : Number(bar.dataset.age),
      period: Number(bar.dataset.period),
      status: bar.dataset.status,
      top: b.top,
      left: b.left,
      right: b.right,
      width: b.width,
      height: b.height,
      fill: getComputedStyle(bar).fill,
      line: mid(g.querySelector('line.period')),
      label: g.querySelector('text.label').textContent,
    };
  }),
};
"#;

/// Every cell of every row of the tables `selector` finds, as shown (`innerText`).
const TABLE_ROWS: &str = "return [...document.querySelectorAll(arguments[0])]\
     .map((tr) => ({ class: tr.className, cells: [...tr.cells].map((td) => td.innerText.trim()) }))";

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn goto_page(browser: &Browser, html: &Path, (w, h): (u32, u32)) {
    browser.c().set_window_size(w, h).await.unwrap();
    browser.c().goto(&file_url(html)).await.unwrap();
    browser
        .wait_js(
            "the report to lay out",
            "return document.readyState === 'complete' && document.querySelector('footer') !== null",
        )
        .await;
}

/// The bars, lines and ticks of `cluster`'s chart as drawn: each bar `expected[name] = (age, period, status)`
/// days long on the axis a person reads, starting at the axis' 0, its rotation line at its period.
async fn assert_chart_as_drawn(browser: &Browser, cluster: &str, expected: &BTreeMap<&str, (i64, i64, &str)>) -> Value {
    let chart = browser.js(MEASURE_CHART, vec![json!(cluster)]).await;
    assert!(chart.is_object(), "no chart for cluster {cluster}");
    let (left, right, scale) = (num(&chart["left"]), num(&chart["right"]), num(&chart["scale"]));
    let (per_day, label_width) = (num(&chart["perDay"]), num(&chart["labelWidth"]));
    assert!(scale > 0.2, "the chart is drawn {scale} times its size");
    // The axis a person reads: "0d" at the start of every bar, then a tick every 30 days.
    let ticks = chart["ticks"].as_array().unwrap();
    assert!(ticks.len() >= 3, "{chart}");
    assert_eq!(ticks[0]["label"], "0d");
    assert_eq!(ticks[1]["label"], "30d");
    let zero = num(&ticks[0]["x"]);
    let px_per_day_seen = (num(&ticks[1]["x"]) - zero) / 30.0;
    assert!(
        (zero - (left + label_width * scale)).abs() <= 1.0,
        "the axis' 0 is not at the label width: {chart}"
    );
    for (i, t) in ticks.iter().enumerate() {
        assert_eq!(t["label"], format!("{}d", i * 30));
        let want = zero + (i * 30) as f64 * px_per_day_seen;
        assert!((num(&t["x"]) - want).abs() <= 1.0, "tick {i} is off the scale: {chart}");
    }

    let rows = chart["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut want_names: Vec<&str> = expected.keys().copied().collect();
    let mut got_names = names.clone();
    want_names.sort();
    got_names.sort();
    assert_eq!(got_names, want_names, "the chart's rows");
    for r in rows {
        let name = r["name"].as_str().unwrap();
        let (age, period, status) = expected[name];
        assert_eq!(r["age"], json!(age), "{name}: data-age");
        assert_eq!(r["period"], json!(period), "{name}: data-period");
        assert_eq!(r["status"], status, "{name}: data-status");
        let width = num(&r["width"]);
        let drawn = age.max(0) as f64 * per_day * scale;
        assert!(
            (width - drawn).abs() <= 1.0,
            "{name}: the bar is {width}px wide on screen, {age} days at {per_day}px/day × {scale} is {drawn}px"
        );
        // Read against the axis, as a person does: the bar ends at its age.
        let days_seen = width / px_per_day_seen;
        assert!(
            (days_seen - age as f64).abs() <= 0.5,
            "{name}: the bar reads as {days_seen:.1} days on the axis, not {age}"
        );
        assert!(
            (num(&r["left"]) - zero).abs() <= 1.0,
            "{name}: the bar does not start at the axis' 0"
        );
        assert!(num(&r["right"]) <= right + 0.5, "{name}: the bar runs out of the chart");
        assert!(num(&r["height"]) >= 8.0 * scale, "{name}: the bar is too thin to see");
        let line = num(&r["line"]);
        let want_line = left + (label_width + period as f64 * per_day) * scale;
        assert!(
            (line - want_line).abs() <= 1.0,
            "{name}: the {period}-day line is drawn at {line}, not {want_line}"
        );
        assert!(
            ((line - zero) / px_per_day_seen - period as f64).abs() <= 0.5,
            "{name}: the rotation line does not read as {period} days on the axis"
        );
        assert!(line <= right + 0.5, "{name}: the rotation line is outside the chart");
    }
    chart
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_chart_shows_each_sealed_secrets_age_against_its_rotation_line_as_a_person_sees_it() {
    let fx = Fixture::new();
    // name → (age in days at NOW, period, status at the default 14 days' warning).
    let expected: BTreeMap<&str, (i64, i64, &str)> = [
        ("web-api-keys-prod", (10, 90, "fresh")),
        ("search-api-keys-prod", (50, 90, "fresh")),
        ("billing-db-credentials-prod", (80, 90, "due-soon")),
        ("ledger-db-credentials-prod", (100, 90, "overdue")),
        // Its own 30-day period: overdue at 40 days, which the 90-day policy would call fresh.
        ("auth-session-keys-prod", (40, 30, "overdue")),
    ]
    .into_iter()
    .collect();
    for (name, (age, period, _)) in &expected {
        let namespace = name.split('-').next().unwrap();
        let every = format!("\"{period}d\"");
        // The policy's 90 days needs no annotation; any other period is the SealedSecret's own.
        let annotations: Vec<(&str, &str)> = if *period == 90 {
            Vec::new()
        } else {
            vec![("sealant.dev/rotate-every", every.as_str())]
        };
        fx.sealed(
            &format!("apps/{namespace}/{name}.yaml"),
            namespace,
            name,
            *age,
            &annotations,
        );
    }
    // A plaintext Secret someone committed by mistake: lint's finding must be on the page.
    fx.write(
        "apps/legacy/forgotten-secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy-db-credentials-prod\n  namespace: legacy\n\
         stringData:\n  password: hunter2\n",
    );
    let (html, text) = fx.report();

    // Self-contained: nothing to fetch, nothing to run, no address to go to.
    assert!(!text.contains("<script"), "the page holds a script");
    assert!(!text.contains("http://"), "the page holds an http:// address");
    assert!(!text.contains("https://"), "the page holds an https:// address");
    assert!(
        text.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"),
        "the page has no CSP that forbids loading"
    );
    assert!(!text.contains("hunter2"), "the plaintext value is on the page");

    let browser = Browser::start().await;
    goto_page(&browser, &html, WIDE).await;
    let started = std::time::Instant::now();
    let wide = assert_chart_as_drawn(&browser, "prod", &expected).await;
    // At 1200px the page's column is wider than the chart: drawn at its own size.
    assert!((num(&wide["scale"]) - 1.0).abs() < 1e-6, "{wide}");

    let rows = wide["rows"].as_array().unwrap();
    // Longer bars for older secrets, and the oldest on top.
    let mut by_age: Vec<&Value> = rows.iter().collect();
    by_age.sort_by_key(|r| r["age"].as_i64().unwrap());
    for pair in by_age.windows(2) {
        assert!(
            num(&pair[0]["width"]) < num(&pair[1]["width"]),
            "{} ({} days) is not drawn shorter than {} ({} days)",
            pair[0]["name"],
            pair[0]["age"],
            pair[1]["name"],
            pair[1]["age"]
        );
    }
    for pair in rows.windows(2) {
        assert!(num(&pair[0]["top"]) < num(&pair[1]["top"]), "rows overlap");
        assert!(
            pair[0]["age"].as_i64() >= pair[1]["age"].as_i64(),
            "the chart is not oldest first"
        );
    }
    for r in rows {
        assert_eq!(
            r["label"],
            format!("{}/{}", r["namespace"].as_str().unwrap(), r["name"].as_str().unwrap())
        );
    }

    // Three states, three colours a person tells apart; the same state, the same colour.
    let mut fills: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for r in rows {
        fills
            .entry(r["status"].as_str().unwrap().to_string())
            .or_default()
            .insert(r["fill"].as_str().unwrap().to_string());
    }
    for (status, set) in &fills {
        assert_eq!(set.len(), 1, "{status} bars in different colours: {set:?}");
    }
    let colour = |status: &str| fills[status].iter().next().unwrap().clone();
    let (late, soon, ok) = (colour("overdue"), colour("due-soon"), colour("fresh"));
    assert!(
        late != soon && soon != ok && late != ok,
        "overdue {late}, due soon {soon}, fresh {ok}"
    );
    for c in [&late, &soon, &ok] {
        // The default fill (black) would mean the style sheet did not apply.
        assert!(c.starts_with("rgb(") && c != "rgb(0, 0, 0)", "a bar's fill is {c}");
    }

    // The 30-day line is left of every 90-day line, and every 90-day line is in one place.
    let line_of = |name: &str| num(&rows.iter().find(|r| r["name"] == name).unwrap()["line"]);
    let ninety: Vec<f64> = expected
        .iter()
        .filter(|(_, (_, period, _))| *period == 90)
        .map(|(name, _)| line_of(name))
        .collect();
    for x in &ninety {
        assert!(line_of("auth-session-keys-prod") < *x - 50.0);
        assert!((x - ninety[0]).abs() < 0.5);
    }

    // The tiles, as shown.
    let tiles = browser
        .js(
            "return Object.fromEntries([...document.querySelectorAll('.tile')]\
               .map((t) => [t.querySelector('.label').innerText, t.querySelector('.value').innerText]))",
            vec![],
        )
        .await;
    let findings = browser.js(TABLE_ROWS, vec![json!("section.findings tbody tr")]).await;
    let findings = findings.as_array().unwrap();
    let errors = findings.iter().filter(|f| f["class"] == "error").count();
    assert_eq!(
        tiles,
        json!({
            "SealedSecrets": "5",
            "overdue": "2",
            "due soon": "1",
            "age unknown": "0",
            "keys": "1",
            "lint errors": errors.to_string(),
        })
    );
    assert!(
        findings.iter().any(|f| f["cells"][1] == "plaintext-secret"
            && f["cells"][2]
                .as_str()
                .unwrap()
                .starts_with("apps/legacy/forgotten-secret.yaml:")),
        "the plaintext Secret is not among the findings: {findings:#?}"
    );
    // Lint agrees with the chart about which ones are late.
    for name in ["ledger-db-credentials-prod", "auth-session-keys-prod"] {
        assert!(
            findings
                .iter()
                .any(|f| f["cells"][1] == "rotation-overdue" && f["cells"][3].as_str().unwrap().contains(name)),
            "{name} is not overdue in the findings"
        );
    }

    // The table says what the chart draws, row for row, in the same order.
    let table = browser.js(TABLE_ROWS, vec![json!("table.secrets tbody tr")]).await;
    let table = table.as_array().unwrap();
    assert_eq!(table.len(), rows.len());
    for (tr, r) in table.iter().zip(rows) {
        let name = r["name"].as_str().unwrap();
        let (age, period, status) = expected[name];
        let cells = &tr["cells"];
        assert_eq!(tr["class"], status, "{name}");
        assert_eq!(cells[0], format!("{}/{name}", r["namespace"].as_str().unwrap()));
        assert_eq!(
            cells[1],
            format!("apps/{}/{name}.yaml", r["namespace"].as_str().unwrap())
        );
        assert_eq!(cells[2], format!("{age}d"));
        assert_eq!(cells[3], format!("{period}d"));
        let due = if age >= period {
            format!("overdue by {} days", age - period)
        } else {
            format!("in {} days", period - age)
        };
        assert_eq!(cells[4], due, "{name}");
    }
    let keys_rows = browser.js(TABLE_ROWS, vec![json!("table.keys tbody tr")]).await;
    let keys_rows = keys_rows.as_array().unwrap();
    assert_eq!(keys_rows.len(), 1, "{keys_rows:?}");
    assert_eq!(keys_rows[0]["cells"][5], "5", "the key is used by every SealedSecret");

    // Nothing was fetched: no style sheet, font or image, from anywhere.
    assert_eq!(
        browser
            .js("return performance.getEntriesByType('resource').length", vec![])
            .await,
        json!(0)
    );

    // What a person sees at 1200px, kept as an artifact.
    let png = browser.c().screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("report.png");
    std::fs::write(&shot, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG");
    let png_width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let png_height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    let viewport = browser
        .js("return [window.innerWidth, window.innerHeight]", vec![])
        .await;
    assert_eq!(
        json!([png_width, png_height]),
        viewport,
        "the screenshot is not of the window"
    );
    assert!(png.len() > 10_000, "a {}-byte screenshot is blank", png.len());

    // On a narrow window the chart shrinks as a whole: bars and lines keep their proportions.
    goto_page(&browser, &html, NARROW).await;
    let narrow = assert_chart_as_drawn(&browser, "prod", &expected).await;
    let scale = num(&narrow["scale"]);
    assert!(scale < 0.9, "at 640px the chart was not scaled down ({scale})");
    assert!(
        num(&narrow["right"])
            <= browser
                .js("return document.documentElement.clientWidth", vec![])
                .await
                .as_f64()
                .unwrap(),
        "the chart runs off a narrow window"
    );
    eprintln!(
        "measured the chart at two widths in {:?}; screenshot: {}",
        started.elapsed(),
        shot.display()
    );

    let log = browser.finish().await;
    // The browser's own start-up requests (Debian's home page) are in the NetLog too, unresolved by design (see
    // `Browser::start`); what counts is that no connection was made at all, to anywhere, while the page was open.
    for (method, url) in &log.requests {
        eprintln!("  the browser, not resolved: {method} {url}");
    }
    assert_eq!(log.connects, Vec::<String>::new(), "the browser connected somewhere");
}

/// Elements, tags and text of the page that could be someone else's markup.
const INJECTED: &str = r#"
const allowed = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'header', 'h1', 'h2', 'span', 'p',
  'time', 'section', 'div', 'svg', 'line', 'text', 'g', 'rect', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  'code', 'br', 'small', 'footer']);
const all = [...document.querySelectorAll('*')];
return {
  tags: [...new Set(all.map((e) => e.localName).filter((t) => !allowed.has(t)))],
  handlers: all.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name) || /^(src|href|srcdoc)$/i.test(a.name))
    .map((a) => `${e.localName} ${a.name}`)),
  svgs: document.querySelectorAll('svg').length,
  charts: document.querySelectorAll('svg.chart').length,
  text: document.body.innerText,
  title: document.title,
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_file_name_or_secret_name_in_the_repository_cannot_inject_markup_into_the_report() {
    let fx = Fixture::new();
    // Markup in every place a repository writer puts text the page shows: a file name, an annotation that
    // becomes the page's "problem" text, a plaintext Secret's item name (in lint's message) and file name.
    let file_markup = "\"><svg onload=document.title='pwned-file'><img src=x onerror=document.title='pwned-img'>";
    let annotation_markup = "<img src=x onerror=alert(1)><script>document.title='pwned-annotation'</script>";
    let item_markup = "<iframe srcdoc=pwned-item></iframe>";
    // No `/` in a file name: it would be a directory.
    let plain_markup = "<b onmouseover=alert(2)>plain";
    fx.sealed("apps/web/web-api-keys-prod.yaml", "web", "web-api-keys-prod", 10, &[]);
    fx.sealed(
        &format!("apps/web/{file_markup}.yaml"),
        "web",
        "web-session-keys-prod",
        20,
        // YAML's single quotes, with the quotes inside doubled.
        &[(
            "sealant.dev/rotate-every",
            format!("'{}'", annotation_markup.replace('\'', "''")).as_str(),
        )],
    );
    fx.write(
        &format!("apps/web/{plain_markup}.yaml"),
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-plain-credentials-prod\n  namespace: web\n\
             stringData:\n  '{item_markup}': hunter2\n"
        ),
    );
    let (html, text) = fx.report();
    for markup in ["<svg onload", "<img", "<script", "<iframe", "<b "] {
        assert!(!text.contains(markup), "the page holds {markup:?} as markup");
    }

    let browser = Browser::start().await;
    goto_page(&browser, &html, WIDE).await;
    let page = browser.js(INJECTED, vec![]).await;
    assert_eq!(page["tags"], json!([]), "elements the report does not make: {page:#}");
    assert_eq!(page["handlers"], json!([]), "attributes the report does not make");
    assert_eq!(page["svgs"], page["charts"], "an svg that is not a chart");
    assert!(page["title"].as_str().unwrap().starts_with("sealant report: "));
    // Shown as the text it is.
    let shown = page["text"].as_str().unwrap();
    for hostile in [file_markup, annotation_markup, item_markup, plain_markup] {
        assert!(shown.contains(hostile), "{hostile:?} is not shown as text:\n{shown}");
    }
    // The bad annotation puts that SealedSecret in "age unknown", not off the page, and it stays in the chart of
    // prod, whose key it is sealed to: no "no cluster" section, and prod's key is not listed as unused.
    let row = browser
        .js(
            "const g = [...document.querySelectorAll('svg.chart[data-cluster=\"prod\"] g.row')] \
               .find((g) => g.dataset.name === arguments[0]); \
             return g ? g.querySelector('rect.bar').dataset.status : null",
            vec![json!("web-session-keys-prod")],
        )
        .await;
    assert_eq!(
        row, "unknown",
        "web-session-keys-prod is not in prod's chart as age unknown"
    );
    let sections = browser
        .js(
            "return [...document.querySelectorAll('section.cluster')].map((s) => s.dataset.cluster ?? null)",
            vec![],
        )
        .await;
    assert_eq!(sections, json!(["prod"]));
    let table = browser.js(TABLE_ROWS, vec![json!("table.secrets tbody tr")]).await;
    let hostile_row = table
        .as_array()
        .unwrap()
        .iter()
        .find(|tr| tr["cells"][0] == "web/web-session-keys-prod")
        .unwrap_or_else(|| panic!("no row for web-session-keys-prod: {table:#}"));
    assert_eq!(hostile_row["class"], "unknown");
    assert!(
        hostile_row["cells"][6].as_str().unwrap().starts_with("SHA256:"),
        "its key is not shown: {hostile_row}"
    );
    let tiles = browser
        .js(
            "return [...document.querySelectorAll('.tile .value')].map((v) => v.innerText)",
            vec![],
        )
        .await;
    // SealedSecrets, overdue, due soon, age unknown, keys (lint errors vary with lint's rules).
    assert_eq!(
        tiles.as_array().unwrap()[..5],
        [json!("2"), json!("0"), json!("0"), json!("1"), json!("1")]
    );

    // The check sees markup when there is some: the same page with one escaped text put back raw.
    let escaped = "&lt;img src=x onerror=alert(1)&gt;";
    assert!(text.contains(escaped), "the annotation is not escaped as expected");
    let tampered = html.with_file_name("tampered.html");
    std::fs::write(&tampered, text.replacen(escaped, "<img src=x onerror=alert(1)>", 1)).unwrap();
    goto_page(&browser, &tampered, WIDE).await;
    let caught = browser.js(INJECTED, vec![]).await;
    assert_eq!(caught["tags"], json!(["img"]), "the check missed injected markup");
    browser.finish().await;
}
