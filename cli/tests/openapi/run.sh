#!/usr/bin/env bash
# OpenAPI contract test: schemathesis (PyPI) drives a live `cee serve` from its own
# /openapi.json — no 5xx, every response's status, content type and body match the document.
# Bounded: small --max-examples, a --max-time budget, the whole script under `timeout`.
# Needs python3 with venv; installs schemathesis into target/openapi-venv (pinned version).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ST_VERSION="${ST_VERSION:-4.32.5}"
VENV=target/openapi-venv
if [ ! -x "$VENV/bin/st" ] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION"
fi
cargo build -q -p cee-cli
CEE=target/debug/cee

tmp=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

admin="contract-test-admin-token"
hash=$(printf '%s' "$admin" | "$CEE" token-hash)
printf '[{"token_sha256":"%s","operator_id":1,"siret":"89248032800012","role":"admin"}]' "$hash" > "$tmp/tokens.json"
export CEE_SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"$CEE" serve --create --db "$tmp/db" --tokens "$tmp/tokens.json" --addr 127.0.0.1:0 \
    --now 2024-06-15T12:00:00Z --rate-limit 1000000 --workers 2 --backup-dir "$tmp/backups" 2> "$tmp/server.log" &
server=$!
addr=""
for _ in $(seq 1 100); do
    addr=$(head -1 "$tmp/server.log" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read() or "{}").get("addr",""))' 2>/dev/null || true)
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { echo "openapi: server did not start"; cat "$tmp/server.log"; exit 1; }

set +e
timeout 150 "$VENV/bin/st" run "http://$addr/openapi.json" \
    --header "Authorization: Bearer $admin" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${MAX_EXAMPLES:-25}" --max-time "${MAX_TIME:-60}" --workers 2 --seed 1 \
    --request-timeout 10 --no-color
status=$?
set -e
# The server must have logged no 5xx.
if grep -q '"status":5[0-9][0-9]' "$tmp/server.log"; then
    echo "openapi: the server answered 5xx:"; grep '"status":5[0-9][0-9]' "$tmp/server.log" | head
    exit 1
fi
exit $status
