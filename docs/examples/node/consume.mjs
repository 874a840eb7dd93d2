#!/usr/bin/env node
// Consuming the platform's access tokens from a Node service.
//
// A runnable companion to docs/consuming-tokens.md: fetch and cache the JWKS,
// verify an access token (EdDSA only, iss, aud, exp, nbf, token_type), and
// decide permissions with `can` and module gating exactly as the platform
// does. Needs the `jose` package (`npm install jose`); Node 20 or later.
//
//   node consume.mjs self-check [--cases PATH]
//       Runs every case of docs/examples/cases.json through `can`; exits 1 on
//       any disagreement.
//   node consume.mjs verify --base-url URL [--key KEY ...] [--introspect]
//       Verifies the access token in $ACCESS_TOKEN (or --token) against
//       URL/.well-known/jwks.json and prints the decision for each KEY on a
//       record the caller owns and on one they neither own nor share a team
//       with; --introspect also asks POST /api/auth/token/verify/ whether the
//       token has been revoked. Exits 1 if the token is refused.
//
// The expected issuer and audience come from --issuer / --audience, else the
// platform's own variables JWT_ISSUER / JWT_AUDIENCE, else their defaults
// (saas-platform, saas-platform-api).

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

// The platform's own defaults (shared/src/auth/token.rs, TokenSettings).
const DEFAULT_ISSUER = 'saas-platform';
const DEFAULT_AUDIENCE = 'saas-platform-api';
// The platform allows 5 seconds of clock skew on exp and nbf.
const LEEWAY_SECONDS = 5;
// The sellable modules; any other first segment (administration) is always on.
const MODULES = new Set(['crm', 'whatsapp', 'meetings', 'tasks']);
const SCOPES = new Set(['own', 'team', 'all']);

// `jose` from the service's own node_modules; failing that, from a folder on
// NODE_PATH (which `import` ignores), as infra/examples.sh provides it.
async function loadJose() {
  try {
    return await import('jose');
  } catch (error) {
    for (const dir of (process.env.NODE_PATH ?? '').split(':').filter(Boolean)) {
      try {
        const entry = createRequire(join(resolve(dir), 'noop.js')).resolve('jose');
        return await import(pathToFileURL(entry).href);
      } catch {
        // try the next folder
      }
    }
    throw error;
  }
}

/**
 * A verifier bound to the platform at `baseUrl`. jose's remote key set
 * caches the JWKS (`cacheMaxAge`) and refetches it when a token names an
 * unknown kid (a rotation), at most once per `cooldownDuration`, so made-up
 * kids cannot flood the platform with requests.
 */
export async function accessTokenVerifier(
  baseUrl,
  { issuer = DEFAULT_ISSUER, audience = DEFAULT_AUDIENCE } = {},
) {
  const jose = await loadJose();
  const jwks = jose.createRemoteJWKSet(new URL('/.well-known/jwks.json', baseUrl), {
    cacheMaxAge: 60 * 60 * 1000,
    cooldownDuration: 30 * 1000,
    timeoutDuration: 10 * 1000,
  });
  return async function verifyAccessToken(token) {
    // Only EdDSA is accepted, whatever the header says.
    const { payload } = await jose.jwtVerify(token, jwks, {
      algorithms: ['EdDSA'],
      issuer,
      audience,
      clockTolerance: LEEWAY_SECONDS,
      requiredClaims: ['exp', 'nbf', 'iat', 'iss', 'aud', 'sub'],
    });
    // A refresh token is signed by the same key: refuse it here.
    if (payload.token_type !== 'access') {
      throw new Error(`not an access token (token_type ${JSON.stringify(payload.token_type)})`);
    }
    return payload;
  };
}

/** The sellable module a permission key belongs to, or null (administration). */
export function moduleOf(key) {
  const first = key.split('.', 1)[0];
  return MODULES.has(first) ? first : null;
}

function sameId(a, b) {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/**
 * May the caller do `key` (e.g. "crm.leads.edit") on a record of `tenantId`,
 * owned by `ownerId`, belonging to team `teamId` (either may be null)?
 * The platform's rule (shared/src/permissions/check.rs, `can`), plus module
 * gating and the super admin bypass of shared::auth::Require.
 */
export function can(claims, key, ownerId, teamId, tenantId) {
  if (tenantId === undefined) throw new TypeError("can: pass the record's tenant id");
  if (claims.is_super_admin === true) return true;
  const module = moduleOf(key);
  if (module !== null && !(claims.enabled_modules ?? []).includes(module)) return false;
  if (!sameId(tenantId, claims.tenant_id)) return false;
  const grant = (claims.permissions ?? {})[key];
  if (grant === true) return true; // a boolean action: owner and team do not matter
  if (!SCOPES.has(grant)) return false; // absent, false, or anything unexpected
  if (grant === 'all') return true;
  if (sameId(ownerId, claims.sub)) return true; // own and team both cover the caller's records
  if (grant === 'team') {
    return teamId != null && (claims.team_ids ?? []).some((t) => sameId(teamId, t));
  }
  return false;
}

async function selfCheck(casesPath) {
  const table = JSON.parse(await readFile(casesPath, 'utf8'));
  let failed = 0;
  for (const c of table.cases) {
    const r = c.record;
    const got = can(c.claims, c.key, r.owner_id, r.team_id, r.tenant_id);
    if (got !== c.expected) {
      failed += 1;
      console.log(`DISAGREES: ${c.name}: expected ${c.expected}, got ${got}`);
    }
  }
  const total = table.cases.length;
  console.log(`node self-check (${basename(casesPath)}): ${total - failed} agree, ${failed} disagree`);
  return failed || !total ? 1 : 0;
}

/** Asks the platform whether the access token still stands (not revoked). */
export async function introspect(baseUrl, token) {
  const res = await fetch(new URL('/api/auth/token/verify/', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.status === 200) return true;
  if (res.status === 401) return false;
  throw new Error(`POST /api/auth/token/verify/ answered ${res.status}`);
}

async function verifyCommand(values) {
  const token = values.token ?? process.env.ACCESS_TOKEN ?? '';
  if (!values['base-url'] || !token) {
    console.error('usage: consume.mjs verify --base-url URL [--token T | $ACCESS_TOKEN] [--key K ...]');
    return 2;
  }
  const baseUrl = values['base-url'];
  const verify = await accessTokenVerifier(baseUrl, {
    issuer: values.issuer ?? (process.env.JWT_ISSUER || DEFAULT_ISSUER),
    audience: values.audience ?? (process.env.JWT_AUDIENCE || DEFAULT_AUDIENCE),
  });
  let claims;
  try {
    claims = await verify(token);
  } catch (error) {
    console.log(`node: token refused: ${error.code ?? error.name}: ${error.message}`);
    return 1;
  }
  const expiresIn = claims.exp - Math.floor(Date.now() / 1000);
  console.log(
    `node: valid access token for ${claims.email} (sub ${claims.sub}), ` +
      `tenant ${claims.tenant_slug} (${claims.tenant_id}), super admin: ${claims.is_super_admin}, ` +
      `modules: ${JSON.stringify(claims.enabled_modules)}, ` +
      `${Object.keys(claims.permissions).length} grants, expires in ${expiresIn} s`,
  );
  const someoneElse = '00000000-0000-4000-8000-000000000000';
  for (const key of values.key ?? []) {
    const mine = can(claims, key, claims.sub, null, claims.tenant_id);
    const theirs = can(claims, key, someoneElse, null, claims.tenant_id);
    console.log(
      `node: ${key} (grant ${JSON.stringify(claims.permissions[key] ?? null)}): ` +
        `own record ${mine}, someone else's record ${theirs}`,
    );
  }
  if (values.introspect) {
    const standing = await introspect(baseUrl, token);
    console.log(`node: POST /api/auth/token/verify/ says ${standing ? 'valid' : 'revoked or invalid'}`);
    if (!standing) return 1;
  }
  return 0;
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const here = dirname(fileURLToPath(import.meta.url));
  if (command === 'self-check') {
    const { values } = parseArgs({ args: rest, options: { cases: { type: 'string' } } });
    return selfCheck(values.cases ?? join(here, '..', 'cases.json'));
  }
  if (command === 'verify') {
    const { values } = parseArgs({
      args: rest,
      options: {
        'base-url': { type: 'string' },
        token: { type: 'string' },
        issuer: { type: 'string' },
        audience: { type: 'string' },
        key: { type: 'string', multiple: true },
        introspect: { type: 'boolean' },
      },
    });
    return verifyCommand(values);
  }
  console.error('usage: consume.mjs self-check [--cases PATH] | verify --base-url URL [--key KEY ...] [--introspect]');
  return 2;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
