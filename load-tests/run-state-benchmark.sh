#!/usr/bin/env bash
# Builds Shardgate and runs the state store benchmark; prints Markdown tables (see docs/state.md).
# Usage: bash load-tests/run-state-benchmark.sh [DIR]   (DIR: where the stores are written, about 1.2 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -ntp -q -DskipTests install
cp=$(./mvnw -B -ntp -q -pl load-tests dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
java -Xms512m -Xmx2g -cp "load-tests/target/classes:$cp" io.shardgate.loadtests.StateStoreBenchmark "$@"
