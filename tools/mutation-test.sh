#!/usr/bin/env bash
# Runs the mutation test (control-plane MutationE2ETest) in its long mode: seeded random wrong edits of the example
# config, one at a time, against the control plane and two real Envoys. See docs/testing.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tools/mutation-test.sh [--count N] [--seed S] [--first K] [--max-failures F] [--offline]

Runs N seeded random mutations of docs/examples/sharded (one at a time, each restored before the next) against the
control plane in-process and two real Envoys, and checks that no mutation crashes anything, logs an exception,
makes an Envoy NACK, or changes what is served unless the change is valid. Every failing mutation is printed in full
with its seed and number; the run fails at the end listing them all.

  --count N         how many mutations (default 1000; the default build runs 200)
  --seed S          the seed (default: a new one, printed first); the same seed gives the same mutations
  --first K         start at mutation K of the seed (default 0): "--seed S --first K --count 1" replays one
  --max-failures F  stop after F failing mutations (default 25)
  --offline         run Maven offline (-o)
  -h, --help        this text

The output of the run is in the console and in control-plane/target/surefire-reports/.
EOF
}

count=1000
seed=""
first=0
max_failures=25
offline=()
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="${2:?--count needs a number}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    --first) first="${2:?--first needs a number}"; shift 2 ;;
    --max-failures) max_failures="${2:?--max-failures needs a number}"; shift 2 ;;
    --offline) offline=(-o); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$count" "$first" "$max_failures"; do
  if ! [[ "$n" =~ ^[0-9]+$ ]]; then
    echo "not a non-negative integer: $n" >&2
    exit 2
  fi
done
if [ -z "$seed" ]; then
  seed="$(date +%s)"
fi
if ! [[ "$seed" =~ ^-?[0-9]+$ ]]; then
  echo "the seed must be an integer: $seed" >&2
  exit 2
fi

cd "$(dirname "$0")/.."
echo "Mutation test: seed $seed, mutations $first..$((first + count - 1))"
exec ./mvnw -B -ntp "${offline[@]}" -pl control-plane -am test \
  -Dtest=MutationE2ETest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dshardgate.mutations="$count" -Dshardgate.mutations.seed="$seed" -Dshardgate.mutations.first="$first" \
  -Dshardgate.mutations.maxFailures="$max_failures"
