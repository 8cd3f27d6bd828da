#!/usr/bin/env bash
# Builds Shardgate and runs the translation benchmark; prints a Markdown table (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -ntp -q -DskipTests install
cp=$(./mvnw -B -ntp -q -pl load-tests dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
java -Xms512m -Xmx2g -cp "load-tests/target/classes:$cp" io.shardgate.loadtests.TranslationBenchmark
