#!/usr/bin/env bash
# Installs crun, the OCI container runtime, from the machine's apt sources into the git-ignored .tools/crun-<version>/
# folder, for the test that runs the control plane's image (ImageRunIT). Downloads only (apt-get download, then
# dpkg-deb -x): the crun package and those of its Depends that are not installed here (on Debian 12: libyajl2); nothing
# is installed system-wide. .tools/crun-<version>/crun is a wrapper that runs the extracted binary with those libraries
# and without a cgroup manager (the test needs no resource limits), and, on a host whose cgroup v2 hierarchy is
# mounted beside v1 ("hybrid", /sys/fs/cgroup/unified, which crun refuses), in a private mount namespace without
# that mount. .tools/crun is a symlink to the installed version. Idempotent. Progress on stderr.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tools/install-crun.sh [--print-path] [--help]

Downloads the crun Debian package the apt sources offer (apt-get download crun) and its missing libraries into
.tools/crun-<version>/, with a wrapper .tools/crun-<version>/crun, and points .tools/crun at it.
  --print-path   print the wrapper's path on stdout when done
Needs apt-get, apt-cache, dpkg-deb (Debian or Ubuntu); running containers with it needs root.
EOF
}
print_path=false
for arg in "$@"; do
  case "$arg" in
    --print-path) print_path=true ;;
    --help | -h) usage; exit 0 ;;
    *) echo "install-crun: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
log() { echo "install-crun: $*" >&2; }
die() { echo "install-crun: ERROR: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb dpkg-query; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed: crun comes from the Debian/Ubuntu apt sources"
done

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tools/lib-apt.sh
. "$root/tools/lib-apt.sh"
candidate() { apt-cache policy crun 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
version="$(candidate)"
if { [ -z "$version" ] || [ "$version" = "(none)" ]; } && apt_update_once; then
  version="$(candidate)"
fi
[ -n "$version" ] && [ "$version" != "(none)" ] || die "apt knows no crun package (run apt-get update as root)"
target="$root/.tools/crun-${version//[:+~]/_}"
wrapper="$target/crun"
done_path() {
  ln -sfn "$(basename "$target")" "$root/.tools/crun"
  if $print_path; then echo "$wrapper"; fi
}
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  done_path
  exit 0
fi

log "crun $version from apt into $target ..."
work="$target.partial"
rm -rf "$work"
mkdir -p "$work/debs" "$work/root"
# crun and the packages of its Depends this machine lacks (alternatives "a | b": the first).
packages="crun=$version"
for dep in $(apt-cache depends --no-recommends --no-suggests crun \
  | awk '$1 == "Depends:" { print $2 }' | grep -v '^<' | sort -u); do
  if ! dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed'; then
    packages="$packages $dep"
  fi
done
log "downloading $packages"
# shellcheck disable=SC2086 # one word per package
apt_download "$work/debs" $packages || die "apt-get download $packages failed"
for deb in "$work/debs"/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
[ -x "$work/root/usr/bin/crun" ] || die "the crun package has no usr/bin/crun"

# The folders of the extracted libraries, relative to the wrapper (usr/lib/x86_64-linux-gnu on amd64, ...).
lib_dirs="$(cd "$work/root" && find . -name '*.so*' -printf '%h\n' | sort -u | sed 's|^\./|$here/root/|' | paste -sd:)"
cat >"$work/crun" <<'EOF'
#!/usr/bin/env bash
# crun from this folder's extracted Debian packages (tools/install-crun.sh). No cgroup manager: nothing here sets
# limits, and crun refuses a "hybrid" cgroup host (v2 mounted beside v1 at /sys/fs/cgroup/unified); there it runs
# in a private mount namespace without that mount.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
export LD_LIBRARY_PATH="@LIB_DIRS@${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
crun="$here/root/usr/bin/crun"
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] && mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
  exec unshare --mount --propagation private /bin/sh -c \
    'umount /sys/fs/cgroup/unified && exec "$0" --cgroup-manager=disabled "$@"' "$crun" "$@"
fi
exec "$crun" --cgroup-manager=disabled "$@"
EOF
sed -i "s|@LIB_DIRS@|$lib_dirs|" "$work/crun"
chmod +x "$work/crun"
"$work/crun" --version >/dev/null || die "the extracted crun does not run: $("$work/crun" --version 2>&1 | head -n3)"
rm -rf "$work/debs" "$target"
mv "$work" "$target"
log "installed: $("$wrapper" --version | head -n1)"
done_path
