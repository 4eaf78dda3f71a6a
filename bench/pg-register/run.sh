#!/usr/bin/env bash
# PostgreSQL doing the registration transaction of register.sql with synchronous_commit = on, at
# 1 and 16 clients (pgbench, Unix socket only): the figures next to
# register/long/immediate{,_16_writers} in BENCHMARKS.md. A throwaway cluster in a temporary
# directory under ${CEE_BENCH_DIR:-/tmp} (the same disk as the bench's registry), removed after.
# Knobs: PG_BIN (default /usr/lib/postgresql/15/bin), ROWS preloaded entries (default 60000),
# SECS per run (default 15). initdb refuses root: the cluster runs as user postgres.
set -euo pipefail
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
ROWS="${ROWS:-60000}"
SECS="${SECS:-15}"
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d "${CEE_BENCH_DIR:-/tmp}/cee-pg-XXXXXX")"
chown postgres "$dir"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() { as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c synchronous_commit=on -c fsync=on" start >/dev/null
psql() { as_pg "$PG_BIN/psql" -h "$dir" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -c "
CREATE TABLE meta (id INT PRIMARY KEY, head BIGINT NOT NULL);
INSERT INTO meta VALUES (1, 0);
CREATE TABLE entry (pseudonym BYTEA NOT NULL, journey_type SMALLINT NOT NULL, datetime BIGINT NOT NULL,
                    uuid BYTEA NOT NULL, operator INT NOT NULL, kind SMALLINT NOT NULL);
INSERT INTO entry SELECT decode(md5('h' || i), 'hex'), (i % 2)::smallint, 1600000000000 + i,
                         decode(md5('hu' || i), 'hex'), 1 + i % 3, 0 FROM generate_series(1, $ROWS) i;
CREATE INDEX ON entry (pseudonym, journey_type, datetime DESC) INCLUDE (operator, uuid);
CREATE TABLE app (uuid BYTEA PRIMARY KEY, record BYTEA NOT NULL);
CREATE TABLE change (seq BIGINT PRIMARY KEY, delta BYTEA NOT NULL);"
psql -c "VACUUM ANALYZE"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), synchronous_commit = on, $ROWS rows, ${SECS} s per run, in $dir"
for clients in 1 16; do
  out="$(as_pg "$PG_BIN/pgbench" -h "$dir" -U postgres -n -f "$here/register.sql" -c "$clients" -j 2 -T "$SECS" postgres)"
  tps="$(grep -oP 'tps = \K[0-9.]+' <<<"$out" | head -1)"
  lat="$(grep -oP 'latency average = \K[0-9.]+ ms' <<<"$out")"
  printf 'clients %2d: %s registrations/s, latency average %s\n' "$clients" "$tps" "$lat"
done
