//! Installing the CLI as a user would: `make install PREFIX=…` puts the release binary, one manual page per
//! command and bash, zsh and fish completions where those shells look; each works in its real program (bash
//! completes, zsh and fish parse their scripts, `man -l` renders every page); `cargo install --locked --path .`
//! installs a binary that runs.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `make install` into a fresh prefix, with the kubeseal link.
fn installed() -> &'static Path {
    static PREFIX: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    PREFIX
        .get_or_init(|| {
            let prefix = tempfile::tempdir().unwrap();
            run(Command::new("make")
                .args(["install", "KUBESEAL_LINK=1"])
                .arg(format!("PREFIX={}", prefix.path().display()))
                .current_dir(root()));
            prefix
        })
        .path()
}

#[test]
fn make_install_puts_the_binary_the_kubeseal_link_pages_and_completions_under_the_prefix() {
    let prefix = installed();
    let version = run(Command::new(prefix.join("bin/sealant")).arg("--version"));
    assert_eq!(version.trim(), format!("sealant {}", env!("CARGO_PKG_VERSION")));
    let kubeseal = run(Command::new(prefix.join("bin/kubeseal")).arg("--version"));
    assert!(kubeseal.starts_with("kubeseal version: v"), "{kubeseal}");
    for file in [
        "share/bash-completion/completions/sealant",
        "share/zsh/site-functions/_sealant",
        "share/fish/vendor_completions.d/sealant.fish",
        "share/man/man1/sealant.1",
        "share/man/man1/sealant-seal.1",
        "share/man/man1/sealant-keys-new.1",
    ] {
        assert!(prefix.join(file).is_file(), "{file} not installed");
    }
}

#[test]
fn install_under_destdir_with_a_strict_umask_is_readable_and_never_replaces_a_real_kubeseal() {
    use std::os::unix::fs::PermissionsExt as _;
    let stage = tempfile::tempdir().unwrap();
    let theirs = stage.path().join("usr/bin/kubeseal");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    std::fs::write(&theirs, "upstream kubeseal\n").unwrap();
    let make = |args: &[&str]| {
        Command::new("bash")
            .arg("-c")
            .arg(r#"umask 077 && make --no-print-directory install "$@""#)
            .arg("make")
            .arg(format!("DESTDIR={}", stage.path().display()))
            .args(args)
            .current_dir(root())
            .output()
            .unwrap()
    };
    let out = make(&["PREFIX=/usr", "KUBESEAL_LINK=1"]);
    assert!(!out.status.success(), "replaced the user's kubeseal");
    assert!(String::from_utf8_lossy(&out.stderr).contains("kubeseal exists and is not a link to sealant"));
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "upstream kubeseal\n");
    for file in [
        "usr/bin/sealant",
        "usr/share/man/man1/sealant-seal.1",
        "usr/share/bash-completion/completions/sealant",
        "usr/share/zsh/site-functions/_sealant",
        "usr/share/fish/vendor_completions.d/sealant.fish",
    ] {
        let mode = std::fs::metadata(stage.path().join(file)).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o044,
            0o044,
            "{file} is not readable by others under umask 077: {mode:o}"
        );
    }
    // An empty PREFIX would install into /bin and /share: refused.
    let out = make(&["PREFIX="]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PREFIX is empty"));
}

#[test]
fn the_release_binary_carries_no_debug_info() {
    let prefix = installed();
    let out = run(Command::new("readelf").arg("-S").arg(prefix.join("bin/sealant")));
    let debug: Vec<&str> = out.lines().filter(|l| l.contains(".debug_")).collect();
    assert!(debug.is_empty(), "debug sections left: {debug:?}");
}

#[test]
fn bash_loads_the_completion_and_completes_subcommands_and_flags() {
    let script = installed().join("share/bash-completion/completions/sealant");
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={point}; \
             _sealant sealant '{current}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script = script.display(),
            words = words.join(" "),
            cword = words.len() - 1,
            point = line.len(),
            current = words[words.len() - 1],
            previous = words[words.len() - 2],
        );
        run(Command::new("bash").args(["--norc", "--noprofile", "-c", &program]))
    };
    let subcommands = complete("sealant r");
    assert!(
        subcommands.lines().any(|l| l == "reseal") && subcommands.lines().any(|l| l == "rotate"),
        "{subcommands}"
    );
    let flags = complete("sealant keys new --b");
    assert_eq!(flags.trim(), "--bits");
}

#[test]
fn zsh_and_fish_accept_their_completion_scripts() {
    let prefix = installed();
    run(Command::new("zsh")
        .arg("-n")
        .arg(prefix.join("share/zsh/site-functions/_sealant")));
    run(Command::new("fish")
        .arg("--no-execute")
        .arg(prefix.join("share/fish/vendor_completions.d/sealant.fish")));
    // And fish, loading it for real, offers the subcommands.
    let offered = run(Command::new("fish").args(["--no-config", "-c"]).arg(format!(
        "source {}; complete -C 'sealant se'",
        prefix.join("share/fish/vendor_completions.d/sealant.fish").display()
    )));
    assert!(offered.lines().any(|l| l.starts_with("seal\t")), "{offered}");
}

#[test]
fn every_manual_page_renders_with_man_and_names_its_command() {
    let dir = installed().join("share/man/man1");
    let mut pages: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    // One page per command: the top, each subcommand and each `keys` subcommand.
    assert!(pages.len() >= 18, "{pages:?}");
    for page in &pages {
        let name = page.file_stem().unwrap().to_str().unwrap();
        let text = run(Command::new("man")
            .args(["-P", "cat", "-l"])
            .arg(page)
            .env("MANWIDTH", "100"));
        // The line under NAME: the command's name, a dash, its summary (man justifies the spaces).
        let line = text.lines().skip_while(|l| *l != "NAME").nth(1).unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(
            words.len() > 2 && words[0] == name && words[1] == "-",
            "{name}: no NAME line:\n{text}"
        );
        assert!(text.contains("SYNOPSIS"), "{name}: {text}");
    }
}

#[test]
fn cargo_install_locked_from_the_source_tree_installs_a_working_binary() {
    let root_dir = tempfile::tempdir().unwrap();
    // The same target directory and profile as the build (CI's one profile when SEALANT_PROFILE names it): an
    // up-to-date build is reused, not rebuilt.
    let profile = std::env::var("SEALANT_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "release".into());
    run(Command::new(env!("CARGO"))
        .args(["install", "--locked", "--quiet", "--path", ".", "--profile", &profile])
        .arg("--root")
        .arg(root_dir.path())
        .env("CARGO_TARGET_DIR", root().join("target"))
        .current_dir(root()));
    let version = run(Command::new(root_dir.path().join("bin/sealant")).arg("--version"));
    assert_eq!(version.trim(), format!("sealant {}", env!("CARGO_PKG_VERSION")));
}
