#!/usr/bin/env bash
# The load-isolation experiment (docs/load-isolation.md): builds Shardgate, then runs LoadIsolationBenchmark, which
# starts each layout (shared, sharded, edge) with real Envoys and measures the protected API under open-loop load while
# wrk saturates the noisy one. Usage: bash load-tests/run-load-isolation.sh [OPTIONS]; --help lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  if [[ "$arg" == "--help" || "$arg" == "-h" ]]; then
    cat load-tests/src/main/resources/load-isolation-usage.txt
    exit 0
  fi
done
# package, never install: the local Maven repository is shared with other builds.
./mvnw -B -ntp -DskipTests package >&2
bash tools/install-envoy.sh 1.40.0 >&2
bash tools/install-wrk.sh >&2
cp=$(cat load-tests/target/classpath.txt)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD 2>/dev/null; then
  commit="$commit (with uncommitted changes)"
fi
command="bash load-tests/run-load-isolation.sh${*:+$(printf ' %q' "$@")}"
exec java -Xms256m -Xmx1g -Djava.awt.headless=true -Dshardgate.bench.command="$command" \
  -Dshardgate.bench.commit="$commit" -Dshardgate.repo.root="$PWD" \
  -cp "load-tests/target/classes:$cp" io.shardgate.loadtests.LoadIsolationBenchmark "$@"
