#!/usr/bin/env bash
# Runs the token-consumer examples (docs/examples/, docs/consuming-tokens.md)
# against a running API: a step of `make test` (infra/test.sh, against the
# e2e stack), or by hand against `make dev`.
#
# Usage: infra/examples.sh [BASE_URL]
#   BASE_URL  default $E2E_BASE_URL, else http://127.0.0.1:9000
#
#   1. the Python (PyJWT) and Node (jose) self-checks: every case of
#      docs/examples/cases.json through each example's `can`
#   2. a real session: registers a fresh tenant (its administrator's token
#      carries real grants and modules); if registration is refused (ten
#      per address per hour), logs in as the seeded super admin instead
#   3. each example verifies that access token against BASE_URL's JWKS,
#      prints its decision for a few keys and asks
#      POST /api/auth/token/verify/ whether it still stands
#   4. each example refuses the session's refresh token and a copy of the
#      access token whose claims were altered
#   5. the session logs out; the access token still verifies locally, but
#      within the API's REVOCATION_CHECK_SECONDS (1 s in `make test`, 30 s by
#      default) POST /api/auth/token/verify/ answers 401, and both examples
#      then refuse it with --introspect
#
# Needs the venv's PyJWT and .local/node's jose (infra/bootstrap.sh). Every
# part runs; the exit code is non-zero if any failed.
set -uo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT" || exit 1

BASE_URL="${1:-${E2E_BASE_URL:-http://127.0.0.1:9000}}"
PYTHON="$VENV_DIR/bin/python"
PY_EXAMPLE="$ROOT/docs/examples/python/consume.py"
NODE_EXAMPLE="$ROOT/docs/examples/node/consume.mjs"
# consume.mjs looks for jose on NODE_PATH when the import alone does not find it.
export NODE_PATH="$NODE_DIR/node_modules"
KEYS=(crm.leads.view crm.leads.edit tasks.tasks.assign administration.users.view)

FAILED=()
part() {
  local name="$1"
  shift
  log "-- $name"
  "$@" || {
    log "FAILED: $name"
    FAILED+=("$name")
  }
}

# refused CMD...: true if CMD exits 1 (token refused), false otherwise.
refused() {
  local rc=0
  "$@" || rc=$?
  ((rc == 1))
}

if ! "$PYTHON" -c 'import jwt' 2>/dev/null; then
  die "PyJWT is missing from the venv: run infra/bootstrap.sh"
fi
[[ -f "$NODE_DIR/node_modules/jose/package.json" ]] || die "jose is missing from ${NODE_DIR#"$ROOT"/}: run infra/bootstrap.sh"
command -v node >/dev/null 2>&1 || die "node is required"

part "python self-check (cases.json)" "$PYTHON" "$PY_EXAMPLE" self-check
part "node self-check (cases.json)" node "$NODE_EXAMPLE" self-check

# Prints `access refresh who`.
session='import json, sys; t = json.load(sys.stdin)["tokens"]; print(t["access"], t["refresh"], sys.argv[1])'
suffix="$(date +%s)-$RANDOM"
credentials="$(curl -fsS "$BASE_URL/api/auth/register/" -H 'content-type: application/json' -d "{
    \"tenant_name\": \"Examples $suffix\", \"tenant_slug\": \"examples-$suffix\",
    \"admin_email\": \"examples-$suffix@example.com\", \"admin_first_name\": \"Examples\",
    \"admin_password\": \"examples-password-$suffix\", \"admin_password_confirm\": \"examples-password-$suffix\"}" \
  2>/dev/null | "$PYTHON" -c "$session" "the administrator of a tenant registered now" 2>/dev/null)"
if [[ -z "$credentials" ]]; then
  log "registration refused (throttled?): using the seeded super admin"
  credentials="$(curl -fsS "$BASE_URL/api/auth/login/" -H 'content-type: application/json' \
    -d '{"email": "superadmin@platform.local", "password": "local-superadmin-pass"}' \
    | "$PYTHON" -c "$session" "the seeded super admin")"
fi
read -r ACCESS REFRESH WHO <<<"$credentials"
[[ -n "${REFRESH:-}" ]] || die "no session from $BASE_URL: is the API up and seeded?"
log "a session as $WHO"

key_args=()
for key in "${KEYS[@]}"; do key_args+=(--key "$key"); done
export ACCESS_TOKEN="$ACCESS"
part "python verifies the access token against $BASE_URL/.well-known/jwks.json" \
  "$PYTHON" "$PY_EXAMPLE" verify --base-url "$BASE_URL" "${key_args[@]}" --introspect
part "node verifies the access token against $BASE_URL/.well-known/jwks.json" \
  node "$NODE_EXAMPLE" verify --base-url "$BASE_URL" "${key_args[@]}" --introspect

# The same signature over other claims: the payload now says super admin.
TAMPERED="$("$PYTHON" -c '
import base64, json, sys
header, payload, signature = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
claims["is_super_admin"] = True
forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
print(".".join([header, forged, signature]))
' "$ACCESS")"
for token in refresh tampered; do
  if [[ "$token" == refresh ]]; then export ACCESS_TOKEN="$REFRESH"; else export ACCESS_TOKEN="$TAMPERED"; fi
  part "python refuses the $token token" refused "$PYTHON" "$PY_EXAMPLE" verify --base-url "$BASE_URL"
  part "node refuses the $token token" refused node "$NODE_EXAMPLE" verify --base-url "$BASE_URL"
done

# After a logout the token is revoked, which only the platform knows.
logged_out() {
  curl -fsS -o /dev/null "$BASE_URL/api/auth/logout/" -H 'content-type: application/json' \
    -H "authorization: Bearer $ACCESS" -d "{\"refresh\": \"$REFRESH\"}" || return 1
  export ACCESS_TOKEN="$ACCESS"
  local start=$SECONDS
  until refused "$PYTHON" "$PY_EXAMPLE" verify --base-url "$BASE_URL" --introspect >/dev/null; do
    if ((SECONDS - start > ${EXAMPLES_REVOCATION_WAIT:-40})); then
      log "the platform still accepts the token $((SECONDS - start)) s after the logout"
      return 1
    fi
    sleep 1
  done
  log "revoked after $((SECONDS - start)) s"
  refused "$PYTHON" "$PY_EXAMPLE" verify --base-url "$BASE_URL" --introspect \
    && refused node "$NODE_EXAMPLE" verify --base-url "$BASE_URL" --introspect
}
part "after a logout, both examples refuse the access token with --introspect" logged_out

if ((${#FAILED[@]})); then
  log "failed:"
  printf '  - %s\n' "${FAILED[@]}" >&2
  exit 1
fi
log "the Python and Node examples agree with cases.json and with the running API"
