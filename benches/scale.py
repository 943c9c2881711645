"""`make bench-scale` (benches/scale.sh): builds one mixed GitOps tree per size, times `cat`, `git status`,
`sealant rotate --dry-run` and `sealant lint` on it (median of three warm runs, peak RSS from wait4), and writes
target/bench-scale/scale.tsv and scale.svg (time per file and peak memory against size)."""

import json
import os
import random
import re
import subprocess
import sys
import time

BIN, TMP, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
SIZES = [int(s) for s in sys.argv[4:]]
NOW = "2026-11-23T00:00:00Z"
DIRS = 40


def run(cmd, cwd):
    """Runs cmd (argv) in cwd with output discarded; returns (seconds, peak RSS in MiB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def median_of_3(cmd, cwd):
    runs = sorted(run(cmd, cwd) for _ in range(3))
    return runs[1][0], max(r[1] for r in runs)


def secret_stream(first, count, key):
    """Secrets to seal, one document each; a third carry a generator, as rotation meets them."""
    if count == 0:
        return []
    docs = []
    for i in range(first, first + count):
        gen = '\n  annotations:\n    sealant.dev/generate.password: "alnum:40"' if i % 3 == 0 else ""
        docs.append(
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app{i}-db-credentials-prod\n"
            f"  namespace: team{i % DIRS}{gen}\nstringData:\n  password: value-{i}\n"
        )
    path = os.path.join(TMP, f"secrets-{key}.yaml")
    with open(path, "w") as f:
        f.write("---\n" + "---\n".join(docs))
    sealed = subprocess.run(
        [BIN, "seal", "--cert", os.path.join(TMP, key, "tls.crt"), "-f", path, "-o", "yaml"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [d for d in sealed.split("---\n") if d.strip()]


def other_manifest(i):
    kind = i % 3
    if kind == 0:
        return (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: team{i % DIRS}\n"
            f"  labels:\n    app: app{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app{i}\n"
            f"  template:\n    metadata:\n      labels:\n        app: app{i}\n    spec:\n      containers:\n"
            f"        - name: app\n          image: registry.example.invalid/app{i}:1.{i % 7}\n          env:\n"
            f"            - name: LOG_LEVEL\n              value: info\n            - name: DB_PASSWORD\n"
            f"              valueFrom:\n                secretKeyRef:\n                  name: app{i}-db-credentials-prod\n"
            f"                  key: password\n"
        )
    if kind == 1:
        return (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app{i}-config\n  namespace: team{i % DIRS}\n"
            f"data:\n  LOG_LEVEL: info\n  FEATURE_FLAGS: \"a,b,c\"\n  TIMEOUT: \"30s\"\n"
        )
    return (
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: app{i}\n  namespace: team{i % DIRS}\nspec:\n"
        f"  selector:\n    app: app{i}\n  ports:\n    - port: 80\n      targetPort: 8080\n"
    )


def build_tree(n):
    root = os.path.join(TMP, f"tree-{n}")
    os.makedirs(root, exist_ok=True)
    rng = random.Random(n)
    half = n // 2
    sealed = secret_stream(0, half // 2, "k1") + secret_stream(half // 2, half - half // 2, "k2")
    for i, doc in enumerate(sealed):
        days = rng.randrange(0, 180)
        doc = re.sub(
            r'sealant.dev/sealed-at: "[^"]*"',
            f'sealant.dev/sealed-at: "2026-{1 + days // 30:02d}-{1 + days % 28:02d}T00:00:00Z"',
            doc,
        )
        path = os.path.join(root, f"team{i % DIRS}", f"app{i}-sealed-secret.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(doc)
    for i in range(n - half):
        path = os.path.join(root, f"team{i % DIRS}", f"app{i}-{('deployment', 'config', 'service')[i % 3]}.yaml")
        with open(path, "w") as f:
            f.write(other_manifest(i))
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=root, check=True)
    for key in ("k1", "k2"):
        subprocess.run(
            [BIN, "keys", "fetch", "--cluster", "prod", "--cert", os.path.join(TMP, key, "tls.crt")],
            cwd=root,
            check=True,
            capture_output=True,
        )
    subprocess.run(git + ["add", "-A"], cwd=root, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "tree"], cwd=root, check=True)
    return root, half


def measure(n):
    t0 = time.perf_counter()
    root, sealed = build_tree(n)
    print(f"  {n} files generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    cat = ["sh", "-c", "find . -path ./.git -prune -o -type f -exec cat {} + > /dev/null"]
    run(cat, root)  # warm the page cache
    run(["git", "status"], root)
    rotate = [BIN, "rotate", "--dry-run", "-o", "json", "--now", NOW]
    lint = [BIN, "lint", ".", "-o", "json"]
    # What the runs did, checked before they are timed: a run that read nothing would be fast.
    plan = json.loads(subprocess.run(rotate, cwd=root, capture_output=True, text=True).stdout)
    found = plan["sealed_secrets"]
    if found != sealed:
        sys.exit(f"rotate --dry-run saw {found} SealedSecrets of {sealed} in the {n}-file tree")
    report = json.loads(subprocess.run(lint, cwd=root, capture_output=True, text=True).stdout)
    if report["files"] < n:
        sys.exit(f"lint checked {report['files']} files of {n}")
    row = {"files": n}
    row["cat"], _ = median_of_3(cat, root)
    row["git_status"], _ = median_of_3(["git", "status"], root)
    row["rotate"], row["rotate_rss"] = median_of_3(rotate, root)
    row["lint"], row["lint_rss"] = median_of_3(lint, root)
    # BENCH_KEEP=1 leaves the trees in place (for perf or heaptrack).
    if os.environ.get("BENCH_KEEP"):
        print(f"  tree kept: {root}", file=sys.stderr)
    else:
        subprocess.run(["rm", "-rf", root], check=True)
    return row


def svg(rows, path):
    """Two panels: microseconds per file, and peak RSS, against the number of files (log scale)."""
    import math

    w, h, pad = 360, 260, 50
    xs = [math.log10(r["files"]) for r in rows]
    x_lo, x_hi = min(xs) - 0.2, max(xs) + 0.2

    def panel(x0, title, series, unit, legend_right):
        top = max(max(r[k] for r in rows) * f for k, f, _, _ in series) * 1.15 or 1
        parts = [
            f'<g transform="translate({x0},0)">',
            f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="13">{title}</text>',
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - 10}" y2="{h - pad}" stroke="#333"/>',
            f'<line x1="{pad}" y1="30" x2="{pad}" y2="{h - pad}" stroke="#333"/>',
            f'<text x="14" y="{(h - pad + 30) / 2}" font-size="11" transform="rotate(-90 14 {(h - pad + 30) / 2})"'
            f' text-anchor="middle">{unit}</text>',
        ]

        def px(x):
            return pad + (x - x_lo) / (x_hi - x_lo) * (w - 10 - pad)

        def py(y):
            return h - pad - y / top * (h - pad - 30)

        for r in rows:
            x = px(math.log10(r["files"]))
            parts.append(f'<text x="{x}" y="{h - pad + 16}" text-anchor="middle" font-size="11">{r["files"]:,}</text>')
        for tick in range(5):
            y = top * tick / 4
            parts.append(f'<text x="{pad - 4}" y="{py(y) + 4}" text-anchor="end" font-size="10">{y:.3g}</text>')
        for i, (key, factor, colour, label) in enumerate(series):
            pts = " ".join(f"{px(math.log10(r['files'])):.1f},{py(r[key] * factor):.1f}" for r in rows)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for r in rows:
                parts.append(
                    f'<circle cx="{px(math.log10(r["files"])):.1f}" cy="{py(r[key] * factor):.1f}" r="3" fill="{colour}"/>'
                )
            x, anchor = (w - 14, "end") if legend_right else (pad + 8, "start")
            parts.append(
                f'<text x="{x}" y="{44 + 14 * i}" text-anchor="{anchor}" font-size="11" fill="{colour}">{label}</text>'
            )
        parts.append(f'<text x="{w / 2 + 20}" y="{h - 12}" text-anchor="middle" font-size="11">files (log scale)</text>')
        parts.append("</g>")
        return "\n".join(parts)

    per_file = [
        ("rotate_us", 1, "#c0392b", "rotate --dry-run"),
        ("lint_us", 1, "#2471a3", "lint"),
        ("cat_us", 1, "#7f8c8d", "cat"),
        ("git_status_us", 1, "#27ae60", "git status"),
    ]
    memory = [("rotate_rss", 1, "#c0392b", "rotate --dry-run"), ("lint_rss", 1, "#2471a3", "lint")]
    body = panel(0, "time per file", per_file, "µs per file", True) + panel(w + 20, "peak memory", memory, "MiB", False)
    with open(path, "w") as f:
        f.write(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w + 20}" height="{h}" font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
        )


# The same repository with no manifest (keys/ and one commit only): what a run costs whatever the size (process
# start, the keys, the git index and history), so the cost per file can be told apart from it.
fixed = measure(0)
print(
    f"  empty tree (keys/ only): rotate --dry-run {fixed['rotate'] * 1e3:.1f} ms, lint {fixed['lint'] * 1e3:.1f} ms",
    file=sys.stderr,
)
rows = []
for n in SIZES:
    row = measure(n)
    for key in ("cat", "git_status", "rotate", "lint"):
        row[f"{key}_us"] = row[key] / n * 1e6
        row[f"{key}_marginal_us"] = (row[key] - fixed[key]) / n * 1e6
    rows.append(row)

cols = ["files", "cat", "git_status", "rotate", "rotate_rss", "lint", "lint_rss"]
with open(os.path.join(OUT, "scale.tsv"), "w") as f:
    f.write("\t".join(cols) + "\n")
    for r in rows:
        f.write("\t".join(f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + "\n")
svg(rows, os.path.join(OUT, "scale.svg"))

print("| files | cat | git status | rotate --dry-run | rotate / cat | rotate / git status | rotate µs/file | rotate peak RSS "
      "| lint | lint / cat | lint µs/file | lint peak RSS |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    print(
        f"| {r['files']:,} | {r['cat']:.3f} s | {r['git_status']:.3f} s | {r['rotate']:.3f} s | {r['rotate'] / r['cat']:.2f} "
        f"| {r['rotate'] / r['git_status']:.2f} | {r['rotate_us']:.1f} | {r['rotate_rss']:.0f} MiB | {r['lint']:.3f} s "
        f"| {r['lint'] / r['cat']:.2f} | {r['lint_us']:.1f} | {r['lint_rss']:.0f} MiB |"
    )
print(
    f"empty tree (keys/ and one commit, no manifest): rotate --dry-run {fixed['rotate']:.3f} s, "
    f"lint {fixed['lint']:.3f} s, cat {fixed['cat']:.3f} s"
)
if len(rows) > 1:
    mid = rows[len(rows) // 2]
    for tool in ("rotate", "lint"):
        for what, key in (("time per file", f"{tool}_us"), ("time per file above the empty tree", f"{tool}_marginal_us")):
            if mid[key] <= 0:  # noise larger than the run itself: no ratio to give
                print(f"{tool}: {what}: the {mid['files']:,}-file run was not slower than the empty tree")
                continue
            spread = [r[key] / mid[key] for r in rows]
            flat = all(0.8 <= s <= 1.2 for s in spread)
            print(
                f"{tool}: {what} ({', '.join(f'{r[key]:.1f}' for r in rows)} µs) relative to {mid['files']:,} files: "
                + ", ".join(f"{s:.2f}" for s in spread)
                + (" (flat within ±20 %)" if flat else " (NOT flat within ±20 %)")
            )
print(f"written: {OUT}/scale.tsv, {OUT}/scale.svg")
