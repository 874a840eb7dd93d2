#!/usr/bin/env bash
# Runs every check of the project: the one behind `make test` (and .ci/run).
#
# Usage: infra/test.sh [all|lint]
#
#   lint  lints only: sam validate --lint, cfn-lint, check-jsonschema
#           (GitHub workflows), cargo fmt --check, cargo clippy -D warnings
#   all   (default) cargo build --workspace --all-targets in the background
#         while bootstrap and the lints run, then
#           1. DynamoDB Local in test mode (in memory) on $DYNAMODB_TEST_PORT (8001)
#           2. the build's end, then a check that the function binaries as
#              cargo lambda watch builds them are fresh (docs/testing.md),
#              and the TypeScript client check (tests/client/)
#           3. devctl create-table + seed for the table $E2E_TABLE_NAME (e2e-platform)
#           4. cargo lambda watch on 127.0.0.1:$E2E_API_PORT (9001), wait until
#              /api/schema/ answers, then GET one routed path of every function
#           5. cargo test --workspace with DYNAMODB_ENDPOINT and E2E_BASE_URL
#           6. the token-consumer examples (infra/examples.sh against
#              E2E_BASE_URL): the Python (PyJWT) and Node (jose) examples of
#              docs/consuming-tokens.md run docs/examples/cases.json, then
#              verify a freshly registered tenant administrator's token
#              against the stack's JWKS, print their decisions for a few
#              keys, refuse a refresh and a tampered token, and see the token
#              revoked through POST /api/auth/token/verify/ after a logout
#           7. schemathesis (infra/fuzz.sh) against every function in one
#              process behind an emulated API Gateway (tests/gateway) on
#              127.0.0.1:$FUZZ_API_PORT (9002), table $FUZZ_TABLE_NAME: as a
#              tenant's administrator, then as the super admin (platform
#              operations), a fixed seed, 50 cases per operation
#           8. the IAM check: every AWS call the tests and the fuzzer saw a
#              function make against its policy in template.yaml
#              (cargo test --test iam)
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
FUZZ_API_PORT="${FUZZ_API_PORT:-9002}"
FUZZ_TABLE_NAME="${FUZZ_TABLE_NAME:-fuzz-platform}"
# The same generated inputs on every run: a failure is the code's, never
# the draw's. Change it (or unset it in infra/fuzz.sh runs) to explore.
FUZZ_SEED="${FUZZ_SEED:-20261129}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

FAILED=()
WATCH_PID=""
PROBE_PID=""
GATEWAY_PID=""
WATCH_PID_FILE="$RUN_DIR/watch-$E2E_API_PORT.pid"
WATCH_LOG="$RUN_DIR/watch-$E2E_API_PORT.log"
WATCH_ENV="$RUN_DIR/watch-$E2E_API_PORT.env"

# step NAME CMD...: run a step, remember it if it fails; say how long it took
# (and how far into the run it ended).
step() {
  local name="$1" start=$SECONDS
  shift
  log "==> $name"
  if "$@"; then
    log "<== $name: $((SECONDS - start))s (at $(elapsed))"
    return 0
  fi
  log "FAILED: $name ($((SECONDS - start))s)"
  FAILED+=("$name")
  return 1
}

elapsed() {
  printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60))
}

# The workspace build needs cargo alone, so it runs in the background while
# the tools install and the lints run (most of a fresh clone's time is this
# build, on both cores). Its output is shown when it ends.
BUILD_PID=""
BUILD_LOG="$RUN_DIR/cargo-build.log"
start_build() {
  mkdir -p "$RUN_DIR"
  log "building the workspace in the background (log ${BUILD_LOG#"$ROOT"/})"
  cargo build --workspace --all-targets --timings >"$BUILD_LOG" 2>&1 </dev/null &
  BUILD_PID=$!
}

wait_build() {
  local rc=0
  wait "$BUILD_PID" || rc=$?
  BUILD_PID=""
  cat "$BUILD_LOG" >&2
  ((rc == 0)) && log "build timings: target/cargo-timings/cargo-timing.html"
  return "$rc"
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
  step "cargo fmt --check" check_format
  step "cargo clippy -D warnings" check_clippy
}

# In `make test` this waits for the background build's lock on target/,
# then checks in its own (check-mode) artifacts: the build's stay fresh.
check_clippy() {
  if ! cargo clippy --version >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1; then
    rustup component add clippy >&2 || return 1
  fi
  cargo clippy -q --workspace --all-targets -- -D warnings
}

check_format() {
  if ! cargo fmt --version >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt >&2 || return 1
  fi
  cargo fmt --all -- --check
}

summary() {
  if ((${#FAILED[@]})); then
    log "failed steps:"
    printf '  - %s\n' "${FAILED[@]}" >&2
    return 1
  fi
  return 0
}

# cargo lambda watch runs `cargo run --bin NAME` for each function on its first
# request, and the Makefile runs devctl with `cargo run --bin devctl`. With a
# virtual workspace and `--bin`, cargo resolves features for every member, and
# the workspace keeps dev-dependencies from adding features (docs/testing.md),
# so those builds are the one just made. This checks it: any crate compiled
# here would be compiled a second time, with other features, by a fresh clone.
check_one_feature_set() {
  local out="$RUN_DIR/cargo-bins.json" rebuilt
  mkdir -p "$RUN_DIR"
  cargo build --workspace --bins --message-format=json >"$out" || return 1
  rebuilt="$("$VENV_DIR/bin/python" -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and not m["fresh"]:
        print("  " + m["package_id"] + " (" + m["target"]["name"] + ")")
' "$out")"
  if [[ -n "$rebuilt" ]]; then
    log "the function binaries as cargo lambda watch builds them were not fresh after the workspace build:"
    printf '%s\n' "$rebuilt" >&2
    log "some crate gets other features there than in the test build: see docs/testing.md (one feature set)"
    return 1
  fi
  log "every function binary is fresh: one feature set for build, watch and test"
}

# The OpenAPI document through a generated client: openapi-typescript turns
# the document the docs function serves (functions/docs/openapi.json, held
# to the code by a test) into types (tests/client/schema.ts, ignored by
# git) and `tsc --strict` checks tests/client/main.ts against them.
typescript_client() {
  local bin="$NODE_DIR/node_modules/.bin"
  "$bin/openapi-typescript" "$ROOT/functions/docs/openapi.json" -o "$ROOT/tests/client/schema.ts" >&2 || return 1
  "$bin/tsc" -p "$ROOT/tests/client" --strict || return 1
  log "the generated client type-checks tests/client/main.ts"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$PROBE_PID" ]] && kill "$PROBE_PID" 2>/dev/null
  [[ -n "$BUILD_PID" ]] && kill_tree "$BUILD_PID" 5
  [[ -n "$GATEWAY_PID" ]] && kill_tree "$GATEWAY_PID" 5
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
  # A 1-second revocation check, so the end-to-end revocation test waits
  # little (the default is 30 s).
  # Email goes to an outbox under .local/run (nothing is sent).
  env -u RUST_LOG TABLE_NAME="$E2E_TABLE_NAME" REVOCATION_CHECK_SECONDS=1 \
    EMAIL_OUTBOX_DIR="$RUN_DIR/mail-$E2E_API_PORT" \
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

# Start every function behind the gateway once, with a real API Gateway event:
# one GET through the local gateway to a path the router table sends to it (a
# JSON 401/404/405 from the function is fine: it is up). A function that dies
# at start-up (missing setting, say) would otherwise only show up as e2e
# requests that hang. billing-scheduler has no route and no e2e test; the api
# tests run its tick in-process.
function_paths() {
  "$VENV_DIR/bin/python" -c '
import sys, tomllib
router = tomllib.load(open(sys.argv[1], "rb"))["workspace"]["metadata"]["lambda"]["watch"]["router"]
first = {}
for path, function in router.items():
    if "{" not in path:
        first.setdefault(function, path)
for function, path in sorted(first.items()):
    print(function, path)
' "$ROOT/Cargo.toml"
}

start_functions() {
  local name path code rc=0 probe="$RUN_DIR/watch-$E2E_API_PORT.probe"
  while read -r name path; do
    curl -s -o /dev/null -w '%{http_code}' --max-time "${FUNCTION_START_TIMEOUT:-120}" \
      "http://127.0.0.1:$E2E_API_PORT$path" >"$probe" 2>/dev/null &
    PROBE_PID=$!
    wait "$PROBE_PID"
    PROBE_PID=""
    code="$(cat "$probe" 2>/dev/null)"
    if [[ "$code" =~ ^[1-4][0-9][0-9]$ ]]; then
      log "function $name is up (GET $path: $code)"
    else
      log "function $name did not answer GET $path (HTTP ${code:-000})"
      rc=1
    fi
  done < <(function_paths)
  ((rc == 0)) || show_log_tail "$WATCH_LOG" 60
  return "$rc"
}

main_lint() {
  bash "$ROOT/infra/bootstrap.sh" || exit 1
  run_lints
  summary
}

main_all() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

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

  command -v cargo >/dev/null 2>&1 || die "cargo is required (install Rust with rustup: https://rustup.rs)"
  start_build
  step "bootstrap" bash "$ROOT/infra/bootstrap.sh" || exit 1
  run_lints

  # A fresh in-memory database for every run.
  bash "$ROOT/infra/dynamodb.sh" stop --port "$DYNAMODB_TEST_PORT" >/dev/null 2>&1
  if ! step "DynamoDB Local (test) on 127.0.0.1:$DYNAMODB_TEST_PORT" \
    bash "$ROOT/infra/dynamodb.sh" start --mode test --port "$DYNAMODB_TEST_PORT"; then
    summary
    exit 1
  fi

  if ! step "cargo build --workspace --all-targets --timings" wait_build; then
    summary
    exit 1
  fi
  step "one feature set (function binaries fresh)" check_one_feature_set
  step "TypeScript client (openapi-typescript, tsc --strict)" typescript_client

  step "devctl create-table ($E2E_TABLE_NAME)" env TABLE_NAME="$E2E_TABLE_NAME" cargo run -q --bin devctl -- create-table
  step "devctl seed ($E2E_TABLE_NAME)" env TABLE_NAME="$E2E_TABLE_NAME" cargo run -q --bin devctl -- seed

  if step "cargo lambda watch on 127.0.0.1:$E2E_API_PORT" start_watch; then
    step "wait for $E2E_BASE_URL/api/schema/" wait_watch \
      && step "start each function" start_functions
  fi

  rm -f "$TEST_LOG"
  step "cargo test --workspace" run_tests
  # After the tests, so that its registration and logout touch nothing they
  # look at.
  step "token-consumer examples (Python, Node) against $E2E_BASE_URL" \
    bash "$ROOT/infra/examples.sh" "$E2E_BASE_URL"
  step "schemathesis (admin, super admin) on 127.0.0.1:$FUZZ_API_PORT" run_fuzz
  step "IAM policies against the calls the tests made" run_iam_check
  log "total: $(elapsed)"
  summary
  local rc=$?
  # Last, so that the test totals close the output.
  test_totals
  return "$rc"
}

# cargo test prints one summary per test binary (doc tests last, often with
# nothing to run); test_totals adds them up to close the output.
TEST_LOG="$RUN_DIR/cargo-test.log"
run_tests() {
  mkdir -p "$RUN_DIR"
  # The test processes append the AWS calls each function made here; the
  # IAM check reads them, so only this run's calls may be there.
  rm -rf "$ROOT/target/iam-calls"
  cargo test --workspace --no-fail-fast 2>&1 | tee "$TEST_LOG"
  return "${PIPESTATUS[0]}"
}

# schemathesis against the functions' routers in one process (tests/gateway):
# cargo lambda watch's gateway answers 500 itself to bodies that are not
# UTF-8 and can lose a response body (docs/testing.md), which would make a
# fuzzer's verdict the emulator's. Its own table, seeded with the super admin.
FUZZ_LOG="$RUN_DIR/gateway-$FUZZ_API_PORT.log"
run_fuzz() {
  local rc=0 start=$SECONDS
  if port_open "$FUZZ_API_PORT"; then
    log "port $FUZZ_API_PORT is already in use:"
    port_owner "$FUZZ_API_PORT" >&2
    return 1
  fi
  env TABLE_NAME="$FUZZ_TABLE_NAME" cargo run -q --bin devctl -- create-table >/dev/null || return 1
  env TABLE_NAME="$FUZZ_TABLE_NAME" cargo run -q --bin devctl -- seed >/dev/null || return 1
  env TABLE_NAME="$FUZZ_TABLE_NAME" REVOCATION_CHECK_SECONDS=1 \
    setsid cargo run -q --bin gateway -- "$FUZZ_API_PORT" >"$FUZZ_LOG" 2>&1 </dev/null &
  GATEWAY_PID=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:$FUZZ_API_PORT/api/health/" 2>/dev/null; do
    if ! pid_alive "$GATEWAY_PID" || ((SECONDS - start > 60)); then
      log "the gateway did not start"
      show_log_tail "$FUZZ_LOG" 30
      return 1
    fi
    sleep 0.5
  done
  export FUZZ_BASE_URL="http://127.0.0.1:$FUZZ_API_PORT" FUZZ_SEED FUZZ_EXAMPLES=50
  FUZZ_AS=admin bash "$ROOT/infra/fuzz.sh" || rc=1
  FUZZ_AS=superadmin FUZZ_ARGS="--include-tag-regex ^(plans|tenants|subscriptions|invoices)$" \
    bash "$ROOT/infra/fuzz.sh" || rc=1
  kill_tree "$GATEWAY_PID" 5
  GATEWAY_PID=""
  # A function's own 500 would show as a failed check above; the log has its cause.
  return "$rc"
}

# Not part of `cargo test --workspace` (test = false): it must run after
# every other test binary (docs/testing.md).
run_iam_check() {
  cargo test -p tests --test iam 2>&1 | tee -a "$TEST_LOG"
  return "${PIPESTATUS[0]}"
}

test_totals() {
  [[ -f "$TEST_LOG" ]] || return 0
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
       END { printf "tests: %d passed, %d failed\n", p, f }' "$TEST_LOG"
}

case "${1:-all}" in
  all) main_all ;;
  lint) main_lint ;;
  *) echo "usage: $0 [all|lint]" >&2; exit 2 ;;
esac
