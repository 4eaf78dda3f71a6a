#!/usr/bin/env bash
# Regenerates BENCHMARKS.md from an actual run: the criterion suite (bench/benches/suite.rs)
# and the `footprint` and `purge` binaries, on the same synthetic population.
#
#   bench/regen.sh [criterion args…]        e.g. bench/regen.sh --warm-up-time 1 --measurement-time 3
#
# Environment:
#   CEE_BENCH_PEOPLE    population size (default 1000000 → 3000000 imported rows); quick mode: 20000
#   CEE_BENCH_CALLS     per-call latency samples of `footprint` (default 1000000)
#   CEE_BENCH_DIR       where the databases go (default: the temporary directory; use a real disk)
#   CEE_BENCH_FEATURES  extra cargo features of cee-bench, e.g. `postgres` (then set CEE_BENCH_PG)
#   CEE_BENCH_PG        postgres://… URL of a server for the PostgreSQL baseline
#   CEE_BENCH_OUT       output file (default BENCHMARKS.md)
#   CARGO_TARGET_DIR    as usual (criterion results land in $CARGO_TARGET_DIR/criterion)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out_dir="$CARGO_TARGET_DIR/cee-bench"
out_file="${CEE_BENCH_OUT:-BENCHMARKS.md}"
mkdir -p "$out_dir"
features=()
if [ -n "${CEE_BENCH_FEATURES:-}" ]; then features=(--features "$CEE_BENCH_FEATURES"); fi

# Stale results of other runs must not leak into the report.
rm -rf "$CARGO_TARGET_DIR/criterion"
# The commit measured (and whether tracked files differ from it), taken before building.
{ git rev-parse HEAD; git status --porcelain --untracked-files=no | wc -l; } > "$out_dir/commit.txt"
uptime > "$out_dir/load-before.txt"
cargo bench -p cee-bench "${features[@]}" --bench suite -- "$@" 2>&1 | tee "$out_dir/suite.log"
cargo run --release -p cee-bench "${features[@]}" --bin footprint | tee "$out_dir/footprint.txt"
cargo run --release -p cee-bench "${features[@]}" --bin purge | tee "$out_dir/purge.txt"
uptime > "$out_dir/load-after.txt"

python3 bench/report.py \
  --criterion "$CARGO_TARGET_DIR/criterion" \
  --footprint "$out_dir/footprint.txt" \
  --purge "$out_dir/purge.txt" \
  --suite-log "$out_dir/suite.log" \
  --commit-file "$out_dir/commit.txt" \
  --load-before "$out_dir/load-before.txt" \
  --load-after "$out_dir/load-after.txt" \
  --keep-from "$out_file" \
  --command "CEE_BENCH_PEOPLE=${CEE_BENCH_PEOPLE:-1000000}${CEE_BENCH_CALLS:+ CEE_BENCH_CALLS=$CEE_BENCH_CALLS}${CEE_BENCH_FEATURES:+ CEE_BENCH_FEATURES=$CEE_BENCH_FEATURES}${CEE_BENCH_PG:+ CEE_BENCH_PG=…} bench/regen.sh $*" \
  > "$out_file.tmp"
mv "$out_file.tmp" "$out_file"
echo "wrote $out_file"
