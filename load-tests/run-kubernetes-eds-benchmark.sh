#!/usr/bin/env bash
# Kubernetes mode under endpoint churn: builds Shardgate, then runs KubernetesEdsBenchmark, which starts a real etcd
# and kube-apiserver (tools/kube-test-servers.sh builds them once), control-plane/target/shardgate.jar serve
# --kubernetes as a child, and raw ADS clients on every shard, and prints a Markdown report (docs/benchmarks.md,
# "Kubernetes mode: EndpointSlice churn to EDS"). Usage: bash load-tests/run-kubernetes-eds-benchmark.sh [OPTIONS];
# --help lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  if [[ "$arg" == "--help" || "$arg" == "-h" ]]; then
    cat load-tests/src/main/resources/kubernetes-eds-benchmark-usage.txt
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
command="bash load-tests/run-kubernetes-eds-benchmark.sh${*:+$(printf ' %q' "$@")}"
exec java -Xms256m -Xmx1g -Dshardgate.bench.command="$command" -Dshardgate.bench.commit="$commit" \
  -Dshardgate.repo.root="$PWD" \
  -cp "load-tests/target/classes:$cp" io.shardgate.loadtests.KubernetesEdsBenchmark "$@"
