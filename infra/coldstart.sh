#!/usr/bin/env bash
# make coldstart: release builds of every function and of the references in
# infra/hello (hello-lambda, empty; hello-dynamodb, two reads), then
# infra/coldstart.py starts each against a fake Lambda Runtime API on
# loopback, with an in-memory DynamoDB Local on $COLDSTART_DYNAMODB_PORT
# (8003) holding a freshly registered tenant.
#
#   COLDSTART_RUNS (15)          cold starts per function
#   COLDSTART_INVOCATIONS (300)  requests before reading the peak RSS
#   COLDSTART_ARGS               more arguments for coldstart.py (--no-check)
#
# Exits non-zero if a function misses a limit (coldstart.py's docstring).
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

port="${COLDSTART_DYNAMODB_PORT:-8003}"
table="coldstart-platform"
functions=()
for manifest in functions/*/Cargo.toml; do
  functions+=("$(awk '/^\[package\]/ { p = 1 } p && /^name *=/ { gsub(/.*= *"|".*/, ""); print; exit }' "$manifest")")
done

log "cargo build --release (${#functions[@]} functions, the references, devctl)"
cargo build --release -q "${functions[@]/#/--package=}" -p hello-lambda -p devctl

work="$(mktemp -d)"
cleanup() {
  bash infra/dynamodb.sh stop --port "$port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash infra/dynamodb.sh start --mode test --port "$port"

export TABLE_NAME="$table" DYNAMODB_ENDPOINT="http://127.0.0.1:$port" \
  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
  AWS_EC2_METADATA_DISABLED=true LOCAL_DEV=1 KEYS_DIR="$work/keys" \
  JWT_SIGNING_KEY_FILE="$work/keys/signing-key.json" JWT_PUBLIC_KEYS_FILE="$work/keys/jwks.json" \
  FRONTEND_URL=http://localhost:3000 EMAIL_FROM=noreply@example.com SES_ENDPOINT=http://127.0.0.1:9
env -u AWS_PROFILE -u AWS_SESSION_TOKEN target/release/devctl seed >/dev/null
# The functions get only what Lambda would give them (coldstart.py picks
# these variables out; no AWS_EC2_METADATA_DISABLED, no profile). Mail goes
# through SES as on AWS (its client is built on the first message; the endpoint is a closed local port).
# shellcheck disable=SC2086  # COLDSTART_ARGS is a list of arguments
python3 infra/coldstart.py --bin-dir target/release \
  --functions "$(IFS=,; echo "${functions[*]}")" \
  --runs "${COLDSTART_RUNS:-15}" --invocations "${COLDSTART_INVOCATIONS:-300}" ${COLDSTART_ARGS:-}
