#!/usr/bin/env bash
# The HashiCorp mode's two latencies (docs/benchmarks.md, "HashiCorp mode: KV write and health check to the Envoy"):
# builds Shardgate, then runs HashiCorpLatencyBenchmark, which starts a real Consul 1.16.1 agent
# (tools/consul-test-server.sh builds it once), control-plane/target/shardgate.jar serve --consul as a child and one
# real Envoy per shard, and prints a Markdown report. Usage: bash load-tests/run-hashicorp-benchmark.sh [OPTIONS];
# --help lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  if [[ "$arg" == "--help" || "$arg" == "-h" ]]; then
    cat load-tests/src/main/resources/hashicorp-benchmark-usage.txt
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
command="bash load-tests/run-hashicorp-benchmark.sh${*:+$(printf ' %q' "$@")}"
exec java -Xms256m -Xmx1g -Dshardgate.bench.command="$command" -Dshardgate.bench.commit="$commit" \
  -Dshardgate.repo.root="$PWD" \
  -cp "load-tests/target/classes:$cp" io.shardgate.loadtests.HashiCorpLatencyBenchmark "$@"
