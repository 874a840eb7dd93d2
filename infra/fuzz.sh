#!/usr/bin/env bash
# Runs schemathesis against a running API: every operation of its published
# OpenAPI document, with generated inputs and every check. Logout and
# password change are left out: they end the session the run uses.
#
# Usage: infra/fuzz.sh            (make fuzz: against make dev)
#
#   FUZZ_BASE_URL      API to test (default http://127.0.0.1:$API_PORT)
#   FUZZ_AS            whose token the run sends:
#                        admin       the administrator of a tenant registered
#                                    for the run (fails if registration is refused)
#                        superadmin  the seeded super admin (devctl seed), acting
#                                    in the platform tenant
#                        auto        (default) admin, or superadmin once this
#                                    machine has used up its registrations for
#                                    the hour (the per-address throttle, which
#                                    the fuzzed register operation also spends)
#   FUZZ_EXAMPLES      generated cases per operation (default 50)
#   FUZZ_SEED          fixed seed: the same inputs on every run (make test
#                      sets one; unset, each run explores new inputs)
#   FUZZ_ARGS          more schemathesis arguments, e.g. '--include-path-regex users'
#
# schemathesis (installed by the bootstrap) reads schemathesis.toml at the
# repository root: the per-operation settings.
# Reports (JUnit XML) land in .local/run/fuzz/.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

base="${FUZZ_BASE_URL:-http://127.0.0.1:${API_PORT:-9000}}"
as="${FUZZ_AS:-auto}"
examples="${FUZZ_EXAMPLES:-50}"
out="$RUN_DIR/fuzz"
venv="$ROOT/.local/venv"
python="$venv/bin/python"

[[ -x "$venv/bin/schemathesis" ]] || die "no schemathesis in .local/venv: run make bootstrap first"

curl -fsS -o /dev/null "$base/api/health/" \
  || die "$base does not answer: start the API with make dev first"
mkdir -p "$out"

# The document is fetched gzip-compressed and checked: cargo lambda watch's
# gateway can lose a large response body (docs/testing.md), so it is retried.
schema="$out/schema.json"
for attempt in 1 2 3 4 5; do
  if curl -fsS --compressed -o "$schema" "$base/api/schema/" \
    && "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$schema" 2>/dev/null; then
    break
  fi
  ((attempt < 5)) || die "could not read $base/api/schema/"
  sleep 1
done

# Each prints the session as `access refresh email password`.
session='import json, sys; d = json.load(sys.stdin); t = d["tokens"]; print(t["access"], t["refresh"], sys.argv[1], sys.argv[2])'

# A tenant of its own, so the run never touches anyone's data.
admin_session() {
  local suffix
  suffix="$(date +%s)-$RANDOM"
  curl -fsS "$base/api/auth/register/" -H 'content-type: application/json' -d "{
    \"tenant_name\": \"Fuzz $suffix\", \"tenant_slug\": \"fuzz-$suffix\",
    \"admin_email\": \"fuzz-$suffix@example.com\", \"admin_first_name\": \"Fuzz\",
    \"admin_password\": \"fuzz-password-$suffix\", \"admin_password_confirm\": \"fuzz-password-$suffix\"}" \
    2>/dev/null | "$python" -c "$session" "fuzz-$suffix@example.com" "fuzz-password-$suffix" 2>/dev/null
}

superadmin_session() {
  local email=superadmin@platform.local password=local-superadmin-pass
  curl -fsS "$base/api/auth/login/" -H 'content-type: application/json' \
    -d "{\"email\": \"$email\", \"password\": \"$password\"}" \
    | "$python" -c "$session" "$email" "$password"
}

case "$as" in
  admin) credentials="$(admin_session)" || die "registration refused: no tenant to fuzz as" ;;
  superadmin) credentials="$(superadmin_session)" || die "could not log in as the seeded super admin" ;;
  auto)
    if ! credentials="$(admin_session)"; then
      log "registration refused (throttled?): using the seeded super admin"
      as=superadmin
      credentials="$(superadmin_session)" || die "could not log in as the seeded super admin"
    fi
    ;;
  *) die "FUZZ_AS must be admin, superadmin or auto (not $as)" ;;
esac
# Read by infra/fuzz_hooks.py, which refreshes the session (or logs in
# again) whenever a fuzzed request has revoked it.
read -r FUZZ_ACCESS_TOKEN FUZZ_REFRESH_TOKEN FUZZ_EMAIL FUZZ_PASSWORD <<<"$credentials"
export FUZZ_BASE_URL="$base" FUZZ_ACCESS_TOKEN FUZZ_REFRESH_TOKEN FUZZ_EMAIL FUZZ_PASSWORD
export SCHEMATHESIS_HOOKS="$ROOT/infra/fuzz_hooks.py"

seed_args=()
[[ -n "${FUZZ_SEED:-}" ]] && seed_args=(--seed "$FUZZ_SEED" --generation-database none)

log "schemathesis as $as: $examples cases per operation against $base (reports in ${out#"$ROOT"/})"
cd "$ROOT"
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of arguments
exec "$venv/bin/schemathesis" --config-file "$ROOT/schemathesis.toml" run "$schema" --url "$base" \
  --checks all --max-examples "$examples" "${seed_args[@]}" \
  --report junit --report-junit-path "$out/junit-$as.xml" \
  --exclude-path-regex '^/api/auth/(logout|password/change)/?$' \
  ${FUZZ_ARGS:-}
