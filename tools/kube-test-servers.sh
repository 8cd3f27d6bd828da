#!/usr/bin/env bash
# Builds the real kube-apiserver, kube-controller-manager and etcd that the Kubernetes-mode tests run, from the Go
# module proxy, into a cache outside the work tree (so every clone and CI run on one machine shares one build).
# Run with --help for the commands. Progress goes to stderr; `path` prints only the bin dir on stdout.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
modules="$here/kube-test-servers"

usage() {
  cat <<EOF
Usage: tools/kube-test-servers.sh COMMAND [--force]

Builds the real Kubernetes API server, controller manager and etcd for Shardgate's Kubernetes-mode tests from the
Go module proxy, with the wrapper modules in tools/kube-test-servers/ (their go.mod and go.sum pin every version).

Commands:
  build [--force]  build the binaries into the cache unless they are there already (--force: build them again)
  path             print the bin dir, building first if needed (progress on stderr, the path alone on stdout)
  clean            remove this version's binaries and any build left behind by a killed run
  --help           this text

Cache: \${XDG_CACHE_HOME:-\$HOME/.cache}/shardgate/kube-test-servers/<kube version>-etcd-<etcd version>/bin
  (now: $(bin_dir 2>/dev/null || echo '?'))
A build uses a private GOPATH and GOCACHE under the cache (your own Go caches are untouched) and deletes them when
it is done. It needs Go ${go_min} or newer (GO=/path/to/go, default /usr/local/go/bin/go, else go on PATH), the Go
module proxy, and ${min_free_gb} GB of free disk (it peaks at about 5 GB; about 220 MB stay). A cold build takes about
ten minutes of two cores. Two builds at once on one machine take turns (flock); a killed build leaves no binaries
behind, and the next run removes its remains.
EOF
}

# The versions come from the wrapper modules themselves, so the cache key cannot drift from what is built.
require_version() { # module-dir module-path
  awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print ($1 == "require" ? $3 : $2); exit }' "$1/go.mod"
}
kube_version="$(require_version "$modules/kube" k8s.io/kubernetes)"
etcd_version="$(require_version "$modules/etcd" go.etcd.io/etcd/server/v3)"
go_min="1.24"
# A build's folder (Go caches and temporary files) peaks at about 5 GB, measured; the rest is headroom.
min_free_gb="${SHARDGATE_KUBE_BUILD_MIN_FREE_GB:-8}"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/shardgate/kube-test-servers"
key="${kube_version#v}-etcd-${etcd_version#v}"
binaries=(kube-apiserver kube-controller-manager etcd)

bin_dir() { echo "$cache_root/$key/bin"; }

built() {
  local b
  for b in "${binaries[@]}"; do
    [ -x "$(bin_dir)/$b" ] || return 1
  done
}

started_at=$SECONDS
log() {
  local elapsed=$((SECONDS - started_at))
  printf '[kube-test-servers %3dm%02ds] %s\n' $((elapsed / 60)) $((elapsed % 60)) "$*" >&2
}
die() { log "ERROR: $*"; exit 1; }

go_bin() {
  if [ -n "${GO:-}" ]; then
    echo "$GO"
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  elif command -v go >/dev/null 2>&1; then
    command -v go
  else
    return 1
  fi
}

# Removes a build folder; the module cache's files are read-only, hence the chmod.
remove_tree() {
  [ -e "$1" ] || return 0
  chmod -R u+w "$1" 2>/dev/null || true
  rm -rf "$1"
}

# Runs a command in the background and prints a heartbeat every 30 s until it ends; returns its exit status.
with_heartbeat() { # label command...
  local label="$1" pid began=$SECONDS next=30 status=0 stopped=false
  shift
  "$@" &
  pid=$!
  # If this script is stopped, stop its child too (it is not in its own process group).
  trap 'stopped=true; kill "$pid" 2>/dev/null || true' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $((SECONDS - began)) -ge "$next" ]; then
      log "  ... still $label ($((SECONDS - began))s; build folder $(du -sh "$work" 2>/dev/null | cut -f1))"
      next=$((next + 30))
    fi
  done
  wait "$pid" || status=$?
  trap - INT TERM
  if [ "$stopped" = true ]; then
    die "stopped by a signal while $label"
  fi
  return "$status"
}

build() {
  local force="$1"
  if [ "$force" != true ] && built; then
    log "binaries for Kubernetes $kube_version and etcd $etcd_version already built in $(bin_dir)"
    return 0
  fi
  local go
  go="$(go_bin)" || die "no Go found: install Go $go_min or newer (at /usr/local/go/bin/go, or on PATH, or set GO)"
  local go_version
  go_version="$(GOTOOLCHAIN=local "$go" env GOVERSION)" || die "$go does not run"
  if ! printf '%s\n%s\n' "go$go_min" "$go_version" | sort -V -C; then
    die "$go is $go_version; Kubernetes $kube_version needs Go $go_min or newer"
  fi

  mkdir -p "$cache_root"
  exec 9>"$cache_root/.lock"
  if ! flock -n 9; then
    log "another build holds $cache_root/.lock; waiting for it"
    flock 9
  fi
  # With the lock held no other build runs: whatever a killed build left behind can go.
  local stale
  for stale in "$cache_root"/.build-*; do
    [ -e "$stale" ] || continue
    log "removing $stale, left behind by a build that did not finish"
    remove_tree "$stale"
  done
  if [ "$force" != true ] && built; then
    log "another run built them meanwhile: $(bin_dir)"
    return 0
  fi

  local free_gb
  free_gb=$(($(df -Pk "$cache_root" | awk 'NR == 2 { print $4 }') / 1024 / 1024))
  if [ "$free_gb" -lt "$min_free_gb" ]; then
    die "only ${free_gb} GB free under $cache_root; the build needs about ${min_free_gb} GB while it runs" \
      "(its Go caches are deleted at the end). Free some space, or set XDG_CACHE_HOME to a larger disk."
  fi

  work="$(mktemp -d "$cache_root/.build-$key.XXXXXX")"
  trap 'log "build failed or was stopped; removing $work"; remove_tree "$work"' EXIT
  export GOPATH="$work/gopath" GOCACHE="$work/gocache" GOMODCACHE="$work/gopath/pkg/mod"
  export GOTMPDIR="$work/tmp" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  mkdir -p "$work/src" "$work/bin" "$work/tmp"
  # Build copies of the wrapper modules: -mod=mod may touch go.mod/go.sum, and the work tree must stay as it is.
  cp -R "$modules/kube" "$modules/etcd" "$work/src/"

  log "building Kubernetes $kube_version and etcd $etcd_version with $go_version ($(nproc) CPUs) in $work"
  log "step 1/5: downloading the Kubernetes modules"
  cd "$work/src/kube"
  with_heartbeat "downloading the Kubernetes modules" "$go" mod download \
    || die "go mod download failed for Kubernetes $kube_version (is the Go module proxy reachable?)"
  log "step 2/5: downloading the etcd modules"
  cd "$work/src/etcd"
  with_heartbeat "downloading the etcd modules" "$go" mod download \
    || die "go mod download failed for etcd $etcd_version (is the Go module proxy reachable?)"

  # Clients (kubectl, fabric8) read the server's version from these; without them it says v0.0.0-master.
  local minor="${kube_version#v*.}"
  minor="${minor%%.*}"
  local major="${kube_version#v}"
  major="${major%%.*}"
  local version_pkg=k8s.io/component-base/version
  local kube_ldflags="-s -w -X $version_pkg.gitVersion=$kube_version -X $version_pkg.gitMajor=$major"
  kube_ldflags+=" -X $version_pkg.gitMinor=$minor -X $version_pkg.gitTreeState=clean"
  local cmd step=3
  cd "$work/src/kube"
  for cmd in kube-apiserver kube-controller-manager; do
    if [ "$step" = 3 ]; then
      log "step $step/5: go build $cmd (this compiles most of Kubernetes: several minutes)"
    else
      log "step $step/5: go build $cmd (most of it is compiled already)"
    fi
    with_heartbeat "building $cmd" \
      "$go" build -trimpath -ldflags "$kube_ldflags" -o "$work/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd" \
      || die "go build $cmd failed"
    step=$((step + 1))
  done
  log "step 5/5: go build etcd"
  cd "$work/src/etcd"
  with_heartbeat "building etcd" \
    "$go" build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_version" \
      -o "$work/bin/etcd" go.etcd.io/etcd/server/v3 \
    || die "go build etcd failed"

  "$work/bin/kube-apiserver" --version | grep -qx "Kubernetes $kube_version" \
    || die "kube-apiserver --version says '$("$work/bin/kube-apiserver" --version)', not Kubernetes $kube_version"
  "$work/bin/etcd" --version | grep -q "etcd Version: ${etcd_version#v}" \
    || die "etcd --version does not say ${etcd_version#v}: $("$work/bin/etcd" --version)"

  # -mod=mod lets go add what a go.sum lacks; the committed one must already hold everything, or builds on other
  # machines would depend on the checksum database. Say so rather than pass silently.
  local module
  for module in kube etcd; do
    if ! cmp -s "$modules/$module/go.mod" "$work/src/$module/go.mod" \
        || ! cmp -s "$modules/$module/go.sum" "$work/src/$module/go.sum"; then
      log "WARNING: the build changed tools/kube-test-servers/$module/go.mod or go.sum: run go mod tidy there" \
        "and commit the result"
    fi
  done

  # The rename is the only step that makes binaries visible: a build stopped before it leaves nothing half-built.
  cd "$cache_root"
  mkdir -p "$cache_root/$key"
  remove_tree "$cache_root/$key/bin"
  mv "$work/bin" "$cache_root/$key/bin"
  local sizes
  sizes="$(cd "$(bin_dir)" && du -h "${binaries[@]}" | awk '{ printf "%s %s  ", $2, $1 }')"
  log "built in $(bin_dir): $sizes"
  log "removing the build's private Go module and build caches"
  "$go" clean -modcache >/dev/null 2>&1 || true
  "$go" clean -cache >/dev/null 2>&1 || true
  remove_tree "$work"
  trap - EXIT
  log "done"
}

command="${1:-}"
force=false
if [ "${2:-}" = "--force" ]; then
  force=true
elif [ -n "${2:-}" ]; then
  usage >&2
  exit 2
fi
case "$command" in
  build) build "$force" ;;
  path)
    build "$force"
    bin_dir
    ;;
  clean)
    mkdir -p "$cache_root"
    exec 9>"$cache_root/.lock"
    flock 9
    remove_tree "$cache_root/$key"
    for stale in "$cache_root"/.build-*; do remove_tree "$stale"; done
    log "removed $cache_root/$key"
    ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
