//! Golden tests of the CLI: `--help` texts and every user-facing error, byte for byte (tests/cmd/*.toml).
//! Regenerate after an intended change with `TRYCMD=overwrite cargo test --test golden` and review the diff.

#[test]
fn cli_output_matches_the_golden_files() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
