#!/usr/bin/env bash
# make loadtest: the dev stack in release mode (DynamoDB Local in memory on
# $LOADTEST_DYNAMODB_PORT (8004), `cargo lambda watch --release` on
# $LOADTEST_API_PORT (9004)), driven by wrk through infra/loadtest.py.
#
#   LOADTEST_DURATION (10)     seconds per scenario
#   LOADTEST_CONNECTIONS (16)  open connections
#
# wrk comes from the system (Debian's package; installed with apt-get when
# missing and run as root).
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

db_port="${LOADTEST_DYNAMODB_PORT:-8004}"
api_port="${LOADTEST_API_PORT:-9004}"
table="loadtest-platform"

if ! command -v wrk >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing wrk (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  else
    die "wrk is needed (Debian: apt-get install wrk)"
  fi
fi
port_open "$api_port" && die "port $api_port is in use (LOADTEST_API_PORT=...)"

log "cargo build --release (devctl; the functions build on their first request)"
cargo build --release -q -p devctl

work="$(mktemp -d)"
watch_pid=""
cleanup() {
  if [[ -n "$watch_pid" ]]; then
    kill -- "-$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  bash infra/dynamodb.sh stop --port "$db_port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash infra/dynamodb.sh start --mode test --port "$db_port"

export TABLE_NAME="$table" DYNAMODB_ENDPOINT="http://127.0.0.1:$db_port" \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
  AWS_EC2_METADATA_DISABLED=true LOCAL_DEV=1 KEYS_DIR="$work/keys" \
  JWT_SIGNING_KEY_FILE="$work/keys/signing-key.json" JWT_PUBLIC_KEYS_FILE="$work/keys/jwks.json" \
  EMAIL_OUTBOX_DIR="$work/mail" FRONTEND_URL=http://localhost:3000 \
  MIMALLOC_ARENA_EAGER_COMMIT=0
unset AWS_PROFILE AWS_SESSION_TOKEN
target/release/devctl seed >/dev/null

# Logs at warn: a JSON line per request would measure the terminal.
printf 'RUST_LOG="warn"\n' >"$work/watch.env"
log "cargo lambda watch --release on 127.0.0.1:$api_port (log: $work/watch.log)"
setsid cargo lambda watch --release --disable-cors -A 127.0.0.1 -P "$api_port" \
  --env-file "$work/watch.env" >"$work/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 120); do port_open "$api_port" && break; sleep 1; done
port_open "$api_port" || { tail -n 30 "$work/watch.log" >&2; die "cargo lambda watch did not start"; }

# `cargo lambda watch` is cargo running cargo-lambda: the gateway is the child.
gateway_pid="$(pgrep -P "$watch_pid" -f cargo-lambda | head -n 1 || true)"
gateway_pid="${gateway_pid:-$watch_pid}"
dynamodb_pid="$(pgrep -f -- "-port $db_port" | head -n 1)"
[[ -n "$dynamodb_pid" ]] || die "DynamoDB Local's process not found"
python3 infra/loadtest.py --base "http://127.0.0.1:$api_port" --bin-dir "$ROOT/target/release" \
  --gateway-pid "$gateway_pid" --dynamodb-pid "$dynamodb_pid" \
  --duration "${LOADTEST_DURATION:-10}" --connections "${LOADTEST_CONNECTIONS:-16}"
# Answers the gateway could not hand on: wrk closes the connections still
# waiting when each run ends (docs/performance.md). More than one per
# connection per run would be a real loss.
abandoned="$(grep -c 'Runtime API returned non-200' "$work/watch.log" || true)"
log "gateway: ${abandoned} answers to requests wrk abandoned at the end of a run (at most ${LOADTEST_CONNECTIONS:-16} per run)"
