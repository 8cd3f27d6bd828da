#!/usr/bin/env bash
# Builds the real Consul agent that the Consul-mode tests run, from the Go module proxy, into a cache outside the
# work tree (so every clone and CI run on one machine shares one build).
# Run with --help for the commands. Progress goes to stderr; `path` prints only the binary's path on stdout.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
module="$here/consul-test-server"

usage() {
  cat <<EOF
Usage: tools/consul-test-server.sh COMMAND [--force]

Builds the real Consul agent ($version, the last MPL-2.0 release) for Shardgate's Consul-mode tests from the Go
module proxy, with the wrapper module in tools/consul-test-server/ (its go.mod and go.sum pin every version).

Commands:
  build [--force]  build the binary into the cache unless it is there already (--force: build it again)
  path             print the binary's path, building first if needed (progress on stderr, the path alone on stdout)
  clean            remove this version's binary and any build left behind by a killed run
  --help           this text

Cache: \${XDG_CACHE_HOME:-\$HOME/.cache}/shardgate/consul/<version>/bin/consul
  (now: $(bin_dir)/consul)
A build uses a private GOPATH and GOCACHE under the cache (your own Go caches are untouched) and deletes them when
it is done. It needs Go ${go_min} or newer (GO=/path/to/go, default /usr/local/go/bin/go, else go on PATH), the Go
module proxy, and ${min_free_gb} GB of free disk (about 120 MB stay). A cold build takes about five to ten minutes of
two cores. Two builds at once on one machine take turns (flock); a killed build leaves no binary behind, and the
next run removes its remains.
EOF
}

# The version comes from the wrapper module itself, so the cache key cannot drift from what is built.
version="$(awk '$1 == "require" && $2 == "github.com/hashicorp/consul" { print $3; exit }' "$module/go.mod")"
[ -n "$version" ] || { echo "no 'require github.com/hashicorp/consul' line in $module/go.mod" >&2; exit 1; }
go_min="1.20"
# The module cache and build cache peak at a few GB; the rest is headroom.
min_free_gb="${SHARDGATE_CONSUL_BUILD_MIN_FREE_GB:-6}"
# These two modules have no entries in the checksum database; the committed go.sum holds their sums instead.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/hashicorp/consul/envoyextensions,github.com/hashicorp/hcp-sdk-go"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/shardgate/consul"
key="${version#v}"

bin_dir() { echo "$cache_root/$key/bin"; }

built() { [ -x "$(bin_dir)/consul" ]; }

started_at=$SECONDS
log() {
  local elapsed=$((SECONDS - started_at))
  printf '[consul-test-server %3dm%02ds] %s\n' $((elapsed / 60)) $((elapsed % 60)) "$*" >&2
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
    log "Consul $version already built: $(bin_dir)/consul"
    return 0
  fi
  local go
  go="$(go_bin)" || die "no Go found: install Go $go_min or newer (at /usr/local/go/bin/go, or on PATH, or set GO)"
  local go_version
  go_version="$(GOTOOLCHAIN=local "$go" env GOVERSION)" || die "$go does not run"
  if ! printf '%s\n%s\n' "go$go_min" "$go_version" | sort -V -C; then
    die "$go is $go_version; Consul $version needs Go $go_min or newer"
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
    log "another run built it meanwhile: $(bin_dir)/consul"
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
  # A build copy of the wrapper module: -mod=mod may touch go.mod/go.sum, and the work tree must stay as it is.
  cp -R "$module" "$work/src/consul"

  log "building Consul $version with $go_version ($(nproc) CPUs) in $work"
  log "step 1/2: downloading the modules"
  cd "$work/src/consul"
  with_heartbeat "downloading the modules" "$go" mod download \
    || die "go mod download failed for Consul $version (is the Go module proxy reachable?)"
  log "step 2/2: go build consul (several minutes)"
  with_heartbeat "building consul" \
    "$go" build -trimpath -ldflags "-s -w" -o "$work/bin/consul" github.com/hashicorp/consul \
    || die "go build consul failed"

  # No pipe into grep -q here: it would close the pipe early and, with pipefail, fail a good binary by SIGPIPE.
  local reported
  reported="$("$work/bin/consul" version)" || die "the built consul does not run"
  [ "${reported%%$'\n'*}" = "Consul $version" ] \
    || die "consul version says '${reported%%$'\n'*}', not Consul $version"

  # -mod=mod lets go add what a go.sum lacks; the committed one must already hold everything, or builds on other
  # machines would depend on the checksum database. Say so rather than pass silently.
  if ! cmp -s "$module/go.mod" "$work/src/consul/go.mod" || ! cmp -s "$module/go.sum" "$work/src/consul/go.sum"; then
    log "WARNING: the build changed tools/consul-test-server/go.mod or go.sum: run go mod tidy there and commit it"
  fi

  # The rename is the only step that makes the binary visible: a build stopped before it leaves nothing half-built.
  cd "$cache_root"
  mkdir -p "$cache_root/$key"
  remove_tree "$cache_root/$key/bin"
  mv "$work/bin" "$cache_root/$key/bin"
  log "built $(bin_dir)/consul ($(du -h "$(bin_dir)/consul" | cut -f1))"
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
    echo "$(bin_dir)/consul"
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
