#!/usr/bin/env bash
# Builds the test bed's parts from Go modules (no downloads of prebuilt binaries):
#   control-plane: kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes at
#     K8S_VERSION), etcd (go.etcd.io/etcd/server/v3 at ETCD_VERSION), kwok (sigs.k8s.io/kwok at
#     KWOK_VERSION), into $KUBEGATE_TESTBED_CACHE (default
#     ~/.cache/kubegate/testbed/<k8s>-<etcd>-<kwok>): bin/{kube-apiserver,kube-controller-manager,
#     kube-scheduler,etcd,kwok} and kwok-stages/*.yaml.
#   hydra: the OpenID provider of the sign-in tests (github.com/ory/hydra/v2 at HYDRA_VERSION), into
#     $KUBEGATE_HYDRA_CACHE (default ~/.cache/kubegate/hydra/<version>): bin/hydra.
#   helm: Helm, for the chart's tests (helm.sh/helm/v4 at HELM_VERSION), into $KUBEGATE_HELM_CACHE
#     (default ~/.cache/kubegate/helm/<version>): bin/helm.
#   prometheus: the Prometheus server that scrapes /metrics in the metrics test
#     (github.com/prometheus/prometheus at PROMETHEUS_VERSION, service discovery left out), into
#     $KUBEGATE_PROMETHEUS_CACHE (default ~/.cache/kubegate/prometheus/<version>): bin/prometheus.
# Usage: build.sh [control-plane|hydra|helm|prometheus]...   (no argument: all four)
#        build.sh --print-dir     the control plane's cache folder
#        build.sh --print-hydra   the hydra binary's path
#        build.sh --print-helm    the helm binary's path
#        build.sh --print-prometheus   the prometheus binary's path
# Idempotent: each part's finished build leaves its own .complete marker and later runs skip it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kubegate
cache=${KUBEGATE_TESTBED_CACHE:-$cache_root/testbed/${K8S_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}}
hydra_cache=${KUBEGATE_HYDRA_CACHE:-$cache_root/hydra/${HYDRA_VERSION}}
helm_cache=${KUBEGATE_HELM_CACHE:-$cache_root/helm/${HELM_VERSION}}
prometheus_cache=${KUBEGATE_PROMETHEUS_CACHE:-$cache_root/prometheus/${PROMETHEUS_VERSION}}
case "${1:-}" in
  --print-dir) echo "$cache"; exit 0 ;;
  --print-hydra) echo "$hydra_cache/bin/hydra"; exit 0 ;;
  --print-helm) echo "$helm_cache/bin/helm"; exit 0 ;;
  --print-prometheus) echo "$prometheus_cache/bin/prometheus"; exit 0 ;;
esac
targets=("$@")
((${#targets[@]})) || targets=(control-plane hydra helm prometheus)
for t in "${targets[@]}"; do
  case "$t" in
    control-plane | hydra | helm | prometheus) ;;
    *) echo "testbed: unknown part '$t' (expected control-plane, hydra, helm or prometheus)" >&2; exit 2 ;;
  esac
done

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

# --- Ory Hydra (OpenID provider) --------------------------------------------------------------
# `go install github.com/ory/hydra/v2@…` is refused (hydra's go.mod has replace directives), so a
# wrapper module requires it as a tool and repeats the replace that matters: pop/v6 is Ory's fork.
# The sqlite tag is what makes DSN=memory work (an in-memory SQLite store); cgo compiles SQLite.
build_hydra() {
  local mod="$hydra_cache/src"
  mkdir -p "$mod" "$hydra_cache/bin"
  cat > "$mod/go.mod" <<GOMOD
module kubegate.dev/testbed/hydra

go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')

replace github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 $HYDRA_POP_VERSION
GOMOD
  log "resolving modules for hydra $HYDRA_VERSION"
  (cd "$mod" && go get -tool "github.com/ory/hydra/v2@$HYDRA_VERSION" && go mod tidy)
  log "building hydra"
  (cd "$mod" && CGO_ENABLED=1 go build -trimpath -tags sqlite,sqlite_omit_load_extension \
    -ldflags "-s -w -X github.com/ory/hydra/v2/driver/config.Version=$HYDRA_VERSION" \
    -o "$hydra_cache/bin/hydra.tmp" github.com/ory/hydra/v2)
  mv "$hydra_cache/bin/hydra.tmp" "$hydra_cache/bin/hydra"
}

# --- Helm (the chart's tests) ----------------------------------------------------------------
# Helm's own module installs as it is (no replace directives); the version is stamped as Helm's
# Makefile does, so that `helm version` names it.
build_helm() {
  mkdir -p "$helm_cache/bin"
  log "building helm $HELM_VERSION"
  GOBIN="$helm_cache/bin.tmp" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  mv "$helm_cache/bin.tmp/helm" "$helm_cache/bin/helm"
  rmdir "$helm_cache/bin.tmp"
}

# --- Prometheus (the metrics test's scraper) ---------------------------------------------------
# Built inside its own module (go.mod and go.sum as released; its go.work names folders the
# module zip lacks, hence GOWORK=off). remove_all_sd leaves out the cloud service discoveries
# (static targets are all the test needs), which spares most of the dependencies; the UI's
# assets are not embedded (no builtinassets tag): the test uses the HTTP API only.
build_prometheus() {
  local dir
  dir=$(go mod download -json "github.com/prometheus/prometheus@$PROMETHEUS_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { echo "testbed: could not download prometheus@$PROMETHEUS_VERSION" >&2; return 1; }
  mkdir -p "$prometheus_cache/bin"
  log "building prometheus $PROMETHEUS_VERSION"
  (cd "$dir" && GOWORK=off go build -trimpath -tags remove_all_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" \
    -o "$prometheus_cache/bin/prometheus.tmp" ./cmd/prometheus)
  mv "$prometheus_cache/bin/prometheus.tmp" "$prometheus_cache/bin/prometheus"
}

# Builds a part once: parallel test files may each ask for it; one builds, the others wait on
# the lock, then find the .complete marker. Usage: build_once NAME CACHE_DIR VERSION_LINE BUILD_FN
build_once() {
  local name=$1 dir=$2 version=$3 fn=$4 part_start
  if [[ -f "$dir/.complete" ]]; then echo "testbed: $name cached in $dir"; return; fi
  need_go
  mkdir -p "$dir"
  exec 9> "$dir/.lock"
  flock 9
  if [[ -f "$dir/.complete" ]]; then echo "testbed: $name cached in $dir"; exec 9>&-; return; fi
  part_start=$(date +%s)
  "$fn"
  echo "$version built_in_seconds=$(( $(date +%s) - part_start ))" > "$dir/.complete"
  log "done: $name in $dir/bin"
  exec 9>&-
}

need_go() { command -v go >/dev/null || { echo "testbed: the Go toolchain is required (go not found on PATH)" >&2; exit 1; }; }

for t in "${targets[@]}"; do
  case "$t" in
    control-plane)
      if [[ -f "$cache/.complete" ]]; then echo "testbed: control plane cached in $cache"; continue; fi
      need_go
      mkdir -p "$cache/bin" "$cache/src"
      [[ -x "$cache/bin/etcd" ]] || build_etcd
      [[ -x "$cache/bin/kwok" && -d "$cache/kwok-stages" ]] || build_kwok
      [[ -x "$cache/bin/kube-apiserver" && -x "$cache/bin/kube-controller-manager" && -x "$cache/bin/kube-scheduler" ]] || build_kube
      echo "K8S_VERSION=$K8S_VERSION ETCD_VERSION=$ETCD_VERSION KWOK_VERSION=$KWOK_VERSION built_in_seconds=$(( $(date +%s) - start ))" > "$cache/.complete"
      log "done: control plane in $cache/bin"
      ;;
    hydra) build_once hydra "$hydra_cache" "HYDRA_VERSION=$HYDRA_VERSION" build_hydra ;;
    helm) build_once helm "$helm_cache" "HELM_VERSION=$HELM_VERSION" build_helm ;;
    prometheus) build_once prometheus "$prometheus_cache" "PROMETHEUS_VERSION=$PROMETHEUS_VERSION" build_prometheus ;;
  esac
done
