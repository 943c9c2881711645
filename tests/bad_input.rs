//! The bad-input catalogue: hostile inputs across the commands (huge and deeply nested documents, alias bombs,
//! broken encodings, wrong kinds, duplicate keys, truncated and oversized ciphertexts, odd certificates and keys,
//! labels with NUL or `/`, broken configuration). Each case runs the real binary under a 2 GiB address-space
//! limit and must end with its exit code and a clear error naming the input, never a panic, never a value of
//! the input on stdout or stderr, and never a half-written output file.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A value planted in the inputs: it must never be printed.
const CANARY: &str = "PLAINTEXT-CANARY-7f3a";

/// Address-space limit for each run, KiB (`ulimit -v`): hostile input must not make sealant balloon.
const MEMORY_LIMIT_KIB: u64 = 2 * 1024 * 1024;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/tests/data/vectors")
}

/// One hostile input and what sealant must answer.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Exit code: 1 for bad input, 2 for bad usage.
    code: i32,
    /// A fragment of the error (after `error: `), to check it says what is wrong.
    says: &'static str,
    /// The output file the command was asked to write, which must not exist afterwards.
    output: Option<PathBuf>,
}

/// Builds the catalogue's inputs in `dir`.
struct Inputs {
    dir: PathBuf,
}

impl Inputs {
    fn file(&self, name: &str, content: impl AsRef<[u8]>) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn secret(&self, name: &str, metadata: &str, data: &str) -> String {
        self.file(
            name,
            format!("apiVersion: v1\nkind: Secret\nmetadata: {metadata}\nstringData:\n{data}\n"),
        )
    }

    fn sealed(&self, name: &str, ciphertext: &str) -> String {
        self.file(
            name,
            format!(
                "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: db-credentials-prod, namespace: billing}}\nspec:\n  encryptedData:\n    password: {ciphertext}\n  template:\n    metadata: {{name: db-credentials-prod, namespace: billing}}\n"
            ),
        )
    }

    /// A SealedSecret (sealed to `cert` for `billing/db-credentials-prod`) with a 64 KiB item and a template that
    /// repeats it 8,192 times: half a gigabyte if rendered without a bound.
    fn template_bomb(&self, cert: &str) -> String {
        let input = self.secret(
            "bomb-input.yaml",
            "{name: db-credentials-prod, namespace: billing}",
            &format!("  a: {}", "a".repeat(64 * 1024)),
        );
        let out = Command::new(env!("CARGO_BIN_EXE_sealant"))
            .args(["seal", "--cert", cert, "-f", &input])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sealed = String::from_utf8(out.stdout).unwrap();
        let template = "{{.a}}".repeat(8192);
        let sealed = sealed.replacen(
            "  template:\n",
            &format!("  template:\n    data:\n      out: '{template}'\n"),
            1,
        );
        assert!(sealed.contains("out: '{{.a}}"), "{sealed}");
        self.file("bomb.yaml", sealed)
    }

    /// A git repository whose `.sealant.yaml` is a symbolic link to a file outside it holding a planted value.
    fn linked_config_repo(&self, name: &str) -> PathBuf {
        let repo = self.dir.join(name);
        std::fs::create_dir_all(&repo).unwrap();
        assert!(
            Command::new("git")
                .args(["init", "-q"])
                .arg(&repo)
                .status()
                .unwrap()
                .success()
        );
        let outside = self.file(&format!("{name}-outside.yaml"), format!("token: {CANARY}\n"));
        std::os::unix::fs::symlink(outside, repo.join(".sealant.yaml")).unwrap();
        repo
    }

    /// A certificate made by `openssl` for the given key options (odd sizes, odd exponents).
    fn openssl_cert(&self, name: &str, keyopts: &[&str]) -> String {
        let key = self.dir.join(format!("{name}.key"));
        let cert = self.dir.join(format!("{name}.crt"));
        let mut genpkey = Command::new("openssl");
        genpkey.args(["genpkey", "-algorithm", "RSA", "-out"]).arg(&key);
        for opt in keyopts {
            genpkey.args(["-pkeyopt", opt]);
        }
        assert!(
            genpkey.output().unwrap().status.success(),
            "openssl genpkey {keyopts:?}"
        );
        let req = Command::new("openssl")
            .args(["req", "-x509", "-days", "30", "-subj", "/CN=odd", "-key"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(req.status.success(), "{}", String::from_utf8_lossy(&req.stderr));
        cert.display().to_string()
    }
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(ToString::to_string).collect()
}

/// The catalogue itself: one entry per hostile input, with the command it is fed to and what must come out.
///
/// A long table of data, kept whole on purpose (it is why this file is over 500 lines): a reviewer reads every
/// case of the catalogue in one place.
fn catalogue(inputs: &Inputs) -> Vec<Case> {
    let cert = vectors().join("keys/key2048.cert.pem").display().to_string();
    let key = vectors().join("keys/key2048.key.pem").display().to_string();
    let bad = |name: &str| format!("{}/tests/bad-input/{name}", env!("CARGO_MANIFEST_DIR"));
    let seal = |file: &str| args(&["seal", "--cert", &cert, "-f", file]);
    let unseal = |file: &str| args(&["unseal", "--key", &key, "-f", file]);
    let verify = |file: &str| args(&["verify", "--key", &key, "-f", file]);
    let case = |name, args, code, says| Case {
        name,
        args,
        code,
        says,
        output: None,
    };
    let value = format!("  password: {CANARY}");
    let strict = vectors().join("sealedsecrets/strict.sealedsecret.yaml");
    let good_ciphertext = std::fs::read_to_string(&strict)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: ").map(str::to_string))
        .expect("a ciphertext in the strict vector");
    let written = inputs.dir.join("written.yaml");
    let written_arg = written.display().to_string();

    let mut cases = vec![
        // Encodings and syntax.
        case("not UTF-8", seal(&bad("not-utf8.yaml")), 1, "UTF-8"),
        case("not YAML", seal(&bad("not-yaml.yaml")), 1, "not-yaml.yaml"),
        case("empty file", seal(&inputs.file("empty.yaml", "")), 1, "empty.yaml"),
        case("only comments", seal(&inputs.file("comments.yaml", "# nothing\n# here\n")), 1, "comments.yaml"),
        case(
            "UTF-16 with a byte order mark",
            seal(&inputs.file("utf16.yaml", [0xff, 0xfe, b'a', 0, b':', 0, b' ', 0, b'b', 0])),
            1,
            "utf16.yaml",
        ),
        case(
            "NUL bytes in the document",
            seal(&inputs.file("nul.yaml", format!("apiVersion: v1\nkind: Secret\0\nmetadata: {{name: a}}\nstringData:\n{value}\n"))),
            1,
            "nul.yaml",
        ),
        case(
            "tab indentation",
            seal(&inputs.file("tabs.yaml", format!("apiVersion: v1\nkind: Secret\nmetadata:\n\tname: a\nstringData:\n{value}\n"))),
            1,
            "tabs.yaml",
        ),
        case(
            "unterminated quoted value",
            seal(&inputs.file("quote.yaml", format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: a, namespace: b}}\nstringData:\n  password: \"{CANARY}\n"))),
            1,
            "quote.yaml",
        ),
        case(
            "truncated JSON",
            seal(&inputs.file("truncated.json", format!("{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"stringData\": {{\"password\": \"{CANARY}\""))),
            1,
            "truncated.json",
        ),
        case(
            "JSON nested 100,000 deep",
            seal(&inputs.file("deep.json", format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)))),
            1,
            "deep.json",
        ),
        case(
            "YAML nested 100,000 deep",
            seal(&inputs.file("deep.yaml", format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000)))),
            1,
            "deep.yaml",
        ),
        case(
            "YAML block mappings nested 5,000 deep",
            seal(&inputs.file(
                "deep-block.yaml",
                (0..5_000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect::<String>(),
            )),
            1,
            "deep-block.yaml",
        ),
        case("alias bomb (billion laughs)", seal(&bad("yaml-bomb.yaml")), 1, "YAML bomb"),
        case(
            "alias bomb through merge keys",
            seal(&inputs.file(
                "merge-bomb.yaml",
                {
                    let mut text = String::from("a0: &a0 {x: 1, y: 2}\n");
                    for i in 1..40 {
                        text.push_str(&format!("a{i}: &a{i} {{<<: [*a{p}, *a{p}], k{i}: [*a{p}, *a{p}, *a{p}]}}\n", p = i - 1));
                    }
                    text.push_str("kind: Secret\napiVersion: v1\nmetadata: {name: a, namespace: b, labels: *a39}\n");
                    text
                },
            )),
            1,
            "merge-bomb.yaml",
        ),
        case(
            "input larger than 64 MiB",
            seal(&inputs.file("huge.yaml", {
                let mut text = String::from("apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData:\n");
                let line = format!("  k{}: {CANARY}\n", "x".repeat(100));
                while text.len() <= 65 * 1024 * 1024 {
                    text.push_str(&line);
                }
                text
            })),
            1,
            "larger than",
        ),
        case(
            "100,000 documents of garbage",
            seal(&inputs.file("many.yaml", "---\n- [x\n".repeat(100_000))),
            1,
            "many.yaml",
        ),
        // Objects.
        case("wrong kind", seal(&bad("wrong-kind.yaml")), 1, "wrong-kind.yaml"),
        case("no name", seal(&bad("no-name.yaml")), 1, "name"),
        case("no namespace", seal(&bad("no-namespace.yaml")), 1, "namespace"),
        case("empty data", seal(&bad("empty-data.yaml")), 1, "empty-data.yaml"),
        case("duplicate keys", seal(&bad("duplicate-key.yaml")), 1, "duplicate"),
        case(
            "a name with a NUL",
            seal(&inputs.secret("name-nul.yaml", "{name: \"db\\0prod\", namespace: billing}", &value)),
            1,
            "name",
        ),
        case(
            "a name with a slash",
            seal(&inputs.secret("name-slash.yaml", "{name: db/prod, namespace: billing}", &value)),
            1,
            "name",
        ),
        case(
            "a namespace with a slash",
            seal(&inputs.secret("ns-slash.yaml", "{name: db, namespace: ../kube-system}", &value)),
            1,
            "namespace",
        ),
        case(
            "an item key with a slash",
            seal(&inputs.secret("item-slash.yaml", "{name: db, namespace: billing}", &format!("  ../etc/passwd: {CANARY}"))),
            1,
            "item key",
        ),
        case(
            "data that is not base64",
            seal(&inputs.file("data-b64.yaml", format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: a, namespace: b}}\ndata:\n  password: \"{CANARY}!!\"\n"))),
            1,
            "base64",
        ),
        case(
            "metadata that is a list",
            seal(&inputs.file("meta-list.yaml", format!("apiVersion: v1\nkind: Secret\nmetadata: [a, b]\nstringData:\n{value}\n"))),
            1,
            "meta-list.yaml",
        ),
        case(
            "a v1 List holding a ConfigMap",
            seal(&inputs.file("list.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n")),
            1,
            "list.yaml",
        ),
        case("an already sealed input", seal(&strict.display().to_string()), 1, "already"),
        // Ciphertexts.
        case("truncated ciphertext", unseal(&bad("truncated-ciphertext.yaml")), 1, "truncated-ciphertext.yaml"),
        case("ciphertext that is not base64", unseal(&bad("bad-base64.yaml")), 1, "bad-base64.yaml"),
        case("empty ciphertext", unseal(&inputs.sealed("empty-ct.yaml", "\"\"")), 1, "empty-ct.yaml"),
        case(
            "oversized ciphertext (1 MiB of random base64)",
            verify(&inputs.sealed("big-ct.yaml", &{
                use base64::Engine as _;
                let bytes: Vec<u8> = (0..1_048_576u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
                base64::engine::general_purpose::STANDARD.encode(bytes)
            })),
            1,
            "big-ct.yaml",
        ),
        case(
            "ciphertext whose length prefix overruns it",
            unseal(&inputs.sealed("overrun.yaml", "//8AAAAA")),
            1,
            "overrun.yaml",
        ),
        case(
            "valid ciphertext moved to another name",
            unseal(&inputs.file(
                "moved.yaml",
                std::fs::read_to_string(&strict).unwrap().replace("name: mysecret", "name: other"),
            )),
            1,
            "decrypt",
        ),
        case(
            "valid ciphertext with one flipped character",
            verify(&inputs.sealed("flipped.yaml", &{
                let mut c = good_ciphertext.clone().into_bytes();
                let at = c.len() / 2;
                c[at] = if c[at] == b'A' { b'B' } else { b'A' };
                String::from_utf8(c).unwrap()
            })),
            1,
            "flipped.yaml",
        ),
        // Certificates and keys.
        case(
            "an empty certificate file",
            args(&["seal", "--cert", &inputs.file("empty.crt", ""), "-f", &inputs.secret("ok.yaml", "{name: a, namespace: b}", &value)]),
            1,
            "empty.crt",
        ),
        case(
            "a certificate PEM with garbage inside",
            args(&["seal", "--cert", &inputs.file("garbage.crt", "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n"), "-f", &bad("no-name.yaml")]),
            1,
            "garbage.crt",
        ),
        case(
            "a DER certificate instead of PEM",
            args(&["seal", "--cert", &inputs.file("der.crt", [0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00]), "-f", &bad("no-name.yaml")]),
            1,
            "der.crt",
        ),
        case(
            "a 1024-bit RSA certificate",
            args(&["seal", "--cert", &inputs.openssl_cert("rsa1024", &["rsa_keygen_bits:1024"]), "-f", &inputs.secret("ok1.yaml", "{name: a, namespace: b}", &value)]),
            1,
            "rsa1024.crt",
        ),
        case(
            "an RSA certificate with public exponent 3",
            args(&["seal", "--cert", &inputs.openssl_cert("e3", &["rsa_keygen_bits:2048", "rsa_keygen_pubexp:3"]), "-f", &inputs.secret("ok2.yaml", "{name: a, namespace: b}", &value)]),
            1,
            "exponent 3",
        ),
        case(
            "a key file of garbage",
            args(&["unseal", "--key", &inputs.file("garbage.key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), "-f", &strict.display().to_string()]),
            1,
            "garbage.key",
        ),
        case(
            "a key Secret without tls.key",
            args(&["unseal", "--key", &inputs.file("keysecret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: kube-system}\ntype: kubernetes.io/tls\ndata: {tls.crt: AAAA}\n"), "-f", &strict.display().to_string()]),
            1,
            "keysecret.yaml",
        ),
        case(
            "fingerprint of a non-certificate",
            args(&["keys", "fingerprint", &inputs.file("notcert.pem", "hello\n")]),
            1,
            "notcert.pem",
        ),
        // Configuration.
        case(
            "a .sealant.yaml that does not parse",
            {
                let repo = inputs.dir.join("repo-bad-config");
                std::fs::create_dir_all(&repo).unwrap();
                std::fs::write(repo.join(".sealant.yaml"), "policy: {rotation: [\n").unwrap();
                assert!(Command::new("git").args(["init", "-q"]).arg(&repo).status().unwrap().success());
                args(&["rotate", "--dry-run", "--repo", &repo.display().to_string()])
            },
            1,
            ".sealant.yaml",
        ),
        case(
            "a .sealant.yaml rule naming an unknown cluster",
            {
                let repo = inputs.dir.join("repo-unknown-cluster");
                std::fs::create_dir_all(&repo).unwrap();
                std::fs::write(repo.join(".sealant.yaml"), "clusters: [{name: prod}]\npaths: [{glob: 'a/**', clusters: [prdo]}]\n").unwrap();
                assert!(Command::new("git").args(["init", "-q"]).arg(&repo).status().unwrap().success());
                args(&["rotate", "--dry-run", "--repo", &repo.display().to_string()])
            },
            1,
            "prdo",
        ),
        // Hostile insiders (SECURITY.md): a template that multiplies one item, a value echoed by a type error,
        // repository files that point outside the repository or are not files at all.
        case(
            "a template that multiplies a 64 KiB item 8,192 times",
            unseal(&inputs.template_bomb(&cert)),
            1,
            "exceeds 1048576 bytes",
        ),
        case(
            "a JSON Secret whose stringData is a string",
            seal(&inputs.file("string-data.json", format!("{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"a\",\"namespace\":\"b\"}},\"stringData\":\"password={CANARY}\"}}"))),
            1,
            "invalid type: string, expected",
        ),
        case(
            "a .sealant.yaml linked to a file outside the repository (lint)",
            args(&["lint", &inputs.linked_config_repo("repo-linked-lint").display().to_string()]),
            1,
            "symbolic link",
        ),
        case(
            "a .sealant.yaml linked to a file outside the repository (rotate)",
            args(&["rotate", "--dry-run", "--repo", &inputs.linked_config_repo("repo-linked-rotate").display().to_string()]),
            1,
            "symbolic link",
        ),
        case(
            "a certificate that is /dev/zero and a FIFO as current",
            {
                let repo = inputs.dir.join("repo-zero");
                std::fs::create_dir_all(repo.join("keys/prod")).unwrap();
                std::os::unix::fs::symlink("/dev/zero", repo.join("keys/prod/z.crt")).unwrap();
                assert!(Command::new("mkfifo").arg(repo.join("keys/prod/current")).status().unwrap().success());
                args(&["seal", "--cluster", "prod", "--keys-dir", &repo.join("keys").display().to_string(), "-f", &inputs.secret("ok3.yaml", "{name: a, namespace: b}", &value)])
            },
            1,
            "no current key",
        ),
        case(
            "-w into a directory linked out of the repository",
            {
                let repo = inputs.dir.join("repo-linked-dir");
                std::fs::create_dir_all(repo.join(".git")).unwrap();
                std::fs::create_dir_all(inputs.dir.join("elsewhere")).unwrap();
                std::os::unix::fs::symlink(inputs.dir.join("elsewhere"), repo.join("overlays")).unwrap();
                let mut a = seal(&inputs.secret("ok4.yaml", "{name: a, namespace: b}", &value));
                a.extend(["-w".to_string(), repo.join("overlays/db.yaml").display().to_string()]);
                a
            },
            1,
            "outside the repository",
        ),
        case(
            "keys fetch into a committed keys/<cluster> that links out of the repository",
            {
                let repo = inputs.dir.join("repo-linked-keys");
                std::fs::create_dir_all(repo.join(".git")).unwrap();
                std::fs::create_dir_all(repo.join("keys")).unwrap();
                std::fs::create_dir_all(inputs.dir.join("keys-elsewhere")).unwrap();
                std::os::unix::fs::symlink(inputs.dir.join("keys-elsewhere"), repo.join("keys/prod")).unwrap();
                args(&["keys", "fetch", "--cluster", "prod", "--cert", &cert, "--repo", &repo.display().to_string()])
            },
            1,
            "outside the repository",
        ),
        case(
            "a cluster name with a newline",
            args(&["keys", "new", "--out", &inputs.dir.join("nl").display().to_string(), "--controller-namespace", "kube-system\nevil: true"]),
            2,
            "lowercase letters",
        ),
        // Usage.
        case("an unknown scope", args(&["seal", "--cert", &cert, "--scope", "galaxy-wide"]), 2, "galaxy-wide"),
    ];
    // Failing with -w must leave no file behind.
    let mut with_output = seal(&bad("duplicate-key.yaml"));
    with_output.extend(["-w".to_string(), written_arg]);
    cases.push(Case {
        name: "a failed seal with -w",
        args: with_output,
        code: 1,
        says: "duplicate",
        output: Some(written),
    });
    cases
}

#[test]
fn every_hostile_input_gets_a_clear_error_no_panic_no_plaintext_and_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = Inputs {
        dir: dir.path().to_path_buf(),
    };
    let cases = catalogue(&inputs);
    assert!(cases.len() >= 56, "the catalogue has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -v {MEMORY_LIMIT_KIB}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_sealant"))
            .args(&case.args)
            .current_dir(dir.path())
            .env_remove("SEALANT_CERT")
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut problems = Vec::new();
        if out.status.code() != Some(case.code) {
            problems.push(format!("exit {:?}, want {}", out.status.code(), case.code));
        }
        if stderr.contains("panicked") || stderr.contains("memory allocation") {
            problems.push("panicked or ran out of memory".to_string());
        }
        if stdout.contains(CANARY) || stderr.contains(CANARY) {
            problems.push("printed a value of the input".to_string());
        }
        if !stderr.starts_with("error: ") || !stderr.contains(case.says) {
            problems.push(format!("error does not say {:?}", case.says));
        }
        // `verify` reports each object on stdout by design; everything else prints nothing there on failure.
        let reports = case.args[0] == "verify";
        if case.code == 1 && !reports && !stdout.is_empty() {
            problems.push("wrote to stdout on failure".to_string());
        }
        if reports && !stdout.contains("FAILED") {
            problems.push("verify did not report the object as FAILED".to_string());
        }
        if case.output.as_ref().is_some_and(|p| p.exists()) {
            problems.push("left an output file".to_string());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    stderr: {}",
                case.name,
                problems.join("; "),
                stderr
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Nothing the runs wrote holds a value either (no plaintext temp files left behind).
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        let name = entry.file_name().unwrap().to_string_lossy();
        let planted = name.ends_with(".yaml") || name.ends_with(".json");
        assert!(
            planted || !String::from_utf8_lossy(&bytes).contains(CANARY),
            "{} holds a value",
            entry.display()
        );
    }
}

/// Every regular file under `dir` (the catalogue plants symbolic links to /dev/zero and FIFOs: not followed).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            out.extend(walk(&entry.path()));
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    out
}
