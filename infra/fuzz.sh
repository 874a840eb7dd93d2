#!/usr/bin/env bash
# Runs schemathesis against a running API (`make dev` in another terminal):
# every operation of the published OpenAPI document, with generated inputs,
# as the administrator of a tenant registered for the run. Logout and
# password change are left out: they end the session the run uses.
#
# Usage: infra/fuzz.sh            (make fuzz)
#
#   FUZZ_BASE_URL      API to test (default http://127.0.0.1:$API_PORT)
#   FUZZ_EXAMPLES      generated cases per operation (default 50)
#   FUZZ_ARGS          more schemathesis arguments, e.g. '--include-path-regex users'
#
# schemathesis is installed into .local/venv on first use (it is not needed
# by `make test`). Reports (JUnit XML) land in .local/run/fuzz/.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEMATHESIS_VERSION=4.32.5
base="${FUZZ_BASE_URL:-http://127.0.0.1:${API_PORT:-9000}}"
examples="${FUZZ_EXAMPLES:-50}"
out="$RUN_DIR/fuzz"
venv="$ROOT/.local/venv"

[[ -x "$venv/bin/python" ]] || die "no .local/venv: run make bootstrap first"
if [[ "$("$venv/bin/schemathesis" --version 2>/dev/null || true)" != *"$SCHEMATHESIS_VERSION"* ]]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into .local/venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

curl -fsS -o /dev/null "$base/api/health/" \
  || die "$base does not answer: start the API with make dev first"
mkdir -p "$out"

# The document is fetched gzip-compressed and checked: the local gateway can
# lose a large response body (docs/testing.md), so it is retried.
schema="$out/schema.json"
for attempt in 1 2 3 4 5; do
  if curl -fsS --compressed -o "$schema" "$base/api/schema/" \
    && "$venv/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$schema" 2>/dev/null; then
    break
  fi
  ((attempt < 5)) || die "could not read $base/api/schema/"
  sleep 1
done

# A tenant of its own, so the run never touches anyone's data. Within an
# hour of ten registrations from this machine (the per-address throttle,
# which the fuzzed register operation also spends) the run falls back to the
# super admin `make dev` seeds, acting in the platform tenant.
suffix="$(date +%s)-$RANDOM"
json_token='import json, sys; d = json.load(sys.stdin); print(d["tokens"]["access"])'
if ! token="$(curl -fsS "$base/api/auth/register/" -H 'content-type: application/json' -d "{
  \"tenant_name\": \"Fuzz $suffix\", \"tenant_slug\": \"fuzz-$suffix\",
  \"admin_email\": \"fuzz-$suffix@example.com\", \"admin_first_name\": \"Fuzz\",
  \"admin_password\": \"fuzz-password-$suffix\", \"admin_password_confirm\": \"fuzz-password-$suffix\"}" \
  2>/dev/null | "$venv/bin/python" -c "$json_token" 2>/dev/null)"; then
  log "registration refused (throttled?): using the seeded super admin"
  token="$(curl -fsS "$base/api/auth/login/" -H 'content-type: application/json' \
    -d '{"email": "superadmin@platform.local", "password": "local-superadmin-pass"}' \
    | "$venv/bin/python" -c "$json_token")" || die "could not log in as the seeded super admin"
fi

log "schemathesis: $examples cases per operation against $base (reports in ${out#"$ROOT"/})"
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of arguments
# schemathesis.toml (repository root): the per-operation expectations.
exec "$venv/bin/schemathesis" --config-file "$ROOT/schemathesis.toml" run "$schema" --url "$base" \
  --checks all --max-examples "$examples" \
  --header "Authorization: Bearer $token" \
  --report junit --report-dir "$out" \
  --exclude-path-regex '^/api/auth/(logout|password/change)/?$' \
  ${FUZZ_ARGS:-}
