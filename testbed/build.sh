#!/usr/bin/env bash
# Builds the test bed's control plane from Go modules (no downloads of prebuilt binaries):
#   kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes at K8S_VERSION),
#   etcd (go.etcd.io/etcd/server/v3 at ETCD_VERSION), kwok (sigs.k8s.io/kwok at KWOK_VERSION).
# Output: $KUBEGATE_TESTBED_CACHE (default ~/.cache/kubegate/testbed/<k8s>-<etcd>-<kwok>) with
#   bin/{kube-apiserver,kube-controller-manager,kube-scheduler,etcd,kwok} and kwok-stages/*.yaml.
# Idempotent: a finished build leaves a .complete marker and later runs return at once.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${KUBEGATE_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegate/testbed/${K8S_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}}
if [[ "${1:-}" == "--print-dir" ]]; then echo "$cache"; exit 0; fi
if [[ -f "$cache/.complete" ]]; then echo "testbed: binaries cached in $cache"; exit 0; fi

command -v go >/dev/null || { echo "testbed: the Go toolchain is required (go not found on PATH)" >&2; exit 1; }
mkdir -p "$cache/bin" "$cache/src"
export GOFLAGS=-buildvcs=false
start=$(date +%s)

log() { echo "testbed: $* ($(( $(date +%s) - start ))s)"; }

# --- Kubernetes components ---------------------------------------------------------------
build_kube() {
  local mod="$cache/src/kube" minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local staging_version="v0.${K8S_VERSION#v1.}"
  mkdir -p "$mod"
  log "downloading k8s.io/kubernetes@$K8S_VERSION"
  local kdir
  kdir=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$kdir" && -f "$kdir/go.mod" ]] || { echo "testbed: could not download k8s.io/kubernetes@$K8S_VERSION" >&2; return 1; }
  {
    echo "module kubegate.dev/testbed/kube"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # kubernetes' own go.mod points every staging module at ./staging; pin each to its release.
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$kdir/go.mod" \
      | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } > "$mod/go.mod"
  cat > "$mod/tools.go" <<GO
//go:build tools

// Package tools pins the Kubernetes commands this module builds, so that go mod tidy keeps
// every module they need.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  log "resolving modules for Kubernetes $K8S_VERSION"
  (cd "$mod" && go mod tidy)
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    log "building $cmd"
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$cache/bin/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$cache/bin/$cmd.tmp" "$cache/bin/$cmd"
  done
}

# --- etcd ------------------------------------------------------------------------------------
build_etcd() {
  local mod="$cache/src/etcd"
  mkdir -p "$mod"
  cat > "$mod/go.mod" <<GOMOD
module kubegate.dev/testbed/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat > "$mod/main.go" <<GO
// Command etcd runs etcd's own server entry point; built here so that no prebuilt binary is fetched.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  log "resolving modules for etcd $ETCD_VERSION"
  (cd "$mod" && go mod tidy)
  log "building etcd"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$cache/bin/etcd.tmp" .)
  mv "$cache/bin/etcd.tmp" "$cache/bin/etcd"
}

# --- kwok ------------------------------------------------------------------------------------
build_kwok() {
  log "building kwok $KWOK_VERSION"
  GOBIN="$cache/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local kdir
  kdir=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION
  mkdir -p "$cache/kwok-stages"
  # kwok exits with "no stages found" without these: the standard fast node and pod lifecycles.
  for f in "$kdir"/kustomize/stage/node/fast/*.yaml "$kdir"/kustomize/stage/pod/fast/*.yaml; do
    case "$(basename "$f")" in kustomization.yaml) continue ;; esac
    cp "$f" "$cache/kwok-stages/$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f")"
  done
  chmod -R u+w "$cache/kwok-stages"
}

[[ -x "$cache/bin/etcd" ]] || build_etcd
[[ -x "$cache/bin/kwok" && -d "$cache/kwok-stages" ]] || build_kwok
[[ -x "$cache/bin/kube-apiserver" && -x "$cache/bin/kube-controller-manager" && -x "$cache/bin/kube-scheduler" ]] || build_kube

echo "K8S_VERSION=$K8S_VERSION ETCD_VERSION=$ETCD_VERSION KWOK_VERSION=$KWOK_VERSION built_in_seconds=$(( $(date +%s) - start ))" > "$cache/.complete"
log "done: binaries in $cache/bin"
