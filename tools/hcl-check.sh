#!/usr/bin/env bash
# Builds hcl-check (tools/hcl-check/main.go: HashiCorp's HCL2 parser over the Nomad jobs `shardgate render nomad`
# writes) from the Go module proxy into a cache outside the work tree. Run with --help for the commands. Progress
# goes to stderr; `path` prints only the binary's path on stdout.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
module="$here/hcl-check"

# The cache key is the HCL version the wrapper module pins plus a hash of its sources, so an edited main.go
# builds a new binary rather than reusing a stale one.
hcl_version="$(awk '$1 == "require" && $2 == "github.com/hashicorp/hcl/v2" { print $3; exit }' "$module/go.mod")"
source_hash="$(cat "$module/go.mod" "$module/go.sum" "$module/main.go" | sha256sum | cut -c1-12)"
key="hcl-${hcl_version#v}-$source_hash"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/shardgate/hcl-check"
go_min="1.25"

binary() { echo "$cache_root/$key/hcl-check"; }

usage() {
  cat <<USAGE
Usage: tools/hcl-check.sh COMMAND

Builds hcl-check, a small Go program on github.com/hashicorp/hcl/v2 $hcl_version (pinned with every checksum by
tools/hcl-check/go.mod and go.sum) that parses Nomad job files with the real HCL2 parser and prints a JSON summary
of each job (name, groups, count, tasks, driver, services, checks). Shardgate's Nomad rendering tests run it.

Commands:
  build    build the binary into the cache unless it is there already
  path     print the binary's path, building first if needed (progress on stderr, the path alone on stdout)
  clean    remove this version's binary and any build left behind by a killed run
  --help   this text

Cache: \${XDG_CACHE_HOME:-\$HOME/.cache}/shardgate/hcl-check/<hcl version>-<source hash>/hcl-check
  (now: $(binary))
A build uses a private GOPATH and GOCACHE under the cache (your own Go caches are untouched) and deletes them when
it is done. It needs Go $go_min or newer (GO=/path/to/go, default /usr/local/go/bin/go, else go on PATH) and the
Go module proxy; a cold build takes well under a minute. Two builds at once take turns (flock); a killed build
leaves no binary behind.
USAGE
}

log() { printf '[hcl-check] %s\n' "$*" >&2; }
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

remove_tree() {
  [ -e "$1" ] || return 0
  chmod -R u+w "$1" 2>/dev/null || true
  rm -rf "$1"
}

build() {
  if [ -x "$(binary)" ]; then
    return 0
  fi
  local go go_version
  go="$(go_bin)" || die "no Go found: install Go $go_min or newer (at /usr/local/go/bin/go, or on PATH, or set GO)"
  go_version="$(GOTOOLCHAIN=local "$go" env GOVERSION)" || die "$go does not run"
  if ! printf '%s\n%s\n' "go$go_min" "$go_version" | sort -V -C; then
    die "$go is $go_version; hcl-check needs Go $go_min or newer"
  fi
  mkdir -p "$cache_root"
  exec 9>"$cache_root/.lock"
  if ! flock -n 9; then
    log "another build holds $cache_root/.lock; waiting for it"
    flock 9
  fi
  local stale
  for stale in "$cache_root"/.build-*; do
    [ -e "$stale" ] || continue
    remove_tree "$stale"
  done
  if [ -x "$(binary)" ]; then
    return 0
  fi
  work="$(mktemp -d "$cache_root/.build-$key.XXXXXX")"
  trap 'log "build failed or was stopped; removing $work"; remove_tree "$work"' EXIT
  export GOPATH="$work/gopath" GOCACHE="$work/gocache" GOMODCACHE="$work/gopath/pkg/mod"
  export GOTMPDIR="$work/tmp" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
  mkdir -p "$work/src" "$work/out" "$work/tmp"
  cp "$module/go.mod" "$module/go.sum" "$module/main.go" "$work/src/"
  log "building hcl-check on github.com/hashicorp/hcl/v2 $hcl_version with $go_version in $work"
  (cd "$work/src" && "$go" build -trimpath -ldflags "-s -w" -o "$work/out/hcl-check" .) \
    || die "go build failed (is the Go module proxy reachable? does tools/hcl-check/go.sum hold every checksum?)"
  # The rename is the only step that makes the binary visible: a stopped build leaves nothing half-built.
  mkdir -p "$cache_root/$key"
  mv "$work/out/hcl-check" "$(binary)"
  "$go" clean -modcache >/dev/null 2>&1 || true
  remove_tree "$work"
  trap - EXIT
  log "built $(binary)"
}

case "${1:-}" in
  build) build ;;
  path)
    build
    binary
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
