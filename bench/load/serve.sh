#!/usr/bin/env bash
# Load run of `cee serve` (release) with wrk, on loopback:
#   1. simulate through `cee serve` vs a bare axum handler (cli/examples/bare_axum.rs), same
#      run, same worker count, alternated ROUNDS times; req/s and p99 of each, and the ratio
#      (target: serve >= 70 % of bare axum);
#   2. durable register (Durability::Immediate: each answer after its fsync) at 1 and 32
#      connections, a distinct beneficiary per request.
# Writes its section of BENCHMARKS.md (between the serve-load markers). Needs wrk
# (`apt-get install -y wrk`). Env: DURATION (s, default 5), ROUNDS (4), WORKERS (2).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-4}"
WORKERS="${WORKERS:-2}"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build -q --release -p cee-cli --bin cee --example bare_axum
CEE=target/release/cee
BARE=target/release/examples/bare_axum

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

token="load-test-operator-token"
hash=$(printf '%s' "$token" | "$CEE" token-hash)
printf '[{"token_sha256":"%s","operator_id":1,"siret":"89248032800012"}]' "$hash" > "$tmp/tokens.json"
export CEE_SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
export TOKEN="$token"

wait_port() { for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

"$BARE" 127.0.0.1:18080 "$WORKERS" 2> "$tmp/bare.log" & pids+=($!)
"$CEE" serve --create --db "$tmp/db" --tokens "$tmp/tokens.json" --addr 127.0.0.1:18081 \
    --now 2024-06-15T12:00:00Z --rate-limit 1000000000 --workers "$WORKERS" 2> "$tmp/serve.log" & pids+=($!)
wait_port 18080; wait_port 18081

# wrk output → "req/s p99_ms non2xx"
run() { # url script connections
    local out
    out=$(wrk -t1 -c"$3" -d"${DURATION}s" --latency -s "$2" "$1" 2>"$tmp/wrk.err")
    local rps p99 bad
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
    echo "$rps $(to_ms "$p99") ${bad:-0}"
}
to_ms() { # wrk latency (12.3us / 1.2ms / 1.1s) → ms
    awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
fs=$(df -T "$tmp" | awk 'NR==2 {print $2}')
rows=""
ratios=""
best_bare=0; best_serve=0
for r in $(seq 1 "$ROUNDS"); do
    read -r b_rps b_p99 b_bad < <(run http://127.0.0.1:18080/policies/cee/simulate bench/load/simulate.lua 32)
    read -r s_rps s_p99 s_bad < <(run http://127.0.0.1:18081/policies/cee/simulate bench/load/simulate.lua 32)
    [ "$s_bad" = 0 ] || { echo "simulate: $s_bad non-2xx answers" >&2; cat "$tmp/wrk.err" >&2; exit 1; }
    ratio=$(awk -v s="$s_rps" -v b="$b_rps" 'BEGIN { printf "%.0f", 100*s/b }')
    rows+="| $r | ${b_rps%.*} | $b_p99 | ${s_rps%.*} | $s_p99 | $ratio % |"$'\n'
    ratios+="$ratio "
    best_bare=$(awk -v a="$best_bare" -v b="$b_rps" 'BEGIN { print (b>a)?b:a }')
    best_serve=$(awk -v a="$best_serve" -v b="$s_rps" 'BEGIN { print (b>a)?b:a }')
    echo "round $r: bare axum ${b_rps} req/s (p99 ${b_p99} ms), cee serve ${s_rps} req/s (p99 ${s_p99} ms): ${ratio} %"
done
ratio_best=$(awk -v s="$best_serve" -v b="$best_bare" 'BEGIN { printf "%.0f", 100*s/b }')
ratio_median=$(tr ' ' '\n' <<<"$ratios" | grep . | sort -n | awk '{ a[NR]=$1 } END { print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2 }')
echo "simulate: best of each ${ratio_best} % of bare axum; median of the rounds' ratios ${ratio_median} %"

reg_rows=""
for c in 1 32; do
    read -r rps p99 bad < <(RUN_PREFIX=$c run http://127.0.0.1:18081/policies/cee bench/load/register.lua "$c")
    if grep -q "register:" "$tmp/wrk.err"; then echo "register refused requests:" >&2; cat "$tmp/wrk.err" >&2; exit 1; fi
    reg_rows+="| $c | ${rps%.*} | $p99 |"$'\n'
    echo "register, $c connection(s): $rps req/s (p99 $p99 ms)"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

commit=$(git rev-parse --short HEAD)
section=$(cat <<MD
<!-- serve-load:begin -->
## \`cee serve\` under load (bench/load/serve.sh)

Measured $(date -u +%Y-%m-%dT%H:%MZ) at \`$commit\` (plus uncommitted changes if any) on $(nproc) CPUs,
loopback, \`wrk -t1 -d${DURATION}s --latency\`, server and baseline with $WORKERS tokio workers,
\`cee serve\` release build with its default per-request JSON log (to a file). Load average
before / after: $load_before / $load_after (other builds may share the machine: expect noise).

**simulate** (\`POST /policies/cee/simulate\`, 32 connections; a bare axum handler reading the body
and answering 200 is the HTTP stack's limit; target ≥ 70 %):

| round | bare axum req/s | p99 ms | cee serve req/s | p99 ms | serve / bare |
|---|---|---|---|---|---|
$rows
Best of each: **$ratio_best %** of bare axum (median of the rounds' ratios: $ratio_median %; on a
shared machine a round's two runs do not see the same load, so single rounds swing widely).

**register** (\`POST /policies/cee\`, long, durable: each 201 after its fsync, registry on
$fs; a distinct beneficiary per request):

| connections | req/s | p99 ms |
|---|---|---|
$reg_rows
Reproduce: \`bench/load/serve.sh\` (env DURATION, ROUNDS, WORKERS).
<!-- serve-load:end -->
MD
)
python3 - "$section" <<'PY'
import re, sys
section = sys.argv[1]
path = "BENCHMARKS.md"
text = open(path).read()
pat = re.compile(r"<!-- serve-load:begin -->.*?<!-- serve-load:end -->", re.S)
text = pat.sub(lambda _: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
echo "BENCHMARKS.md updated (serve-load section)"
