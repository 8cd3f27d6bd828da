#!/usr/bin/env bash
# Installs wrk (the closed-loop HTTP load generator the load-isolation experiment saturates the noisy API with) from the
# machine's apt sources into a cache outside the work tree, ${SHARDGATE_CACHE:-~/.cache/shardgate}/wrk-<version>/:
# apt-get download of wrk and the LuaJIT library it links (libluajit2-5.1-2, which this machine kind lacks), then
# dpkg-deb -x; nothing is installed system-wide. <dir>/wrk is a wrapper that runs the extracted binary with that
# library. Idempotent: does nothing when that version is already there. Progress on stderr; --print-path prints the
# wrapper's path on stdout.
set -euo pipefail

print_path=false
for arg in "$@"; do
  case "$arg" in
    --print-path) print_path=true ;;
    --help | -h)
      echo "Usage: tools/install-wrk.sh [--print-path]   (wrk from the apt sources into \${SHARDGATE_CACHE:-~/.cache/shardgate}/wrk-<version>/)"
      exit 0 ;;
    *) echo "install-wrk: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
log() { echo "install-wrk: $*" >&2; }
die() { echo "install-wrk: ERROR: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed: wrk comes from the Debian/Ubuntu apt sources"
done

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tools/lib-apt.sh
. "$root/tools/lib-apt.sh"
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
version="$(candidate wrk)"
if { [ -z "$version" ] || [ "$version" = "(none)" ]; } && apt_update_once; then
  version="$(candidate wrk)"
fi
[ -n "$version" ] && [ "$version" != "(none)" ] || die "apt knows no wrk package (run apt-get update as root)"
cache="${SHARDGATE_CACHE:-$HOME/.cache/shardgate}"
target="$cache/wrk-${version//[:+~]/_}"
wrapper="$target/wrk"
# wrk -v prints its version and usage and exits 1: look at what it printed.
runs() { [ -x "$wrapper" ] && case "$("$wrapper" -v 2>&1 || true)" in "wrk "*) true ;; *) false ;; esac; }
if runs; then
  $print_path && echo "$wrapper"
  exit 0
fi

log "wrk $version from apt into $target ..."
work="$target.partial"
rm -rf "$work"
mkdir -p "$work/debs" "$work/root"
packages=("wrk=$version")
# wrk depends on "libluajit-5.1-2 | libluajit2-5.1-2": take whichever the sources offer, with its common files.
for lib in libluajit2-5.1 libluajit-5.1; do
  lib_version="$(candidate "$lib-2")"
  if [ -n "$lib_version" ] && [ "$lib_version" != "(none)" ]; then
    packages+=("$lib-2=$lib_version" "$lib-common")
    break
  fi
done
apt_download "$work/debs" "${packages[@]}" || die "apt-get download ${packages[*]} failed"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
libdir="$(dirname "$(find "$work/root" -name 'libluajit*.so.2*' | head -n1)")"
[ -x "$work/root/usr/bin/wrk" ] || die "the wrk package holds no usr/bin/wrk"
rm -rf "$target"
mv "$work" "$target"
rel_lib="${libdir#"$work"/}"
cat > "$wrapper" <<WRAPPER
#!/bin/sh
# wrk $version extracted from its Debian package by tools/install-wrk.sh, with LuaJIT from its package.
here="\$(dirname "\$0")"
LD_LIBRARY_PATH="\$here/$rel_lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$here/root/usr/bin/wrk" "\$@"
WRAPPER
chmod +x "$wrapper"
runs || die "the installed wrk does not run: $("$wrapper" -v 2>&1 | head -n3 || true)"
log "installed $("$wrapper" -v 2>&1 | head -n1 || true)"
$print_path && echo "$wrapper"
exit 0
