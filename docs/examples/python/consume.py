#!/usr/bin/env python3
"""Consuming the platform's access tokens from a Python service.

A runnable companion to docs/consuming-tokens.md: fetch and cache the JWKS,
verify an access token (EdDSA only, iss, aud, exp, nbf, token_type), and
decide permissions with `can` and module gating exactly as the platform
does. Needs PyJWT and cryptography (`pip install PyJWT cryptography`).

    consume.py self-check [--cases PATH]
        Runs every case of docs/examples/cases.json through `can`; exits 1
        on any disagreement.
    consume.py verify --base-url URL [--key KEY ...] [--introspect]
        Verifies the access token in $ACCESS_TOKEN (or --token) against
        URL/.well-known/jwks.json and prints the decision for each KEY on a
        record the caller owns and on one they neither own nor share a team
        with; --introspect also asks POST /api/auth/token/verify/ whether
        the token has been revoked. Exits 1 if the token is refused.

The expected issuer and audience come from --issuer / --audience, else the
platform's own variables JWT_ISSUER / JWT_AUDIENCE, else their defaults
(saas-platform, saas-platform-api).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

import jwt  # PyJWT
from jwt import PyJWK

# The platform's own defaults (shared/src/auth/token.rs, TokenSettings).
DEFAULT_ISSUER = "saas-platform"
DEFAULT_AUDIENCE = "saas-platform-api"
# The platform allows 5 seconds of clock skew on exp and nbf.
LEEWAY_SECONDS = 5
# The sellable modules; any other first segment (administration) is always on.
MODULES = frozenset({"crm", "whatsapp", "meetings", "tasks"})
SCOPES = ("own", "team", "all")  # weakest first


class InvalidToken(Exception):
    """The token must be refused: answer 401."""


class JwksCache:
    """The platform's public keys, by kid.

    Keys are fetched once and kept for `max_age` seconds. A token naming a
    kid that is not cached (the platform rotated its key) triggers a refetch,
    but at most one per `min_refetch_interval` seconds, so a flood of tokens
    with made-up kids cannot turn into a flood of requests to the platform.
    """

    def __init__(self, base_url: str, max_age: float = 3600, min_refetch_interval: float = 30):
        self.url = base_url.rstrip("/") + "/.well-known/jwks.json"
        self.max_age = max_age
        self.min_refetch_interval = min_refetch_interval
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: Optional[float] = None
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            document = json.load(response)
        keys = {}
        for jwk in document.get("keys", []):
            # Only Ed25519 signing keys are ever used by the platform.
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
                keys[jwk["kid"]] = PyJWK(jwk, algorithm="EdDSA")
        self._keys = keys
        self._fetched_at = time.monotonic()

    def key(self, kid: str) -> PyJWK:
        with self._lock:
            now = time.monotonic()
            age = None if self._fetched_at is None else now - self._fetched_at
            stale = age is None or age > self.max_age
            unknown = kid not in self._keys
            may_refetch = age is None or age >= self.min_refetch_interval
            if stale or (unknown and may_refetch):
                try:
                    self._fetch()
                except (OSError, ValueError) as error:
                    # Keep serving cached keys if the platform is briefly away.
                    if not self._keys:
                        raise InvalidToken(f"cannot fetch {self.url}: {error}") from error
            if kid not in self._keys:
                raise InvalidToken(f"unknown key id {kid!r}")
            return self._keys[kid]


def verify_access_token(
    token: str,
    jwks: JwksCache,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
) -> dict[str, Any]:
    """The token's claims if it is a valid access token; else InvalidToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise InvalidToken(f"malformed token: {error}") from error
    # Decide the algorithm yourself: never trust the header's choice.
    if header.get("alg") != "EdDSA":
        raise InvalidToken(f"algorithm {header.get('alg')!r} is not EdDSA")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("no kid in the header")
    try:
        claims = jwt.decode(
            token,
            key=jwks.key(kid),
            algorithms=["EdDSA"],
            issuer=issuer,
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidToken("token has expired") from error
    except jwt.PyJWTError as error:
        raise InvalidToken(f"{type(error).__name__}: {error}") from error
    # A refresh token is signed by the same key: refuse it here.
    if claims.get("token_type") != "access":
        raise InvalidToken(f"not an access token (token_type {claims.get('token_type')!r})")
    return claims


def module_of(key: str) -> Optional[str]:
    """The sellable module a permission key belongs to, or None
    (`administration`, always enabled)."""
    first = key.split(".", 1)[0]
    return first if first in MODULES else None


def same_id(a: Optional[str], b: Optional[str]) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def can(
    claims: dict[str, Any],
    key: str,
    owner_id: Optional[str],
    team_id: Optional[str],
    *,
    tenant_id: str,
) -> bool:
    """May the caller do `key` (e.g. "crm.leads.edit") on a record of
    `tenant_id`, owned by `owner_id`, belonging to team `team_id`?

    The platform's rule (shared/src/permissions/check.rs, `can`), plus
    module gating and the super admin bypass of shared::auth::Require.
    """
    if claims.get("is_super_admin") is True:
        return True
    module = module_of(key)
    if module is not None and module not in claims.get("enabled_modules", []):
        return False
    if not same_id(tenant_id, claims.get("tenant_id")):
        return False
    grant = claims.get("permissions", {}).get(key)
    if grant is True:  # a boolean action: owner and team do not matter
        return True
    if grant not in SCOPES:  # absent, false, or anything unexpected
        return False
    if grant == "all":
        return True
    if same_id(owner_id, claims.get("sub")):  # own and team both cover the caller's records
        return True
    if grant == "team":
        teams = claims.get("team_ids", [])
        return team_id is not None and any(same_id(team_id, t) for t in teams)
    return False


def self_check(cases_path: Path) -> int:
    table = json.loads(cases_path.read_text())
    failed = 0
    for case in table["cases"]:
        record = case["record"]
        got = can(
            case["claims"],
            case["key"],
            record["owner_id"],
            record["team_id"],
            tenant_id=record["tenant_id"],
        )
        if got != case["expected"]:
            failed += 1
            print(f"DISAGREES: {case['name']}: expected {case['expected']}, got {got}")
    total = len(table["cases"])
    print(f"python self-check ({cases_path.name}): {total - failed} agree, {failed} disagree")
    return 1 if failed or not total else 0


def introspect(base_url: str, token: str) -> bool:
    """Asks the platform whether the access token still stands (not revoked).
    True on 200, False on 401; anything else raises."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/api/auth/token/verify/",
        data=json.dumps({"token": token}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200
    except urllib.error.HTTPError as error:
        if error.code == 401:
            return False
        raise


def verify_command(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("ACCESS_TOKEN", "")
    if not token:
        print("no token: pass --token or set ACCESS_TOKEN", file=sys.stderr)
        return 2
    jwks = JwksCache(args.base_url)
    try:
        claims = verify_access_token(token, jwks, args.issuer, args.audience)
    except InvalidToken as error:
        print(f"python: token refused: {error}")
        return 1
    print(
        f"python: valid access token for {claims['email']} (sub {claims['sub']}), "
        f"tenant {claims['tenant_slug']} ({claims['tenant_id']}), "
        f"super admin: {claims['is_super_admin']}, modules: {claims['enabled_modules']}, "
        f"{len(claims['permissions'])} grants, expires in {claims['exp'] - int(time.time())} s"
    )
    someone_else = "00000000-0000-4000-8000-000000000000"
    for key in args.key:
        mine = can(claims, key, claims["sub"], None, tenant_id=claims["tenant_id"])
        theirs = can(claims, key, someone_else, None, tenant_id=claims["tenant_id"])
        print(f"python: {key} (grant {claims['permissions'].get(key)!r}): "
              f"own record {mine}, someone else's record {theirs}")
    if args.introspect:
        standing = introspect(args.base_url, token)
        print(f"python: POST /api/auth/token/verify/ says {'valid' if standing else 'revoked or invalid'}")
        if not standing:
            return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("self-check", help="run every case of cases.json")
    check.add_argument("--cases", type=Path, default=Path(__file__).resolve().parent.parent / "cases.json")
    verify = commands.add_parser("verify", help="verify an access token and print decisions")
    verify.add_argument("--base-url", required=True, help="the platform, e.g. http://127.0.0.1:9000")
    verify.add_argument("--token", help="the access token (default: $ACCESS_TOKEN)")
    verify.add_argument("--issuer", default=os.environ.get("JWT_ISSUER") or DEFAULT_ISSUER)
    verify.add_argument("--audience", default=os.environ.get("JWT_AUDIENCE") or DEFAULT_AUDIENCE)
    verify.add_argument("--key", action="append", default=[], help="a permission key to decide")
    verify.add_argument("--introspect", action="store_true",
                        help="also ask POST /api/auth/token/verify/ (revocation)")
    args = parser.parse_args()
    if args.command == "self-check":
        return self_check(args.cases)
    return verify_command(args)


if __name__ == "__main__":
    sys.exit(main())
