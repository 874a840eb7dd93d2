#!/usr/bin/env python3
"""Drives the release dev stack with wrk and splits the CPU (`make loadtest`).

infra/loadtest.sh starts DynamoDB Local and `cargo lambda watch --release`;
this script makes the data (a registered tenant, its users), warms every
function up (the first request compiles it), then for each scenario runs
`wrk --latency` for a fixed time and reads, from /proc, the CPU time that
each process spent meanwhile: the function, the local gateway (cargo lambda
watch), DynamoDB Local and wrk itself. Prints one Markdown table.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

TICK = os.sysconf("SC_CLK_TCK")
PASSWORD = "load-test-password"


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None,
         timeout: float = 30.0) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("accept", "application/json")
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            raw = res.read()
            return res.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw[:300].decode(errors="replace")}


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def pids_running(binary: str) -> list[int]:
    """Processes whose executable is `binary` (the functions that cargo lambda watch started)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.path.realpath(f"/proc/{entry}/exe") == binary:
                found.append(int(entry))
        except OSError:
            continue
    return found


def parse_wrk(out: str) -> dict:
    def duration_ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": duration_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": duration_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
    }
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1).strip() if errors else ""
    return result


def wrk_script(method: str, token: str | None, body: dict | None) -> str:
    lines = [f'wrk.method = "{method}"', 'wrk.headers["accept"] = "application/json"']
    if token:
        lines.append(f'wrk.headers["authorization"] = "Bearer {token}"')
    if body is not None:
        lines.append('wrk.headers["content-type"] = "application/json"')
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--bin-dir", required=True, help="where cargo lambda watch's release binaries are")
    p.add_argument("--gateway-pid", type=int, required=True, help="cargo lambda watch")
    p.add_argument("--dynamodb-pid", type=int, required=True, help="DynamoDB Local's java")
    p.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--users", type=int, default=24, help="users to create besides the admin")
    args = p.parse_args()
    base = args.base

    slug = f"load{uuid.uuid4().hex[:8]}"
    admin = f"admin@{slug}.example.com"
    print(f"registering tenant {slug} (the auth function compiles first) ...", file=sys.stderr)
    status, body = call(base, "POST", "/api/auth/register/", body={
        "tenant_name": "Load Test", "tenant_slug": slug, "admin_email": admin,
        "admin_password": PASSWORD, "admin_password_confirm": PASSWORD, "admin_first_name": "Ada",
    }, timeout=1800)
    if status != 201:
        raise SystemExit(f"registration: {status} {body}")
    token = body["tokens"]["access"]

    print(f"creating up to {args.users} users (the users function compiles first) ...", file=sys.stderr)
    created = 0
    for i in range(args.users):
        status, body = call(base, "POST", "/api/users/", token, {
            "email": f"user{i:03}@{slug}.example.com", "password": PASSWORD,
            "password_confirm": PASSWORD, "first_name": f"User{i:03}", "last_name": "Load",
        }, timeout=1800)
        if status == 403 and body.get("code") == "plan_limit_reached":
            break
        if status != 201:
            raise SystemExit(f"creating a user: {status} {body}")
        created += 1

    scenarios = [
        ("users", "GET /api/users/me/", "GET", "/api/users/me/", token, None),
        ("roles", "GET /api/roles/", "GET", "/api/roles/", token, None),
        ("users", "GET /api/users/?is_active=true&search=user", "GET",
         "/api/users/?is_active=true&search=user", token, None),
        ("auth", "POST /api/auth/login/", "POST", "/api/auth/login/", None,
         {"email": admin, "password": PASSWORD}),
    ]
    # Warm up: every function answers once before its measurement.
    for function, _, method, path, tok, body in scenarios:
        status, answer = call(base, method, path, tok, body, timeout=1800)
        if status != 200:
            raise SystemExit(f"{method} {path}: {status} {answer}")

    rows = []
    script_dir = tempfile.mkdtemp(prefix="loadtest-")
    for function, label, method, path, tok, body in scenarios:
        script = os.path.join(script_dir, f"{function}-{len(rows)}.lua")
        with open(script, "w") as f:
            f.write(wrk_script(method, tok, body))
        fn_pids = pids_running(os.path.join(args.bin_dir, function))
        if not fn_pids:
            raise SystemExit(f"no running {function} process under {args.bin_dir}")
        watched = {"function": fn_pids, "gateway": [args.gateway_pid], "dynamodb": [args.dynamodb_pid]}
        before = {k: sum(cpu_seconds(x) for x in v) for k, v in watched.items()}
        proc = subprocess.Popen(
            ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
             "-s", script, base + path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # wrk's own CPU, read just before it exits.
        wrk_cpu = 0.0
        while proc.poll() is None:
            try:
                wrk_cpu = cpu_seconds(proc.pid)
            except (OSError, IndexError):
                pass
            time.sleep(0.2)
        out = proc.stdout.read()
        after = {k: sum(cpu_seconds(x) for x in v) for k, v in watched.items()}
        if proc.returncode != 0:
            raise SystemExit(f"wrk failed:\n{out}")
        result = parse_wrk(out)
        n = max(result["requests"], 1)
        cpu = {k: (after[k] - before[k]) * 1000 / n for k in watched}
        cpu["wrk"] = wrk_cpu * 1000 / n
        rows.append((label, result, cpu))

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; tenant with {created + 1} users; "
          f"CPU in ms per request (the machine has {os.cpu_count()} cores)")
    print()
    print("| request | req/s | p50 ms | p99 ms | non-2xx | function CPU | gateway CPU | DynamoDB Local CPU | wrk CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, r, cpu in rows:
        print(f"| `{label}` | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['non2xx']} "
              f"| {cpu['function']:.2f} | {cpu['gateway']:.2f} | {cpu['dynamodb']:.2f} | {cpu['wrk']:.2f} |")
    bad = [label for label, r, _ in rows if r["non2xx"] or r["socket_errors"]]
    if bad:
        print(f"\nerrors under load: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
