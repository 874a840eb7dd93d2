#!/usr/bin/env python3
"""Cold starts of every function beside an empty one (`make coldstart`).

Each release binary is started many times against a fake Lambda Runtime API
on loopback and asked one representative request (against DynamoDB Local).
Per function this prints:

  init          process start -> its first `GET .../invocation/next`
  first answer  process start -> its response to that first request
  peak RSS      VmHWM after --invocations requests in one process
  CPU/request   CPU time of those requests (all threads), after the first
  growth        VmRSS added per invocation over --growth-invocations more,
                after 1,000 to warm up, each with its own trace id (a
                request every function answers without DynamoDB, a JSON
                404; the scheduler's tick for the scheduler): the lesser
                rate of the two halves, so a one-off step does not count
  size          the binary's size on disk

beside `hello-lambda` (infra/hello: lambda_http + axum and one route, same
release profile, same run), and the first answer also beside
`hello-dynamodb` (the same route answering after two sequential `GetItem`s
with the functions' AWS set-up: a function's first request makes two
sequential calls, so against it DynamoDB Local's time counts on both sides
and the ratio is what the function's own work adds). Runs are interleaved (every function once, then
again), so a busy machine slows all of them alike. The exit status is 1 if a
function misses a limit: init above INIT_RATIO x hello's, first answer above
ANSWER_RATIO x hello's, peak RSS above RSS_LIMIT_MB, memory growth above
GROWTH_LIMIT_BYTES per invocation, or an answer that is not a success.
Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rss_growth import vm_rss_kb  # infra/, beside this script

INIT_RATIO = 1.5
ANSWER_RATIO = 3.0
RSS_LIMIT_MB = 20.0
# lambda_runtime's loop kept about 150 bytes per invocation (glibc's setenv
# of each trace id); ours keeps none. A page or two mimalloc commits late
# over the run stays well below this.
GROWTH_LIMIT_BYTES = 16.0
GROWTH_WARM_UP = 1000
SOURCE_IP = "198.51.100.20"
PREFIX = "/2018-06-01/runtime"


def http_event(method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    """An API Gateway HTTP API (payload 2.0) event, as Lambda delivers it."""
    headers = {"host": "api.example.com", "user-agent": "coldstart", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if body is not None:
        headers["content-type"] = "application/json"
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "coldstart",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": "coldstart",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def scheduled_event() -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/billing-tick"],
        "detail": {},
    }


class Session:
    """One process's invocations: events to hand out, answers received."""

    def __init__(self, events: list[dict]):
        self.events = list(events)
        self.started = time.perf_counter_ns()
        self.first_poll: int | None = None
        self.answers: list[tuple[int, bytes]] = []
        self.errors: list[bytes] = []
        self.lock = threading.Condition()
        self.closed = False
        self.stderr = b""

    def next_event(self) -> tuple[str, dict] | None:
        with self.lock:
            if self.first_poll is None:
                self.first_poll = time.perf_counter_ns()
            # Long poll: with nothing left, hold the request until the process is stopped.
            while not self.events and not self.closed:
                self.lock.wait(0.5)
            if self.closed:
                return None
            return str(uuid.uuid4()), self.events.pop(0)

    def answer(self, body: bytes, error: bool = False) -> None:
        with self.lock:
            if error:
                self.errors.append(body)
            self.answers.append((time.perf_counter_ns(), body))
            self.lock.notify_all()

    def wait_answers(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.answers) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.lock.notify_all()


class RuntimeApi(ThreadingHTTPServer):
    """The Runtime API of one process: a new server (and port) per process,
    so a request a killed process left behind never takes the next one's event."""

    daemon_threads = True

    def __init__(self, session: Session):
        self.session = session
        super().__init__(("127.0.0.1", 0), Handler)

    def handle_error(self, request, client_address) -> None:
        # A stopped function drops its long poll: expected, not worth a trace.
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApi

    def log_message(self, *_args) -> None:  # quiet
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        session = self.server.session
        if self.path != f"{PREFIX}/invocation/next":
            return self._reply(404)
        got = session.next_event()
        if got is None:
            return self._reply(410)
        request_id, event = got
        deadline = int(time.time() * 1000) + 30_000
        self._reply(200, json.dumps(event).encode(), {
            "content-type": "application/json",
            "lambda-runtime-aws-request-id": request_id,
            "lambda-runtime-deadline-ms": str(deadline),
            "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-1:123456789012:function:coldstart",
            # A new trace id each time, as Lambda sends them: a function that
            # kept each one would show it in peak RSS.
            "lambda-runtime-trace-id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
        })

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        # Chunked bodies (streaming responses) are not used by the functions.
        session = self.server.session
        if self.path.endswith("/response"):
            session.answer(body)
        elif self.path.endswith("/error"):
            session.answer(body, error=True)
        self._reply(202, b'{"status":"OK"}', {"content-type": "application/json"})


def status_of(body: bytes) -> int | None:
    """The HTTP status of an API Gateway response (None for other events)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("statusCode") if isinstance(parsed, dict) else None


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` so far, in ns (schedstat: exact,
    where /proc/<pid>/stat counts 10 ms ticks)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Harness:
    def __init__(self, env: dict[str, str], timeout: float):
        self.env = env
        self.timeout = timeout

    @contextlib.contextmanager
    def started(self, binary: str, name: str, session: Session):
        """`binary` running against a Runtime API of its own that serves
        `session`; killed on the way out, its stderr kept in session.stderr."""
        api = RuntimeApi(session)
        threading.Thread(target=api.serve_forever, daemon=True).start()
        env = dict(self.env, AWS_LAMBDA_FUNCTION_NAME=name,
                   AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}")
        session.started = time.perf_counter_ns()
        proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield proc
        finally:
            proc.kill()
            session.close()
            _, session.stderr = proc.communicate()
            api.shutdown()
            api.server_close()

    def give_up(self, name: str, session: Session, expected: int) -> None:
        raise SystemExit(
            f"{name}: {len(session.answers)} of {expected} answers in time; "
            f"stderr:\n{session.stderr.decode(errors='replace')[-2000:]}"
        )

    def run(self, binary: str, name: str, events: list[dict], rss: bool = False):
        """Starts `binary`, answers `events` in order; returns (init ns,
        [answer ns], [bodies], (peak RSS MB, CPU ns per request after the
        first) or None, error bodies)."""
        session = Session(events)
        peak = None
        with self.started(binary, name, session) as proc:
            # The first answer ends the cold part; CPU is counted from there.
            ok = session.wait_answers(1, self.timeout)
            if ok and rss:
                with session.lock:
                    answered = len(session.answers)
                start_cpu = cpu_ns(proc.pid)
            ok = ok and session.wait_answers(len(events), self.timeout)
            if rss and ok:
                per_request = (cpu_ns(proc.pid) - start_cpu) / max(1, len(events) - answered)
                peak = (peak_rss_mb(proc.pid), per_request)
        if not ok:
            self.give_up(name, session, len(events))
        init = (session.first_poll or 0) - session.started
        times = [t - session.started for t, _ in session.answers]
        return init, times, [b for _, b in session.answers], peak, session.errors

    def growth(self, binary: str, name: str, event: dict, invocations: int) -> float:
        """Bytes of VmRSS added per invocation over `invocations` of `event`,
        after GROWTH_WARM_UP of them: the lesser of the two halves' rates,
        since what is kept per invocation grows in both, while a one-off
        step (the allocator committing another chunk) falls in one."""
        half = max(1, invocations // 2)
        marks = [GROWTH_WARM_UP, GROWTH_WARM_UP + half, GROWTH_WARM_UP + 2 * half]
        session = Session([event] * marks[-1])
        timeout = self.timeout + invocations / 100
        rss = []
        with self.started(binary, name, session) as proc:
            for mark in marks:
                if not session.wait_answers(mark, timeout):
                    break
                rss.append(vm_rss_kb(proc.pid))
        if len(rss) < len(marks):
            self.give_up(name, session, marks[-1])
        return min(rss[1] - rss[0], rss[2] - rss[1]) * 1024 / half


def representative(token: str) -> dict[str, dict]:
    """One request per function: what its users ask most (reads through the
    token check, the permission check and DynamoDB)."""
    return {
        "auth": http_event("POST", "/api/auth/token/verify/", body={"token": token}),
        "users": http_event("GET", "/api/users/me/", token),
        "roles": http_event("GET", "/api/roles/", token),
        "teams": http_event("GET", "/api/teams/", token),
        "tenants": http_event("GET", "/api/tenants/me/", token),
        "plans": http_event("GET", "/api/plans/", token),
        "subscriptions": http_event("GET", "/api/subscriptions/my_subscription/", token),
        "invoices": http_event("GET", "/api/invoices/", token),
        "audit": http_event("GET", "/api/audit/", token),
        "crm": http_event("GET", "/api/crm/leads/", token),
        "docs": http_event("GET", "/api/health/"),
        "billing-scheduler": scheduled_event(),
    }


def sign_up(harness: Harness, bin_dir: str) -> str:
    """A tenant and its admin, through the auth function itself; returns an access token."""
    slug = f"cold{uuid.uuid4().hex[:10]}"
    event = http_event("POST", "/api/auth/register/", body={
        "tenant_name": "Cold Start", "tenant_slug": slug,
        "admin_email": f"admin@{slug}.example.com",
        "admin_password": "cold-start-password", "admin_password_confirm": "cold-start-password",
        "admin_first_name": "Ada",
    })
    _, _, bodies, _, _ = harness.run(os.path.join(bin_dir, "auth"), "auth", [event])
    answer = json.loads(bodies[0])
    if answer.get("statusCode") != 201:
        raise SystemExit(f"registration failed: {bodies[0][:500]!r}")
    return json.loads(answer["body"])["tokens"]["access"]


def ms(ns: float) -> str:
    return f"{ns / 1e6:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default="target/release")
    parser.add_argument("--functions", default="auth,users,roles,teams,tenants,plans,subscriptions,invoices,audit,crm,docs,billing-scheduler")
    parser.add_argument("--runs", type=int, default=15, help="cold starts per function")
    parser.add_argument("--invocations", type=int, default=300, help="requests before reading peak RSS")
    parser.add_argument("--growth-invocations", type=int, default=5000,
                        help="invocations over which memory growth is measured (0: not measured)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--no-check", action="store_true", help="print only; never fail on a limit")
    args = parser.parse_args()

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/coldstart",
        "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        # As template.yaml's Globals give every function.
        "MIMALLOC_ARENA_EAGER_COMMIT": "0",
    }
    # What the function needs to reach DynamoDB Local and the keys (as in make dev).
    for key in ("TABLE_NAME", "DYNAMODB_ENDPOINT", "AWS_REGION", "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY", "LOCAL_DEV", "JWT_SIGNING_KEY_FILE",
                "JWT_PUBLIC_KEYS_FILE", "FRONTEND_URL", "EMAIL_FROM", "SES_ENDPOINT"):
        if key in os.environ:
            env[key] = os.environ[key]
    harness = Harness(env, args.timeout)

    token = sign_up(harness, args.bin_dir)
    events = representative(token)
    names = [n for n in args.functions.split(",") if n]
    for n in names:
        if n not in events:
            raise SystemExit(f"no representative request for {n}")
    hello_event = http_event("GET", "/api/health/")
    subjects = [(n, os.path.join(args.bin_dir, n), events[n]) for n in names]
    subjects.append(("hello-lambda", os.path.join(args.bin_dir, "hello-lambda"), hello_event))
    subjects.append(("hello-dynamodb", os.path.join(args.bin_dir, "hello-dynamodb"), hello_event))

    inits: dict[str, list[int]] = {n: [] for n, _, _ in subjects}
    answers: dict[str, list[int]] = {n: [] for n, _, _ in subjects}
    statuses: dict[str, set] = {n: set() for n, _, _ in subjects}
    for _ in range(args.runs):
        for name, binary, event in subjects:
            init, times, bodies, _, errors = harness.run(binary, name, [event])
            inits[name].append(init)
            answers[name].append(times[0])
            statuses[name].add("error" if errors else status_of(bodies[0]))
    rss: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, binary, event in subjects:
        _, _, _, peak, _ = harness.run(binary, name, [event] * args.invocations, rss=True)
        rss[name], cpu[name] = peak or (float("nan"), float("nan"))

    growth: dict[str, float] = {}
    nowhere = http_event("GET", "/api/nowhere/")
    for name, binary, event in subjects:
        if args.growth_invocations > 0:
            probe = event if name == "billing-scheduler" else nowhere
            growth[name] = harness.growth(binary, name, probe, args.growth_invocations)
        else:
            growth[name] = float("nan")

    hello_init = statistics.median(inits["hello-lambda"])
    hello_answer = statistics.median(answers["hello-lambda"])
    dynamodb_answer = statistics.median(answers["hello-dynamodb"])
    failures = []
    print(f"{args.runs} cold starts each, peak RSS after {args.invocations} requests, "
          f"growth over {args.growth_invocations} more; times in ms")
    print()
    print("| function | request | init median (min-max) | x hello | first answer median (min-max) | x hello | x hello-dynamodb | peak RSS MB | CPU/request µs | growth B/invocation | size MB | status |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, binary, event in subjects:
        i, a = inits[name], answers[name]
        init_ratio = statistics.median(i) / hello_init
        answer_ratio = statistics.median(a) / hello_answer
        size = os.path.getsize(binary) / 1e6
        request = (f"{event['requestContext']['http']['method']} {event['rawPath']}"
                   if "rawPath" in event else "scheduled tick")
        status = ",".join(str(s) for s in sorted(statuses[name], key=str))
        print(f"| {name} | `{request}` | {ms(statistics.median(i))} ({ms(min(i))}-{ms(max(i))}) | {init_ratio:.2f} "
              f"| {ms(statistics.median(a))} ({ms(min(a))}-{ms(max(a))}) | {answer_ratio:.2f} "
              f"| {statistics.median(a) / dynamodb_answer:.2f} "
              f"| {rss[name]:.1f} | {cpu[name] / 1000:.0f} | {growth[name]:.1f} | {size:.1f} | {status} |")
        if name.startswith("hello-"):
            continue
        if init_ratio > INIT_RATIO:
            failures.append(f"{name}: init {init_ratio:.2f}x hello (limit {INIT_RATIO}x)")
        if answer_ratio > ANSWER_RATIO:
            failures.append(f"{name}: first answer {answer_ratio:.2f}x hello (limit {ANSWER_RATIO}x)")
        if rss[name] > RSS_LIMIT_MB:
            failures.append(f"{name}: peak RSS {rss[name]:.1f} MB (limit {RSS_LIMIT_MB} MB)")
        if growth[name] > GROWTH_LIMIT_BYTES:
            failures.append(f"{name}: memory grew {growth[name]:.1f} bytes per invocation "
                            f"(limit {GROWTH_LIMIT_BYTES})")
        if any(s == "error" or (isinstance(s, int) and s >= 400) for s in statuses[name]):
            failures.append(f"{name}: answered {status}")
    print()
    if failures:
        print("over the limits:\n  " + "\n  ".join(failures))
        return 0 if args.no_check else 1
    print(f"all within limits (init <= {INIT_RATIO}x hello, first answer <= {ANSWER_RATIO}x, "
          f"peak RSS <= {RSS_LIMIT_MB} MB, growth <= {GROWTH_LIMIT_BYTES} B/invocation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
