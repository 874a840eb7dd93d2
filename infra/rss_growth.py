#!/usr/bin/env python3
"""A warm function's memory over many invocations (docs/performance.md,
"Memory over a warm instance's life").

Starts one function binary against a fake Lambda Runtime API on loopback
and sends it N invocations of `GET /api/nowhere/` (every function answers a
JSON 404 without calling DynamoDB), each with its own X-Ray trace id in
`Lambda-Runtime-Trace-Id`, as Lambda sends them (`--trace constant` sends
one id throughout, as infra/coldstart.py does). Prints VmRSS along the way
and the growth per invocation after the first thousand.

The function gets the caller's environment plus the Runtime API's
variables; a function that needs configuration to start (every one but the
references) needs it set, for example as `make coldstart` sets it.

    python3 infra/rss_growth.py target/release/hello-lambda --invocations 40000
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
EVENT = json.dumps({
    "version": "2.0", "routeKey": "$default", "rawPath": "/api/nowhere/", "rawQueryString": "",
    "headers": {"host": "api.example.com"},
    "requestContext": {
        "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
        "http": {"method": "GET", "path": "/api/nowhere/", "protocol": "HTTP/1.1",
                 "sourceIp": "198.51.100.20", "userAgent": "rss-growth"},
        "requestId": "rss-growth", "routeKey": "$default", "stage": "$default",
        "time": "30/Nov/2026:10:00:00 +0000", "timeEpoch": 0,
    },
    "isBase64Encoded": False,
}).encode()


def trace_id(unique: bool) -> str:
    if not unique:
        return "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1"
    return f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"


def vm_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--invocations", type=int, default=40000)
    parser.add_argument("--trace", choices=["unique", "constant"], default="unique")
    args = parser.parse_args()

    sent = 0
    lock = threading.Lock()
    finished = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def do_GET(self) -> None:
            nonlocal sent
            with lock:
                if sent >= args.invocations:
                    finished.set()
                    return  # leave the long poll hanging: the function waits
                sent += 1
            headers = {
                "content-type": "application/json",
                "lambda-runtime-aws-request-id": str(uuid.uuid4()),
                "lambda-runtime-deadline-ms": str(int(time.time() * 1000) + 30_000),
                "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-1:123456789012:function:rss",
                "lambda-runtime-trace-id": trace_id(args.trace == "unique"),
                "content-length": str(len(EVENT)),
            }
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(EVENT)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            body = b'{"status":"OK"}'
            self.send_response(202)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, *_args) -> None:
            pass  # the function's connections reset when it is killed

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(args.binary),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "RUST_LOG": "warn",
        # The functions' allocator as deployed (template.yaml's Globals).
        "MIMALLOC_ARENA_EAGER_COMMIT": "0",
    })
    proc = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marks = sorted({1000, args.invocations // 4, args.invocations // 2, args.invocations})
    base = None
    try:
        for mark in marks:
            while sent < mark and not finished.is_set():
                if proc.poll() is not None:
                    raise SystemExit(f"{args.binary} exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
                time.sleep(0.02)
            if mark == args.invocations:
                finished.wait(60)
            rss = vm_rss_kb(proc.pid)
            print(f"{mark} invocations: VmRSS {rss} kB", flush=True)
            if base is None:
                base = (mark, rss)
        grown = (rss - base[1]) * 1024 / max(1, args.invocations - base[0])
        print(f"{args.trace} trace ids: {grown:.0f} bytes more per invocation after the first {base[0]}")
    finally:
        proc.kill()
        server.shutdown()


if __name__ == "__main__":
    main()
