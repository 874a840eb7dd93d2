"""schemathesis hooks for infra/fuzz.sh: the run's session.

Fuzzed requests change what the run's own token may do: a PUT of the
tenant's modules or a role change revokes the tokens issued before it, as
it must (docs/permissions.md). schemathesis asks this provider again after
any 401, and it answers as a client would: refresh, else log in again.
"""

import json
import os
import urllib.error
import urllib.request

import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"]


def _post(path, body):
    request = urllib.request.Request(
        BASE_URL + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@schemathesis.auth()
class Session:
    def __init__(self):
        self.access = os.environ["FUZZ_ACCESS_TOKEN"]
        self.refresh = os.environ["FUZZ_REFRESH_TOKEN"]
        self.first = True

    def get(self, case, ctx):
        if self.first:
            self.first = False
            return self.access
        try:
            tokens = _post("/api/auth/token/refresh/", {"refresh": self.refresh})
        except urllib.error.HTTPError:
            tokens = _post(
                "/api/auth/login/",
                {"email": os.environ["FUZZ_EMAIL"], "password": os.environ["FUZZ_PASSWORD"]},
            )["tokens"]
        self.access, self.refresh = tokens["access"], tokens["refresh"]
        return self.access

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
