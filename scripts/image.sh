#!/usr/bin/env bash
# `make image`: the sealant container image, built without a container engine.
#
#   scripts/image.sh [OUT]        (default OUT: target/image)
#
# writes:
#   OUT/oci/            the image as an OCI image layout (skopeo, crane, podman and containerd read it)
#   OUT/sealant.tar     the same image as an archive `docker load` / `podman load` accept
#   OUT/digest          its manifest digest (sha256:…)
#   OUT/sbom.cdx.json   CycloneDX SBOM: the Debian packages of the root filesystem and every crate of the binary
#   OUT/packages.txt    the Debian packages and versions the root filesystem was assembled from
#
# The root filesystem is distroless in spirit: glibc, libgcc and the CA bundle, unpacked from Debian's packages
# (`dpkg-deb -x`, no maintainer script runs), a `nonroot` user 65532, and the stripped release binary. No shell,
# no package manager, no coreutils. The layer is written by Python's tarfile with sorted entries, fixed owners
# and one timestamp (the commit's), and crane (go-containerregistry, built from Go modules) turns it into an
# image: two builds of one commit with the same packages give the same digest.
#
# Why crane: it is one static Go binary built like the other test tools, it writes both OCI layouts and
# docker-loadable archives, and sets config and annotations without a daemon. umoci needs a second tool
# (skopeo) for the docker archive, and both come from Debian at versions a few years old.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-target/image}")
CARGO=${CARGO:-cargo}
# The Debian packages of the root filesystem (their dependencies are these same packages).
packages=(libc6 libgcc-s1 gcc-12-base ca-certificates base-files)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=${SEALANT_IMAGE_SOURCE:-https://github.com/sealant-dev/sealant}
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

crane="$(bash tests/tools/crane.sh)/crane"
# SEALANT_PROFILE (CI's one profile) or the release profile.
$CARGO build --profile "${SEALANT_PROFILE:-release}" --locked --quiet --bin sealant
binary=target/${SEALANT_PROFILE:-release}/sealant

work=$(mktemp -d "${TMPDIR:-/tmp}/sealant-image.XXXXXX")
registry_pid=
cleanup() {
  [[ -n "$registry_pid" ]] && kill "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The Debian packages, cached by file name (which carries the version).
debs="${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}/debs"
mkdir -p "$debs"
if ! (cd "$debs" && apt-get download "${packages[@]}" >/dev/null 2>&1); then
  # A machine whose package lists were never fetched: fetch them once (needs root, as installing would).
  apt-get update -qq >/dev/null
  (cd "$debs" && apt-get download "${packages[@]}" >/dev/null)
fi
root="$work/root"
mkdir -p "$root"
for p in "${packages[@]}"; do
  v=$(apt-cache policy "$p" | sed -n 's/^  Candidate: //p')
  deb=$(ls "$debs/${p}_${v//:/%3a}_"*.deb)
  dpkg-deb -x "$deb" "$work/pkg-$p"
  echo "$p $v" >> "$work/packages.unsorted"
  # The package's control record, where scanners (Trivy, Syft, Grype) look for it in distroless images.
  mkdir -p "$root/var/lib/dpkg/status.d"
  dpkg-deb -f "$deb" > "$root/var/lib/dpkg/status.d/$p"
done

# 2. The root filesystem: only what the binary and TLS need.
for p in libc6 libgcc-s1; do
  cp -a "$work/pkg-$p/." "$root/"
done
# The package copyright files stay (the licences of what is shipped; libgcc-s1's doc directory is a link to
# gcc-12-base's); manuals, changelogs and locales go.
for p in "${packages[@]}"; do
  cp -a "$work/pkg-$p/usr/share/doc" "$root/usr/share/"
done
find "$root/usr/share/doc" -type f ! -name copyright -delete
rm -rf "$root/usr/share/lintian" "$root/usr/share/locale" "$root/usr/lib/x86_64-linux-gnu/gconv" \
  "$root/lib/x86_64-linux-gnu/gconv"
# The CA bundle, as update-ca-certificates would build it (it is a shell script and cannot run here).
mkdir -p "$root/etc/ssl/certs"
find "$work/pkg-ca-certificates/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort \
  | xargs cat > "$root/etc/ssl/certs/ca-certificates.crt"
cp "$work/pkg-base-files/usr/lib/os-release" "$root/etc/os-release"
cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
echo "hosts: files dns" > "$root/etc/nsswitch.conf"
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/run" "$root/home/nonroot" "$root/root" "$root/var"
ln -s /run "$root/var/run"
install -m 0755 "$binary" "$root/usr/local/bin/sealant"
LC_ALL=C sort "$work/packages.unsorted" > "$work/packages.txt"

# 3. One layer, byte-for-byte reproducible.
python3 - "$root" "$work/layer.tar" "$epoch" <<'PY'
import os, stat, sys, tarfile
root, dest, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Why fixed owners: the image must not depend on who built it. 65532 owns its home and nothing else.
owners = {"home/nonroot": 65532}
modes = {"tmp": 0o1777, "home/nonroot": 0o700, "root": 0o700}
entries = []
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        entries.append(os.path.relpath(os.path.join(dirpath, name), root))
with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
    for rel in sorted(entries):
        path = os.path.join(root, rel)
        info = tar.gettarinfo(path, arcname=rel)
        info.uid = info.gid = owners.get(rel, 0)
        info.uname = info.gname = ""
        info.mtime = epoch
        if info.isdir() or rel in modes:
            info.mode = modes.get(rel, 0o755)
        elif info.isreg():
            info.mode = 0o755 if info.mode & stat.S_IXUSR else 0o644
        if info.isreg():
            with open(path, "rb") as f:
                tar.addfile(info, f)
        else:
            tar.addfile(info)
        # Bitnami's chart runs `command: [controller]`: the same binary under that name (a hard link, one copy).
        if rel == "usr/local/bin/sealant":
            link = tarfile.TarInfo("usr/local/bin/controller")
            link.type, link.linkname, link.mtime, link.mode = tarfile.LNKTYPE, rel, epoch, 0o755
            tar.addfile(link)
PY

# 4. The image, through a registry that lives on loopback for the length of this script (crane edits images
#    held in a registry).
"$crane" registry serve --address 127.0.0.1:0 2> "$work/registry.log" &
registry_pid=$!
for _ in $(seq 100); do
  port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/registry.log")
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/registry.log" >&2; echo "image: the loopback registry did not start" >&2; exit 1; }
ref="127.0.0.1:$port/sealant:$version"
# Why each step names the image by the digest the previous one printed: the registry takes pushes from any local
# process, so a tag could be moved between two steps; a digest cannot.
base=$("$crane" append --oci-empty-base -f "$work/layer.tar" -t "$ref" 2>/dev/null)
annotations=(
  -a "org.opencontainers.image.title=sealant"
  -a "org.opencontainers.image.description=Sealed Secrets for Git: CLI, controller and rotation job"
  -a "org.opencontainers.image.source=$source_url"
  -a "org.opencontainers.image.version=$version"
  -a "org.opencontainers.image.revision=$revision"
  -a "org.opencontainers.image.created=$created"
  -a "org.opencontainers.image.licenses=Apache-2.0"
)
labels=()
for a in "${annotations[@]}"; do [[ "$a" == -a ]] || labels+=(-l "$a"); done
# Why a numeric user: `runAsNonRoot` can only be verified against a number. 65532 is distroless's `nonroot`.
built=$("$crane" mutate "$base" -t "$ref" --set-platform linux/amd64 --user 65532:65532 --workdir /home/nonroot \
  --entrypoint /usr/local/bin/sealant --cmd controller \
  -e PATH=/usr/local/bin -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  "${annotations[@]}" "${labels[@]}" 2>/dev/null)
digest=${built##*@}
[[ "$base" == *@sha256:* && "$digest" == sha256:* ]] || { echo "image: crane printed no digest" >&2; exit 1; }

# 5. The outputs, replaced whole.
mkdir -p "$work/out"
"$crane" pull --format oci "$built" "$work/out/oci" 2>/dev/null
# The archive carries the tag `docker load` gives the image; the tag must still name what was built.
"$crane" pull --format tarball "$ref" "$work/out/sealant.tar" 2>/dev/null
[[ "$("$crane" digest "$ref")" == "$digest" ]] || { echo "image: $ref was moved during the build" >&2; exit 1; }
echo "$digest" > "$work/out/digest"
cp "$work/packages.txt" "$work/out/packages.txt"
bash scripts/sbom.sh >/dev/null
python3 - target/sbom/sealant.cdx.json "$work/packages.txt" "$work/out/sbom.cdx.json" "$digest" "$version" <<'PY'
import json, sys
bom_path, packages, dest, digest, version = sys.argv[1:]
bom = json.load(open(bom_path))
bom["metadata"]["component"] = {
    "type": "container", "bom-ref": f"sealant-image@{digest}", "name": "sealant", "version": version,
    "purl": f"pkg:oci/sealant@{digest.replace(':', '%3A')}?arch=amd64",
}
for line in open(packages):
    name, ver = line.split()
    bom.setdefault("components", []).append({
        "type": "library", "bom-ref": f"deb:{name}@{ver}", "name": name, "version": ver,
        "purl": f"pkg:deb/debian/{name}@{ver}?arch=amd64&distro=debian-12",
    })
json.dump(bom, open(dest, "w"), indent=2, sort_keys=True)
PY
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$work/out" "$out"
size=$(du -b "$out/sealant.tar" | cut -f1)
echo "image: $out ($digest, $((size / 1024 / 1024)) MiB archive, binary $(($(stat -c %s "$binary") / 1024 / 1024)) MiB)"
