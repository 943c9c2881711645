//! The lint's readers and checks on hostile YAML and JSON: findings (a parse-error finding at worst), never a
//! panic, and never a finding message quoting the input's values.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealant_lint::Config;

static CONFIG: LazyLock<Config> = LazyLock::new(Config::default);

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let path = if kind & 1 == 0 { "apps/x.yaml" } else { "apps/x.json" };
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let report = sealant_lint::lint_text(Path::new(path), text, &CONFIG, now);
    for finding in &report.findings {
        assert!(finding.line >= 1 && finding.column >= 1, "{finding:?}");
    }
});
