"""schemathesis hooks for infra/fuzz.sh: the run's session.

Fuzzed requests change what the run's own token may do: a PUT of the
tenant's modules or a role change revokes the tokens issued before it, as
it must (docs/permissions.md). schemathesis asks this provider again after
any 401, and it answers as a client would: refresh, else log in again.

A fuzzed change of the tenant's modules can also take the CRM away; every
CRM operation would then answer only 403 `module_disabled` for the rest of
the run. After such an answer the tenant gets the module back and the
session a token that carries it, so the CRM stays fuzzed.
"""

import json
import os
import urllib.error
import urllib.request

import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"]


def _post(path, body, method="POST", token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        BASE_URL + path,
        data=json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


SESSION = None


@schemathesis.auth()
class Session:
    def __init__(self):
        global SESSION
        self.access = os.environ["FUZZ_ACCESS_TOKEN"]
        self.refresh = os.environ["FUZZ_REFRESH_TOKEN"]
        self.first = True
        SESSION = self

    def get(self, case, ctx):
        if self.first:
            self.first = False
            return self.access
        return self.renew()

    def renew(self):
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
        # The newest token, also when restore_crm renewed it meanwhile.
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {self.access}"

    def restore_crm(self):
        # The change that took the module also revoked the token: renew first.
        self.renew()
        try:
            request = urllib.request.Request(
                BASE_URL + "/api/tenants/me/",
                headers={"Authorization": f"Bearer {self.access}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                tenant = json.load(response)
            modules = sorted(set(tenant.get("enabled_modules", [])) | {"crm"})
            _post(
                "/api/tenants/me/",
                {"enabled_modules": modules},
                method="PATCH",
                token=self.access,
            )
        except urllib.error.HTTPError:
            # The plan no longer includes it, or the token was revoked (the
            # next 401 renews it): the module stays off.
            return
        self.renew()


@schemathesis.hook
def after_call(context, case, response):
    if SESSION is not None and response.status_code == 403 and "module_disabled" in response.text:
        SESSION.restore_crm()
