#!/usr/bin/env bash
# The whole-path benchmark through the real serve process: builds Shardgate, then runs ServeBenchmark, which starts
# control-plane/target/shardgate.jar serve as a child per size and prints a Markdown report (docs/benchmarks.md,
# "Whole path through serve"). Usage: bash load-tests/run-serve-benchmark.sh [OPTIONS]; --help lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  if [[ "$arg" == "--help" || "$arg" == "-h" ]]; then
    cat load-tests/src/main/resources/serve-benchmark-usage.txt
    exit 0
  fi
done
# package, never install: the local Maven repository is shared with other builds.
./mvnw -B -ntp -DskipTests package >&2
cp=$(cat load-tests/target/classpath.txt)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD 2>/dev/null; then
  commit="$commit (with uncommitted changes)"
fi
command="bash load-tests/run-serve-benchmark.sh${*:+$(printf ' %q' "$@")}"
exec java -Xms512m -Xmx2g -Dshardgate.bench.command="$command" -Dshardgate.bench.commit="$commit" \
  -cp "load-tests/target/classes:$cp" io.shardgate.loadtests.ServeBenchmark "$@"
