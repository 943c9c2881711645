#!/usr/bin/env bash
# Runs the upstream controller against a test kube-apiserver. It only knows in-cluster configuration (no
# --kubeconfig), so this gives it one in a private mount namespace: a tmpfs over /run holding the ServiceAccount
# token, CA and namespace at the fixed in-cluster path. Nothing on the host changes.
#
#   run-controller.sh BINARY TOKEN_FILE CA_FILE NAMESPACE HOST PORT [controller flags...]
set -euo pipefail
binary=$1 token=$2 ca=$3 namespace=$4 host=$5 port=$6
shift 6
exec unshare --mount --propagation private bash -c '
  set -euo pipefail
  binary=$1 token=$2 ca=$3 namespace=$4 host=$5 port=$6
  shift 6
  staged=$(mktemp -d)
  cp "$token" "$staged/token"; cp "$ca" "$staged/ca.crt"; printf %s "$namespace" > "$staged/namespace"
  mount -t tmpfs -o mode=755 tmpfs /run
  dir=/run/secrets/kubernetes.io/serviceaccount
  mkdir -p "$dir" && cp "$staged"/* "$dir"/ && rm -rf "$staged"
  export KUBERNETES_SERVICE_HOST=$host KUBERNETES_SERVICE_PORT=$port POD_NAMESPACE=$namespace
  exec "$binary" "$@"
' run-controller "$binary" "$token" "$ca" "$namespace" "$host" "$port" "$@"
