#!/usr/bin/env bash
# Runs every check of the project: the one behind `make test` (and .ci/run).
#
# Usage: infra/test.sh [all|lint]
#
#   lint  template and workflow lints only:
#           sam validate --lint, cfn-lint, check-jsonschema (GitHub workflows)
#   all   (default) bootstrap, the lints, then
#           1. DynamoDB Local in test mode (in memory) on $DYNAMODB_TEST_PORT (8001)
#           2. cargo build --workspace --all-targets, then each function binary
#           3. devctl create-table + seed for the table $E2E_TABLE_NAME (e2e-platform)
#           4. cargo lambda watch on 127.0.0.1:$E2E_API_PORT (9001), wait until
#              /api/schema/ answers, then start every function once
#           5. cargo test --workspace with DYNAMODB_ENDPOINT and E2E_BASE_URL
#         DynamoDB Local and cargo lambda watch are stopped at the end, also on
#         failure or Ctrl-C. Every step runs even if an earlier one failed
#         (except that nothing runs after a failed build); the exit code is
#         non-zero if any step failed.
set -uo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT" || exit 1

DYNAMODB_TEST_PORT="${DYNAMODB_TEST_PORT:-8001}"
E2E_API_PORT="${E2E_API_PORT:-9001}"
E2E_TABLE_NAME="${E2E_TABLE_NAME:-e2e-platform}"
E2E_WAIT_TIMEOUT="${E2E_WAIT_TIMEOUT:-300}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

FAILED=()
WATCH_PID=""
PROBE_PID=""
WATCH_PID_FILE="$RUN_DIR/watch-$E2E_API_PORT.pid"
WATCH_LOG="$RUN_DIR/watch-$E2E_API_PORT.log"
WATCH_ENV="$RUN_DIR/watch-$E2E_API_PORT.env"

# step NAME CMD...: run a step, remember it if it fails.
step() {
  local name="$1"
  shift
  log "==> $name"
  if "$@"; then
    return 0
  fi
  log "FAILED: $name"
  FAILED+=("$name")
  return 1
}

lint_workflows() {
  local files=()
  shopt -s nullglob
  files=(.github/workflows/*.yml .github/workflows/*.yaml)
  shopt -u nullglob
  if ((${#files[@]} == 0)); then
    log "no workflow files to lint"
    return 0
  fi
  check-jsonschema --builtin-schema vendor.github-workflows "${files[@]}"
}

run_lints() {
  if [[ ! -f template.yaml ]]; then
    log "template.yaml is missing"
    FAILED+=("template.yaml present")
  else
    step "sam validate --lint" sam validate --lint --region "$AWS_REGION" -t template.yaml
    step "cfn-lint" cfn-lint template.yaml
  fi
  step "workflow lint" lint_workflows
}

summary() {
  if ((${#FAILED[@]})); then
    log "failed steps:"
    printf '  - %s\n' "${FAILED[@]}" >&2
    return 1
  fi
  return 0
}

# Binary names of the Lambda functions (workspace members under functions/).
function_bins() {
  cargo metadata --no-deps --format-version 1 \
    | "$VENV_DIR/bin/python" -c '
import json, os, sys
root = os.path.realpath(sys.argv[1]) + os.sep
for p in json.load(sys.stdin)["packages"]:
    if os.path.realpath(p["manifest_path"]).startswith(root):
        for t in p["targets"]:
            if "bin" in t["kind"]:
                print(t["name"])
' "$ROOT/functions"
}

# cargo lambda watch runs `cargo run --bin NAME` for each function on its first
# request; building each binary alone first (same package selection, hence the
# same features) makes that start instantly, so no e2e request waits on rustc.
build_functions() {
  local bin rc=0
  for bin in $(function_bins); do
    cargo build --bin "$bin" || rc=1
  done
  return "$rc"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$PROBE_PID" ]] && kill "$PROBE_PID" 2>/dev/null
  if [[ -n "$WATCH_PID" ]]; then
    kill_tree "$WATCH_PID" 15
  fi
  rm -f "$WATCH_PID_FILE" "$WATCH_ENV" "$RUN_DIR/watch-$E2E_API_PORT.probe"
  bash "$ROOT/infra/dynamodb.sh" stop --port "$DYNAMODB_TEST_PORT" >/dev/null 2>&1 || true
  exit "$rc"
}

start_watch() {
  if port_open "$E2E_API_PORT"; then
    log "port $E2E_API_PORT is already in use:"
    port_owner "$E2E_API_PORT" >&2
    return 1
  fi
  mkdir -p "$RUN_DIR"
  log "starting cargo lambda watch on 127.0.0.1:$E2E_API_PORT (log ${WATCH_LOG#"$ROOT"/})"
  # The functions inherit this environment (cargo lambda watch passes it on
  # to `cargo run`), except RUST_LOG, which would also make cargo-lambda's own
  # logging very chatty: the functions get it through --env-file.
  printf 'RUST_LOG="%s"\n' "$RUST_LOG" >"$WATCH_ENV"
  env -u RUST_LOG TABLE_NAME="$E2E_TABLE_NAME" \
    setsid cargo lambda watch --disable-cors -A 127.0.0.1 -P "$E2E_API_PORT" --env-file "$WATCH_ENV" \
    >"$WATCH_LOG" 2>&1 </dev/null &
  WATCH_PID=$!
  echo "$WATCH_PID" >"$WATCH_PID_FILE"
}

# Any HTTP status means the server is up and the docs function ran (the first
# request blocks while cargo lambda watch compiles and starts the function).
wait_watch() {
  local url="http://127.0.0.1:$E2E_API_PORT/api/schema/" start=$SECONDS code next_note=30
  local probe="$RUN_DIR/watch-$E2E_API_PORT.probe"
  while ((SECONDS - start < E2E_WAIT_TIMEOUT)); do
    if ! pid_alive "$WATCH_PID"; then
      log "cargo lambda watch exited"
      show_log_tail "$WATCH_LOG" 60
      return 1
    fi
    # In the background, so that a signal interrupts the `wait` at once.
    curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$url" >"$probe" 2>/dev/null &
    PROBE_PID=$!
    wait "$PROBE_PID"
    PROBE_PID=""
    code="$(cat "$probe" 2>/dev/null)"
    [[ "$code" =~ ^[0-9]{3}$ ]] || code=000
    if [[ "$code" != 000 ]]; then
      log "$url answered HTTP $code after $((SECONDS - start))s"
      [[ "$code" == 5* ]] && show_log_tail "$WATCH_LOG" 30
      return 0
    fi
    if ((SECONDS - start >= next_note)); then
      log "still waiting for $url ($((SECONDS - start))s)"
      next_note=$((next_note + 30))
    fi
    sleep 1
  done
  log "$url did not answer within ${E2E_WAIT_TIMEOUT}s"
  show_log_tail "$WATCH_LOG" 60
  return 1
}

# Start every function once through the Lambda invoke API of cargo lambda
# watch (the payload is no HTTP event, so the function answers with an error,
# which is fine: it is up). A function that dies at start-up (missing setting,
# say) would otherwise only show up as e2e requests that hang.
start_functions() {
  local bin code rc=0 probe="$RUN_DIR/watch-$E2E_API_PORT.probe"
  for bin in $(function_bins); do
    curl -s -o /dev/null -w '%{http_code}' --max-time "${FUNCTION_START_TIMEOUT:-120}" \
      -X POST -H 'Content-Type: application/json' -d '{}' \
      "http://127.0.0.1:$E2E_API_PORT/2015-03-31/functions/$bin/invocations" >"$probe" 2>/dev/null &
    PROBE_PID=$!
    wait "$PROBE_PID"
    PROBE_PID=""
    code="$(cat "$probe" 2>/dev/null)"
    if [[ "$code" =~ ^[0-9]{3}$ && "$code" != 000 ]]; then
      log "function $bin is up"
    else
      log "function $bin did not start (no answer within ${FUNCTION_START_TIMEOUT:-120}s)"
      rc=1
    fi
  done
  ((rc == 0)) || show_log_tail "$WATCH_LOG" 60
  return "$rc"
}

main_lint() {
  bash "$ROOT/infra/bootstrap.sh" || exit 1
  run_lints
  summary
}

main_all() {
  bash "$ROOT/infra/bootstrap.sh" || exit 1
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  run_lints

  export_local_aws_env
  export LOCAL_DEV=1
  export RUST_LOG="${RUST_LOG:-info}"
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_TEST_PORT"
  export E2E_BASE_URL="http://127.0.0.1:$E2E_API_PORT"
  export E2E_TABLE_NAME
  # Development JWT keys: `devctl seed` generates them, the auth function signs
  # with the private one, every function verifies with the public JWKS.
  export KEYS_DIR="${KEYS_DIR:-$LOCAL_DIR/keys}"
  export JWT_SIGNING_KEY_FILE="$KEYS_DIR/signing-key.json"
  export JWT_PUBLIC_KEYS_FILE="$KEYS_DIR/jwks.json"
  export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

  # A fresh in-memory database for every run.
  bash "$ROOT/infra/dynamodb.sh" stop --port "$DYNAMODB_TEST_PORT" >/dev/null 2>&1
  if ! step "DynamoDB Local (test) on 127.0.0.1:$DYNAMODB_TEST_PORT" \
    bash "$ROOT/infra/dynamodb.sh" start --mode test --port "$DYNAMODB_TEST_PORT"; then
    summary
    exit 1
  fi

  if ! step "cargo build --workspace --all-targets" cargo build --workspace --all-targets; then
    summary
    exit 1
  fi
  step "cargo build (each function binary)" build_functions

  step "devctl create-table ($E2E_TABLE_NAME)" env TABLE_NAME="$E2E_TABLE_NAME" cargo run -q -p devctl -- create-table
  step "devctl seed ($E2E_TABLE_NAME)" env TABLE_NAME="$E2E_TABLE_NAME" cargo run -q -p devctl -- seed

  if step "cargo lambda watch on 127.0.0.1:$E2E_API_PORT" start_watch; then
    step "wait for $E2E_BASE_URL/api/schema/" wait_watch \
      && step "start each function" start_functions
  fi

  # Last, so that the test totals close the output.
  step "cargo test --workspace" run_tests
  summary
}

# cargo test prints one summary per test binary (doc tests last, often with
# nothing to run); the grand total across all of them closes the output.
run_tests() {
  local out="$RUN_DIR/cargo-test.log" rc
  mkdir -p "$RUN_DIR"
  cargo test --workspace --no-fail-fast 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
       END { printf "all tests: %d passed, %d failed\n", p, f }' "$out"
  return "$rc"
}

case "${1:-all}" in
  all) main_all ;;
  lint) main_lint ;;
  *) echo "usage: $0 [all|lint]" >&2; exit 2 ;;
esac
