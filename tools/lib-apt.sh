# Sourced by tools/image-base.sh and tools/install-crun.sh: apt-get download that copes with a fresh machine.
# A machine whose apt lists are missing or older than the mirror (a fresh CI machine, or a Debian point release since
# the lists were read) answers "Unable to locate package" or 404; as root, read the lists once (apt-get update) and
# try again. Progress and apt's own messages go to stderr.

apt_root_warning='^W: Download is performed unsandboxed' # apt-get download as root says so every time; harmless
apt_lists_updated=false

# Reads the apt lists once, as root; returns 1 when that cannot be done (not root, or apt-get update failed).
apt_update_once() {
  $apt_lists_updated && return 1
  apt_lists_updated=true
  [ "$(id -u)" = 0 ] || return 1
  echo "apt: reading the package lists (apt-get update) ..." >&2
  apt-get update -qq >&2 || return 1
}

# apt_download DIR PACKAGE[=VERSION]...: the .deb files into DIR.
apt_download() {
  local dir="$1"
  shift
  local attempt
  for attempt in 1 2; do
    if (cd "$dir" && apt-get download "$@" 2>&1 | { grep -v "$apt_root_warning" || true; } >&2; exit "${PIPESTATUS[0]}"); then
      return 0
    fi
    [ "$attempt" = 1 ] && apt_update_once || return 1
  done
  return 1
}
