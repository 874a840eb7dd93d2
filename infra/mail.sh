#!/usr/bin/env bash
# Prints the newest messages of the local email outbox (make mail): who to,
# subject, when, and the links in each, newest last.
#
#   infra/mail.sh DIR [N]     N messages (default 5)
#
# The functions write one JSON file per message into DIR when
# EMAIL_OUTBOX_DIR is set (make dev sets it); see shared/src/email.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="${1:?usage: infra/mail.sh DIR [N]}"
count="${2:-5}"
[[ "$count" =~ ^[0-9]+$ ]] || die "N must be a number (got '$count')"

python=python3
[[ -x "$VENV_DIR/bin/python" ]] && python="$VENV_DIR/bin/python"

"$python" - "$dir" "$count" <<'PY'
import json, os, sys

folder, count = sys.argv[1], int(sys.argv[2])
try:
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
except FileNotFoundError:
    names = []
if not names:
    print(f"no messages in {folder}")
    sys.exit(0)
shown = names[-count:] if count else []
print(f"{len(shown)} of {len(names)} messages in {folder} (newest last)")
for name in shown:
    try:
        with open(os.path.join(folder, name)) as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        print(f"\n{name}: unreadable ({e})")
        continue
    print()
    print(f"  to:      {m.get('to', '?')}")
    print(f"  subject: {m.get('subject', '?')}")
    print(f"  sent at: {m.get('sent_at', '?')}")
    for link in m.get("links", []):
        print(f"  link:    {link}")
PY
