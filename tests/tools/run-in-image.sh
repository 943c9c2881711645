#!/usr/bin/env bash
# Runs a program of an unpacked image root filesystem the way a kubelet runs a pod's container, without one:
# in a private mount namespace, the root filesystem mounted read-only, an emptyDir (tmpfs) at /tmp, the
# ServiceAccount's token, CA and namespace at the in-cluster path (a tmpfs at /run; /var/run links to it), only
# the given environment, as the given numeric user. Nothing on the host changes.
#
#   run-in-image.sh ROOTFS UID:GID TOKEN_FILE CA_FILE NAMESPACE [NAME=VALUE...] -- PROGRAM [ARGS...]
set -euo pipefail
rootfs=$1 user=$2 token=$3 ca=$4 namespace=$5
shift 5
exec unshare --mount --propagation private bash -c '
  set -euo pipefail
  rootfs=$1 user=$2 token=$3 ca=$4 namespace=$5
  shift 5
  env=()
  while [[ "$1" != "--" ]]; do env+=("$1"); shift; done
  shift
  mount --bind "$rootfs" "$rootfs"
  mount -o remount,bind,ro "$rootfs"
  mount -t tmpfs -o mode=1777 tmpfs "$rootfs/tmp"
  mount -t tmpfs -o mode=755 tmpfs "$rootfs/run"
  dir="$rootfs/run/secrets/kubernetes.io/serviceaccount"
  mkdir -p "$dir"
  cp "$token" "$dir/token" && cp "$ca" "$dir/ca.crt" && printf %s "$namespace" > "$dir/namespace"
  exec env -i "${env[@]}" /usr/sbin/chroot --userspec="$user" "$rootfs" "$@"
' run-in-image "$rootfs" "$user" "$token" "$ca" "$namespace" "$@"
