#!/usr/bin/env bash
# Assembles the base file tree of the control plane's OCI image, offline and without Docker: a jlinked Java runtime
# of the JDK the build runs on (at /opt/java), the few Debian shared libraries that runtime links against (taken from
# the .deb packages of the versions installed on this machine: apt-get download + dpkg-deb -x), /etc/passwd and
# /etc/group with the non-root user 65532 (nonroot), /etc/nsswitch.conf and an empty /tmp. Jib (control-plane/pom.xml)
# puts that tree on top of `scratch` and the application on top of that.
#
# The jlinked runtime and the extracted libraries are cached under ~/.cache/shardgate/image-base/ (or
# $SHARDGATE_CACHE/image-base), keyed by the JDK's version and jmods, the module list, this script, and the Debian
# package versions; a second run with the same inputs copies from the cache and downloads nothing. Every file of the
# output has a fixed mtime and owner, and the same inputs give the same bytes (jlink is deterministic without
# --generate-cds-archive, which this script does not use), so the image digest depends only on the inputs.
# Progress goes to stderr. Run by the Maven build (control-plane, phase prepare-package) before Jib.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tools/image-base.sh --java-home DIR --modules M1,M2,... --output DIR

Builds the base file tree of the Shardgate image into DIR (emptied first):
  DIR/opt/java/...            jlink --add-modules M1,M2,... of the JDK at --java-home (its jlink and jmods)
  DIR/lib64, DIR/lib, DIR/usr the shared libraries that runtime needs (ldd), from the Debian packages of the
                              versions installed here (dpkg -S, apt-get download, dpkg-deb -x), and the packages'
                              copyright files; DIR/usr/share/doc/shardgate-image-base/packages.txt lists them
  DIR/etc/passwd, group       root and nonroot (65532:65532)
  DIR/etc/nsswitch.conf       hosts: files dns
  DIR/tmp                     empty (mount a writable volume there: the root filesystem may be read-only)

Options:
  --java-home DIR   the JDK to jlink (default: $JAVA_HOME, else the one `java` on PATH belongs to)
  --modules LIST    comma-separated modules for jlink --add-modules (required)
  --output DIR      where to write the tree (required)
  --help            this text

Needs: jlink and jmods (a full JDK), ldd, readelf, dpkg, dpkg-deb, apt-get (Debian or Ubuntu).
Cache: ${SHARDGATE_CACHE:-~/.cache/shardgate}/image-base/; delete it to rebuild from scratch.
EOF
}

java_home="${JAVA_HOME:-}"
modules=""
output=""
while [ $# -gt 0 ]; do
  case "$1" in
    --java-home) java_home="$2"; shift 2 ;;
    --modules) modules="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    --help | -h) usage; exit 0 ;;
    *) echo "image-base: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
log() { echo "image-base: $*" >&2; }
# shellcheck source=tools/lib-apt.sh
. "$(dirname "$0")/lib-apt.sh"
die() { echo "image-base: ERROR: $*" >&2; exit 1; }
[ -n "$modules" ] || { usage >&2; die "--modules is required"; }
[ -n "$output" ] || { usage >&2; die "--output is required"; }
if [ -z "$java_home" ]; then
  java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
fi
# Maven passes ${java.home}: a JDK's java.home is the JDK itself since Java 9.
[ -x "$java_home/bin/jlink" ] || die "no jlink in $java_home/bin: --java-home must be a full JDK"
[ -d "$java_home/jmods" ] || die "no jmods in $java_home (on Debian: apt-get install openjdk-17-jdk-headless)"
for tool in ldd readelf dpkg dpkg-deb dpkg-query apt-get sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed: the image's base is assembled from the Debian"\
" packages of this machine (Debian or Ubuntu). Build without the image: ./mvnw ... -Djib.skip=true"
done

cache="${SHARDGATE_CACHE:-$HOME/.cache/shardgate}/image-base"
mkdir -p "$cache"
script_hash="$(sha256sum "$0" | cut -c1-12)"
# Fixed for every file of the output, like Jib's own layers (Jib also resets times and owners in the layers it
# writes; fixing them here keeps the tree itself byte-stable for anyone who packs it differently).
epoch="1970-01-01T00:00:01Z"
jlink_options=(--strip-debug --no-header-files --no-man-pages
  # java.desktop is there for java.beans only (snakeyaml, Micronaut, Micrometer); its native AWT, font, sound and
  # image libraries would pull X11, freetype and ALSA into the image, and nothing here loads them.
  "--exclude-files=glob:/java.desktop/**")

# --- 1. The jlinked runtime -------------------------------------------------------------------------------------
java_version="$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$java_home/release")"
jdk_hash="$( (cat "$java_home/release"; cd "$java_home/jmods" && sha256sum ./*.jmod) | sha256sum | cut -c1-12)"
runtime_key="$(printf '%s\n' "$jdk_hash" "$modules" "${jlink_options[*]}" "$script_hash" | sha256sum | cut -c1-12)"
runtime="$cache/runtime-$java_version-$runtime_key"
if [ -f "$runtime/.complete" ]; then
  log "runtime: cached $runtime"
else
  log "runtime: jlink $modules from $java_home (Java $java_version) ..."
  rm -rf "$runtime" "$runtime.partial"
  "$java_home/bin/jlink" --add-modules "$modules" "${jlink_options[@]}" --output "$runtime.partial/opt/java"
  mv "$runtime.partial" "$runtime"
  touch "$runtime/.complete"
fi

# --- 2. The shared libraries it links against, from their Debian packages ----------------------------------------
interpreter="$(readelf -l "$runtime/opt/java/bin/java" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
[ -n "$interpreter" ] || die "cannot read the program interpreter of $runtime/opt/java/bin/java"
# Every library outside the runtime that its executables and libraries need; the runtime's own libraries resolve
# through $ORIGIN, libjvm.so through the runtime's lib/server when it is on the search path.
needed="$(
  cd "$runtime/opt/java"
  for f in bin/* lib/jexec lib/jspawnhelper $(find lib -name '*.so' | sort); do
    LD_LIBRARY_PATH="$runtime/opt/java/lib/server" ldd "$f" 2>/dev/null | awk -v f="$f" '
      $2 == "=>" && $3 == "not" { print "NOTFOUND " f " " $1; next }
      $2 == "=>" && $3 ~ /^\// { print $3 }'
  done | grep -v "^$runtime/" | sort -u
)"
if grep -q '^NOTFOUND' <<<"$needed"; then
  die "libraries not found on this machine: $(grep '^NOTFOUND' <<<"$needed" | tr '\n' ';')"
fi
# Each path as its package ships it (dpkg -S knows /lib/... while ldd may print /usr/lib/... on a merged-/usr
# system, or the other way round), with its package.
declare -A package_of_path=()
for path in $needed "$interpreter"; do
  owner=""
  for candidate in "$path" "${path#/usr}" "/usr$path"; do
    if owner="$(dpkg -S "$candidate" 2>/dev/null | head -n1)" && [ -n "$owner" ]; then
      package_of_path["$candidate"]="${owner%%:*}"
      break
    fi
  done
  [ -n "$owner" ] || die "no Debian package owns $path (dpkg -S)"
done
packages="$(for p in "${package_of_path[@]}"; do
  echo "$p=$(dpkg-query -W -f='${Version}' "$p")"
done | sort -u)"
libs_key="$(printf '%s\n' "$packages" "${!package_of_path[@]}" "$script_hash" | sort | sha256sum | cut -c1-12)"
libs="$cache/libs-$libs_key"
if [ -f "$libs/.complete" ]; then
  log "libraries: cached $libs"
else
  log "libraries: $(echo $packages) ..."
  rm -rf "$libs" "$libs.partial"
  mkdir -p "$libs.partial/tree" "$cache/debs"
  for pv in $packages; do
    package="${pv%%=*}" version="${pv#*=}"
    deb="$(ls "$cache/debs/${package}_"*.deb 2>/dev/null | while read -r f; do
      [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && echo "$f"; done | head -n1 || true)"
    if [ -z "$deb" ]; then
      log "  apt-get download $package=$version"
      apt_download "$cache/debs" "$package=$version" \
        || die "apt-get download $package=$version failed: the apt sources no longer offer the version installed here" \
          "(upgrade it: apt-get install --only-upgrade $package), or build without the image: -Djib.skip=true"
      deb="$(ls "$cache/debs/${package}_"*.deb | while read -r f; do
        [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && echo "$f"; done | head -n1)"
    fi
    dpkg-deb -x "$deb" "$libs.partial/pkg-$package"
  done
  for path in "${!package_of_path[@]}"; do
    package="${package_of_path[$path]}"
    src="$libs.partial/pkg-$package$path"
    # A symlink in the package (libstdc++.so.6 -> libstdc++.so.6.0.30, /lib64/ld-linux-x86-64.so.2 -> ...) may point
    # anywhere in the package's tree: resolve it there, and keep one regular file under the name the linker asks for.
    while [ -L "$src" ]; do
      target="$(readlink "$src")"
      case "$target" in
        /*) src="$libs.partial/pkg-$package$target" ;;
        *) src="$(dirname "$src")/$target" ;;
      esac
    done
    [ -f "$src" ] || die "$path is not in the $package package as dpkg -S says"
    mkdir -p "$libs.partial/tree$(dirname "$path")"
    cp "$src" "$libs.partial/tree$path"
    chmod 0755 "$libs.partial/tree$path"
  done
  # Each package's copyright file goes with its libraries. Some packages' doc folder is a symlink to another
  # package's (libstdc++6 and libgcc-s1 -> gcc-12-base): that package's copyright, then.
  docs="$libs.partial/tree/usr/share/doc"
  for pv in $packages; do
    package="${pv%%=*}"
    doc="$libs.partial/pkg-$package/usr/share/doc/$package"
    if [ -L "$doc" ]; then
      owner="$(basename "$(readlink "$doc")")"
      if [ ! -d "$libs.partial/pkg-$owner" ]; then
        owner_version="$(dpkg-query -W -f='${Version}' "$owner" 2>/dev/null)" \
          || die "$package's documentation is $owner's, which is not installed here"
        apt_download "$libs.partial" "$owner=$owner_version" || die "apt-get download $owner=$owner_version failed"
        dpkg-deb -x "$libs.partial/${owner}_"*.deb "$libs.partial/pkg-$owner"
      fi
      doc="$libs.partial/pkg-$owner/usr/share/doc/$owner"
    fi
    [ -f "$doc/copyright" ] || die "the $package package has no copyright file"
    mkdir -p "$docs/$package" && cp "$doc/copyright" "$docs/$package/copyright"
  done
  mkdir -p "$docs/shardgate-image-base"
  {
    echo "# Debian packages whose shared libraries this image carries (package=version), and the Java runtime."
    echo "$packages"
    echo "java-runtime=$java_version (jlink of the build's JDK: $modules)"
  } >"$docs/shardgate-image-base/packages.txt"
  rm -rf "$libs.partial"/pkg-* "$libs.partial"/*.deb
  mv "$libs.partial" "$libs"
  touch "$libs/.complete"
fi

# --- 3. The tree ---------------------------------------------------------------------------------------------------
log "assembling $output"
rm -rf "$output"
mkdir -p "$output"
cp -a "$runtime/opt" "$output/"
cp -a "$libs/tree/." "$output/"
mkdir -p "$output/etc" "$output/tmp"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' \
  >"$output/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$output/etc/group"
# Without it glibc asks DNS before /etc/hosts.
printf '%s\n' 'hosts: files dns' >"$output/etc/nsswitch.conf"
find "$output" -exec touch -h -d "$epoch" {} +
if [ "$(id -u)" = 0 ]; then
  chown -hR 0:0 "$output"
fi
log "done: $(du -sh "$output" | cut -f1) in $output"
