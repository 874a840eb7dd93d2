//! Revoking access tokens before they expire.
//!
//! Access tokens are verified without I/O, so a change that should take
//! access away (a user deactivated, a role withdrawn or reduced, a password
//! changed, a logout everywhere, a suspended tenant, a subscription that no
//! longer grants modules) would otherwise wait for the token's expiry. Each
//! warm process therefore rereads, at most once per tenant per check
//! interval, the tenant's profile, subscription and revocation record (one
//! `BatchGetItem`, see `store::revocations`), and refuses tokens that the
//! state condemns ([`verdict`]). `docs/architecture.md` has the design and
//! its cost.
//!
//! The revocation record (`TENANT#<id>` / `REVOCATIONS`) holds one string
//! attribute per revoked user (`u#<uuid>`), role (`r#<uuid>`) or single
//! login (`f#<family uuid>`, a logout): the cutoff
//! in epoch milliseconds, optionally followed by `/<family id>` of a login
//! that is spared (the caller's own, on a password change). Tokens issued
//! before a cutoff are refused. Writers set attributes (`SET #a = :v`), so
//! no read-modify-write is needed and concurrent writers never conflict.

use crate::auth::Claims;
use crate::store::{Label, TenantScope, Transaction};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Environment variable: seconds between rereads of a tenant's state
/// (0: on every request).
pub const CHECK_SECONDS_VAR: &str = "REVOCATION_CHECK_SECONDS";
pub const DEFAULT_CHECK_SECONDS: u64 = 30;

/// The answer a revoked token gets (401).
pub const REVOKED_DETAIL: &str = "Token has been revoked; refresh or log in again.";

const USER_PREFIX: &str = "u#";
const ROLE_PREFIX: &str = "r#";
const FAMILY_PREFIX: &str = "f#";

/// How a process checks tokens against revocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Longest a tenant's state is trusted before it is read again.
    pub check_interval: Duration,
    /// The longest an access token lives: older cutoffs can no longer
    /// refuse anything and are pruned.
    pub token_lifetime: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            check_interval: Duration::from_secs(DEFAULT_CHECK_SECONDS),
            token_lifetime: Duration::from_secs(
                crate::auth::TokenSettings::default().access_ttl_secs.max(0) as u64,
            ),
        }
    }
}

/// Tokens issued before `at_ms` are revoked, except those of `keep_family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff {
    pub at_ms: i64,
    pub keep_family: Option<Uuid>,
}

impl Cutoff {
    pub fn at(at: OffsetDateTime) -> Self {
        Self {
            at_ms: epoch_ms(at),
            keep_family: None,
        }
    }

    pub(crate) fn encode(&self) -> String {
        match self.keep_family {
            Some(family) => format!("{}/{family}", self.at_ms),
            None => self.at_ms.to_string(),
        }
    }

    pub(crate) fn decode(value: &str) -> Option<Self> {
        let (at, keep) = match value.split_once('/') {
            Some((at, family)) => (at, Some(Uuid::parse_str(family).ok()?)),
            None => (value, None),
        };
        Some(Self {
            at_ms: at.parse().ok()?,
            keep_family: keep,
        })
    }

    fn condemns(&self, claims: &Claims) -> bool {
        claims.issued_at_ms() < self.at_ms && self.keep_family != Some(claims.fam)
    }
}

/// What the tenant's profile and subscription say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub tenant_active: bool,
    /// `billing::entitled_modules`, as the names tokens carry.
    pub modules: Vec<String>,
}

/// Everything a token of one tenant is checked against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantState {
    /// `None` when the tenant has no profile. Tenants are never deleted,
    /// so only hand-made tokens meet this; their cutoffs still apply.
    pub entitlement: Option<Entitlement>,
    pub users: HashMap<Uuid, Cutoff>,
    pub roles: HashMap<Uuid, Cutoff>,
    /// Logins ended one at a time (logout), by token family.
    pub families: HashMap<Uuid, Cutoff>,
}

impl TenantState {
    /// Reads one attribute of the revocation record; others are ignored.
    pub(crate) fn add_entry(&mut self, name: &str, value: &str) {
        let parsed = |rest: &str| Some((Uuid::parse_str(rest).ok()?, Cutoff::decode(value)?));
        if let Some((id, cutoff)) = name.strip_prefix(USER_PREFIX).and_then(parsed) {
            self.users.insert(id, cutoff);
        } else if let Some((id, cutoff)) = name.strip_prefix(ROLE_PREFIX).and_then(parsed) {
            self.roles.insert(id, cutoff);
        } else if let Some((id, cutoff)) = name.strip_prefix(FAMILY_PREFIX).and_then(parsed) {
            self.families.insert(id, cutoff);
        }
    }

    /// Entries that can no longer refuse any token (older than the longest
    /// token lifetime, with a minute for clock differences), as attribute
    /// name and stored value.
    pub(crate) fn stale_entries(&self, now_ms: i64, lifetime: Duration) -> Vec<(String, String)> {
        let horizon = now_ms
            .saturating_sub(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX))
            .saturating_sub(60_000);
        let users = self
            .users
            .iter()
            .map(|(id, c)| (format!("{USER_PREFIX}{id}"), c));
        let roles = self
            .roles
            .iter()
            .map(|(id, c)| (format!("{ROLE_PREFIX}{id}"), c));
        let families = self
            .families
            .iter()
            .map(|(id, c)| (format!("{FAMILY_PREFIX}{id}"), c));
        users
            .chain(roles)
            .chain(families)
            .filter(|(_, c)| c.at_ms < horizon)
            .map(|(name, c)| (name, c.encode()))
            .collect()
    }
}

/// Why a token is refused, or that it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    TenantSuspended,
    /// The token holds a module the tenant is no longer entitled to.
    ModuleWithdrawn,
    UserRevoked,
    RoleRevoked,
    /// The token's own login was ended (logout).
    LoginEnded,
}

/// Whether `claims` still stand against the tenant's current state. Pure.
pub fn verdict(claims: &Claims, state: &TenantState) -> Verdict {
    verdict_with(claims, state, true)
}

/// [`verdict`] for a request to an endpoint of one module: withdrawn
/// modules do not refuse the token there. The endpoint's own module is
/// checked against the tenant's state by [`module_enabled`] (403
/// `module_disabled`, which says why, where a refresh could not help);
/// the token's grants for it stand while the tenant has it, whatever
/// happened to the other modules the token names.
pub fn verdict_at_module(claims: &Claims, state: &TenantState) -> Verdict {
    verdict_with(claims, state, false)
}

/// Whether the tenant has `module` now: its entitlement grants it (when the
/// tenant's state is known) and so do the modules of the token, if given
/// (`None` for a super admin acting in another tenant).
pub fn module_enabled(token_modules: Option<&[String]>, state: &TenantState, module: &str) -> bool {
    let entitled = state
        .entitlement
        .as_ref()
        .is_none_or(|e| e.modules.iter().any(|m| m == module));
    entitled && token_modules.is_none_or(|ms| ms.iter().any(|m| m == module))
}

fn verdict_with(claims: &Claims, state: &TenantState, modules_revoke: bool) -> Verdict {
    if let Some(entitlement) = &state.entitlement {
        if !entitlement.tenant_active {
            return Verdict::TenantSuspended;
        }
        if modules_revoke
            && claims
                .enabled_modules
                .iter()
                .any(|m| !entitlement.modules.contains(m))
        {
            return Verdict::ModuleWithdrawn;
        }
    }
    if state
        .users
        .get(&claims.sub)
        .is_some_and(|c| c.condemns(claims))
    {
        return Verdict::UserRevoked;
    }
    if claims
        .roles
        .iter()
        .any(|r| state.roles.get(r).is_some_and(|c| c.condemns(claims)))
    {
        return Verdict::RoleRevoked;
    }
    if state
        .families
        .get(&claims.fam)
        .is_some_and(|c| claims.issued_at_ms() < c.at_ms)
    {
        return Verdict::LoginEnded;
    }
    Verdict::Valid
}

/// Revokes the access tokens of `user_id` issued before `at` (deactivation,
/// role removal, logout everywhere). Adds one update of the revocation
/// record to `tx`: call it (or [`revoke_user_except`], [`revoke_roles`]) at
/// most once per transaction, as a transaction touches an item only once.
pub fn revoke_user(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    user_id: Uuid,
    at: OffsetDateTime,
) {
    revoke(tx, scope, &[(user_id, Cutoff::at(at))], &[]);
}

/// Like [`revoke_user`], sparing the tokens of one login (`keep_family`,
/// the caller's own on a password change).
pub fn revoke_user_except(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    user_id: Uuid,
    keep_family: Uuid,
    at: OffsetDateTime,
) {
    let cutoff = Cutoff {
        keep_family: Some(keep_family),
        ..Cutoff::at(at)
    };
    revoke(tx, scope, &[(user_id, cutoff)], &[]);
}

/// Revokes every access token issued before `at` that holds one of the
/// roles (grants reduced, deactivated, deleted). One update, as above.
pub fn revoke_roles(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    role_ids: &[Uuid],
    at: OffsetDateTime,
) {
    let cutoff = Cutoff::at(at);
    let roles: Vec<(Uuid, Cutoff)> = role_ids.iter().map(|id| (*id, cutoff)).collect();
    revoke(tx, scope, &[], &roles);
}

/// Revokes the access tokens of one login (`family`, ended by a logout)
/// issued before `at`. One update, as above.
pub fn revoke_login(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    family: Uuid,
    at: OffsetDateTime,
) {
    set_cutoffs(
        tx,
        scope,
        vec![(format!("{FAMILY_PREFIX}{family}"), Cutoff::at(at).encode())],
    );
}

/// Users' and roles' cutoffs in one update of the revocation record.
pub fn revoke(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    users: &[(Uuid, Cutoff)],
    roles: &[(Uuid, Cutoff)],
) {
    let fields: Vec<(String, String)> = users
        .iter()
        .map(|(id, c)| (format!("{USER_PREFIX}{id}"), c.encode()))
        .chain(
            roles
                .iter()
                .map(|(id, c)| (format!("{ROLE_PREFIX}{id}"), c.encode())),
        )
        .collect();
    set_cutoffs(tx, scope, fields);
}

/// One update of the revocation record setting these attributes (none: no
/// write).
fn set_cutoffs(tx: &mut Transaction<'_>, scope: &TenantScope, fields: Vec<(String, String)>) {
    if !fields.is_empty() {
        tx.tenant(scope).set_fields(
            &crate::keys::revocations(),
            "revocations",
            fields,
            Label::Revocation,
        );
    }
}

pub fn epoch_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenType;
    use crate::permissions::FlatPermissions;

    const T: i64 = 1_800_000_000_000;

    fn claims(iat_ms: i64, roles: &[u128], modules: &[&str]) -> Claims {
        Claims {
            sub: Uuid::from_u128(1),
            email: "a@b.io".into(),
            tenant_id: Uuid::from_u128(2),
            tenant_slug: "acme".into(),
            table: None,
            is_super_admin: false,
            plan: None,
            email_verified: false,
            permissions: FlatPermissions::default(),
            enabled_modules: modules.iter().map(|m| (*m).to_owned()).collect(),
            team_ids: vec![],
            roles: roles.iter().map(|r| Uuid::from_u128(*r)).collect(),
            token_type: TokenType::Access,
            jti: Uuid::from_u128(3),
            fam: Uuid::from_u128(4),
            iat: iat_ms.div_euclid(1000),
            iat_ms: Some(iat_ms),
            nbf: 0,
            exp: 0,
            iss: "i".into(),
            aud: "a".into(),
        }
    }

    #[test]
    fn a_logout_ends_only_its_own_login() {
        let mut s = TenantState::default();
        s.add_entry(&format!("f#{}", Uuid::from_u128(4)), &T.to_string());
        assert_eq!(verdict(&claims(T - 1, &[], &[]), &s), Verdict::LoginEnded);
        let mut other_login = claims(T - 1, &[], &[]);
        other_login.fam = Uuid::from_u128(5);
        assert_eq!(verdict(&other_login, &s), Verdict::Valid);
        assert_eq!(
            s.stale_entries(T + 3_600_000, Duration::from_secs(900)),
            vec![(format!("f#{}", Uuid::from_u128(4)), T.to_string())]
        );
    }

    fn state(active: bool, modules: &[&str]) -> TenantState {
        TenantState {
            entitlement: Some(Entitlement {
                tenant_active: active,
                modules: modules.iter().map(|m| (*m).to_owned()).collect(),
            }),
            ..TenantState::default()
        }
    }

    fn cutoff(at_ms: i64) -> Cutoff {
        Cutoff {
            at_ms,
            keep_family: None,
        }
    }

    #[test]
    fn a_clean_state_refuses_nothing() {
        assert_eq!(
            verdict(&claims(T, &[7], &["crm"]), &state(true, &["crm", "tasks"])),
            Verdict::Valid
        );
        // No profile: only cutoffs could apply.
        assert_eq!(
            verdict(&claims(T, &[], &["crm"]), &TenantState::default()),
            Verdict::Valid
        );
    }

    #[test]
    fn module_endpoints_leave_modules_to_the_module_check() {
        let crm_gone = state(true, &["tasks"]);
        let both = claims(T, &[], &["crm", "tasks"]);
        assert_eq!(verdict(&both, &crm_gone), Verdict::ModuleWithdrawn);
        assert_eq!(verdict_at_module(&both, &crm_gone), Verdict::Valid);
        assert!(!module_enabled(
            Some(&both.enabled_modules),
            &crm_gone,
            "crm"
        ));
        assert!(module_enabled(
            Some(&both.enabled_modules),
            &crm_gone,
            "tasks"
        ));
        // Everything else still refuses there.
        assert_eq!(
            verdict_at_module(&both, &state(false, &["crm", "tasks"])),
            Verdict::TenantSuspended
        );
        let mut cut = state(true, &["tasks"]);
        cut.users.insert(both.sub, cutoff(T + 1));
        assert_eq!(verdict_at_module(&both, &cut), Verdict::UserRevoked);
        // A token without the module never reaches it, entitled or not.
        let none = claims(T, &[], &[]);
        assert!(!module_enabled(
            Some(&none.enabled_modules),
            &state(true, &["crm"]),
            "crm"
        ));
        // A super admin elsewhere: only the tenant's entitlement counts.
        assert!(module_enabled(None, &state(true, &["crm"]), "crm"));
    }

    #[test]
    fn suspension_and_withdrawn_modules_refuse_every_token() {
        assert_eq!(
            verdict(&claims(T, &[], &[]), &state(false, &["crm"])),
            Verdict::TenantSuspended
        );
        assert_eq!(
            verdict(&claims(T, &[], &["crm"]), &state(true, &[])),
            Verdict::ModuleWithdrawn
        );
        // A module added since is no reason.
        assert_eq!(
            verdict(&claims(T, &[], &[]), &state(true, &["crm"])),
            Verdict::Valid
        );
    }

    #[test]
    fn a_user_cutoff_refuses_tokens_issued_before_it_to_the_millisecond() {
        let mut s = state(true, &[]);
        s.users.insert(Uuid::from_u128(1), cutoff(T));
        assert_eq!(verdict(&claims(T - 1, &[], &[]), &s), Verdict::UserRevoked);
        // The same second, but after the cutoff (a refresh): valid.
        assert_eq!(verdict(&claims(T, &[], &[]), &s), Verdict::Valid);
        assert_eq!(verdict(&claims(T + 1, &[], &[]), &s), Verdict::Valid);
        // Another user's cutoff is no reason.
        let mut other = claims(T - 1, &[], &[]);
        other.sub = Uuid::from_u128(9);
        assert_eq!(verdict(&other, &s), Verdict::Valid);
        // Tokens without iat_ms count from the start of their second.
        let mut old = claims(T + 500, &[], &[]);
        old.iat_ms = None;
        s.users.insert(Uuid::from_u128(1), cutoff(T + 400));
        assert_eq!(verdict(&old, &s), Verdict::UserRevoked);
    }

    #[test]
    fn a_spared_login_survives_its_users_cutoff() {
        let mut s = state(true, &[]);
        s.users.insert(
            Uuid::from_u128(1),
            Cutoff {
                at_ms: T,
                keep_family: Some(Uuid::from_u128(4)),
            },
        );
        assert_eq!(verdict(&claims(T - 1, &[], &[]), &s), Verdict::Valid);
        let mut other_login = claims(T - 1, &[], &[]);
        other_login.fam = Uuid::from_u128(5);
        assert_eq!(verdict(&other_login, &s), Verdict::UserRevoked);
    }

    #[test]
    fn a_role_cutoff_refuses_earlier_tokens_holding_the_role() {
        let mut s = state(true, &[]);
        s.roles.insert(Uuid::from_u128(7), cutoff(T));
        assert_eq!(
            verdict(&claims(T - 1, &[6, 7], &[]), &s),
            Verdict::RoleRevoked
        );
        assert_eq!(verdict(&claims(T - 1, &[6], &[]), &s), Verdict::Valid);
        assert_eq!(verdict(&claims(T, &[7], &[]), &s), Verdict::Valid);
    }

    #[test]
    fn entries_round_trip_and_go_stale_after_the_token_lifetime() {
        let keep = Cutoff {
            at_ms: T,
            keep_family: Some(Uuid::from_u128(4)),
        };
        assert_eq!(Cutoff::decode(&keep.encode()), Some(keep));
        assert_eq!(Cutoff::decode(&cutoff(T).encode()), Some(cutoff(T)));
        assert_eq!(Cutoff::decode("x"), None);

        let mut s = TenantState::default();
        s.add_entry(&format!("u#{}", Uuid::from_u128(1)), &keep.encode());
        s.add_entry(&format!("r#{}", Uuid::from_u128(7)), "1000");
        s.add_entry("PK", "TENANT#x");
        s.add_entry("u#not-a-uuid", "1000");
        assert_eq!(s.users.len(), 1);
        assert_eq!(s.roles.len(), 1);
        let lifetime = Duration::from_secs(900);
        let stale = s.stale_entries(T, lifetime);
        assert_eq!(
            stale,
            vec![(format!("r#{}", Uuid::from_u128(7)), "1000".to_owned())]
        );
        assert!(s.stale_entries(1000, lifetime).is_empty());
    }
}
