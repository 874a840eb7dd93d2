//! A tenant's members and what they belong to: the bookkeeping that keeps
//! role and team member counts and the tenant's active-user and
//! active-admin counters in step with every user written, whether an admin
//! creates or changes the user (the users function) or an invitee accepts
//! an invitation (the auth function).

use crate::auth::{own_grants, refuse_beyond, Actor};
use crate::http::{ApiError, ValidationErrors};
use crate::keys;
use crate::records::{
    CredentialRecord, PlanRecord, RoleRecord, SubscriptionRecord, TeamRecord, TenantRecord,
    UserRecord,
};
use crate::store::{
    Add, Bound, Condition, Counter, Label, Store, StoreError, TenantScope, Transaction,
};
use uuid::Uuid;

/// Most roles, and most teams, one user may hold.
pub const MAX_ROLES: usize = 20;
pub const MAX_TEAMS: usize = 20;

/// How one change moves the membership lists and the tenant's counters.
/// Pure, so the bookkeeping rules are unit-tested without a table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    pub roles_added: Vec<Uuid>,
    pub roles_removed: Vec<Uuid>,
    pub teams_added: Vec<Uuid>,
    pub teams_removed: Vec<Uuid>,
    /// Change of the tenant's active users (checked against `max_users`).
    pub users: i64,
    /// Change of the active holders of the system Admin role (kept >= 1).
    pub admins: i64,
}

impl Deltas {
    /// `before` is `None` for a new user; `system_role` is the tenant's
    /// Admin role id when either version of the user holds it.
    pub fn between(
        before: Option<&UserRecord>,
        after: &UserRecord,
        system_role: Option<Uuid>,
    ) -> Self {
        let (old_roles, old_teams, was_active) = match before {
            Some(b) => (b.role_ids.as_slice(), b.team_ids.as_slice(), b.is_active),
            None => (&[][..], &[][..], false),
        };
        let is_admin = |roles: &[Uuid], active: bool| {
            active && system_role.is_some_and(|r| roles.contains(&r))
        };
        Deltas {
            roles_added: minus(&after.role_ids, old_roles),
            roles_removed: minus(old_roles, &after.role_ids),
            teams_added: minus(&after.team_ids, old_teams),
            teams_removed: minus(old_teams, &after.team_ids),
            users: i64::from(after.is_active) - i64::from(was_active),
            admins: i64::from(is_admin(&after.role_ids, after.is_active))
                - i64::from(is_admin(old_roles, was_active)),
        }
    }

    /// Whether the user's current tokens must be re-issued: the change
    /// withdraws access they carry (deactivation, a role removed), or moves
    /// the user between teams either way — `team`-scoped lists select by
    /// the token's `team_ids`, so a team gained must show there within the
    /// revocation interval too, not only at the token's expiry.
    pub fn revokes_tokens(&self, before: &UserRecord, after: &UserRecord) -> bool {
        (before.is_active && !after.is_active)
            || !self.roles_removed.is_empty()
            || !self.teams_removed.is_empty()
            || !self.teams_added.is_empty()
    }

    /// Adds the counter updates to `tx`. Labels: `role`, `team` (the item
    /// vanished), `limit` (plan's `max_users`), `last_admin`, `usage`.
    pub fn add_to(&self, tx: &mut Transaction<'_>, scope: &TenantScope, max_users: Option<u32>) {
        for id in &self.roles_added {
            tx.tenant(scope)
                .add(&keys::role(*id), Add::new("member_count", 1), Label::Role);
        }
        for id in &self.roles_removed {
            tx.tenant(scope)
                .add(&keys::role(*id), Add::new("member_count", -1), Label::Role);
        }
        for id in &self.teams_added {
            tx.tenant(scope)
                .add(&keys::team(*id), Add::new("member_count", 1), Label::Team);
        }
        for id in &self.teams_removed {
            tx.tenant(scope)
                .add(&keys::team(*id), Add::new("member_count", -1), Label::Team);
        }
        let mut counters = Vec::new();
        if self.users != 0 {
            let bound = match (self.users > 0, max_users) {
                (true, Some(max)) => Bound::Below(i64::from(max)),
                _ => Bound::None,
            };
            counters.push(Counter {
                field: "users",
                delta: self.users,
                bound,
            });
        }
        if self.admins != 0 {
            let bound = if self.admins < 0 {
                Bound::KeepAtLeast(1)
            } else {
                Bound::None
            };
            counters.push(Counter {
                field: "admins",
                delta: self.admins,
                bound,
            });
        }
        // Losing an admin never coincides with gaining a user (an inactive
        // user counts as neither), so one label names the failed bound.
        let label = if self.admins < 0 {
            Label::LastAdmin
        } else if self.users > 0 {
            Label::Limit
        } else {
            Label::Usage
        };
        if !counters.is_empty() {
            tx.tenant(scope).counters(&keys::usage(), &counters, label);
        }
    }
}

pub fn minus(a: &[Uuid], b: &[Uuid]) -> Vec<Uuid> {
    a.iter().filter(|x| !b.contains(x)).copied().collect()
}

/// Sorted, without duplicates, at most `max`; errors go on `field`.
pub fn id_set(errors: &mut ValidationErrors, field: &str, ids: &[Uuid], max: usize) -> Vec<Uuid> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.len() > max {
        errors.add(field, format!("At most {max} entries."));
    }
    ids
}

/// Refuses id lists over their limit before anything is read: one batch
/// read takes at most 100 keys, so a longer list would fail there.
pub fn check_id_lists(
    role_ids: Option<&[Uuid]>,
    team_ids: Option<&[Uuid]>,
) -> Result<(), ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(ids) = role_ids {
        id_set(&mut errors, "role_ids", ids, MAX_ROLES);
    }
    if let Some(ids) = team_ids {
        id_set(&mut errors, "team_ids", ids, MAX_TEAMS);
    }
    errors.into_result()
}

/// What a change needs to know about the tenant, read in one batch.
pub struct Related {
    pub tenant: TenantRecord,
    pub subscription: Option<SubscriptionRecord>,
    pub roles: Vec<RoleRecord>,
    pub teams: Vec<TeamRecord>,
}

impl Related {
    /// The tenant, its subscription, and those of the given roles and
    /// teams that exist in this tenant.
    pub async fn load(
        store: &Store,
        scope: &TenantScope,
        role_ids: &[Uuid],
        team_ids: &[Uuid],
    ) -> Result<Self, ApiError> {
        let store = store.tenant(scope);
        let mut sks: Vec<keys::SortKey> =
            vec![keys::tenant_profile().into(), keys::subscription().into()];
        sks.extend(role_ids.iter().map(|id| keys::role(*id).into()));
        sks.extend(team_ids.iter().map(|id| keys::team(*id).into()));
        let mut fetched = store.get_many(&sks).await?;
        let tenant: TenantRecord = fetched
            .take(&keys::tenant_profile())?
            .ok_or(ApiError::NotFound)?;
        let subscription = fetched.take(&keys::subscription())?;
        let mut roles = Vec::new();
        for id in role_ids {
            roles.extend(fetched.take::<RoleRecord>(&keys::role(*id))?);
        }
        let mut teams = Vec::new();
        for id in team_ids {
            teams.extend(fetched.take::<TeamRecord>(&keys::team(*id))?);
        }
        Ok(Self {
            tenant,
            subscription,
            roles,
            teams,
        })
    }

    /// Reports each of `ids` that is not a role of this tenant.
    pub fn check_roles(&self, errors: &mut ValidationErrors, ids: &[Uuid]) {
        for id in ids
            .iter()
            .filter(|id| !self.roles.iter().any(|r| r.id == **id))
        {
            errors.add("role_ids", format!("Unknown role {id}."));
        }
    }

    /// Reports each of `ids` that is not a team of this tenant.
    pub fn check_teams(&self, errors: &mut ValidationErrors, ids: &[Uuid]) {
        for id in ids
            .iter()
            .filter(|id| !self.teams.iter().any(|t| t.id == **id))
        {
            errors.add("team_ids", format!("Unknown team {id}."));
        }
    }

    /// The no-escalation rule for a change of `before` into `after`: every
    /// role assigned or removed, and on (de)activation every role the user
    /// holds, must be within the caller's own grants. The system Admin role
    /// holds everything, so only a holder of every grant moves it.
    pub async fn refuse_escalation(
        &self,
        store: &Store,
        actor: &Actor,
        before: Option<&UserRecord>,
        after: &UserRecord,
    ) -> Result<(), ApiError> {
        let old_roles = before.map_or(&[][..], |b| b.role_ids.as_slice());
        let moved = |id: &Uuid| old_roles.contains(id) != after.role_ids.contains(id);
        let toggled = before.is_some_and(|b| b.is_active != after.is_active);
        let touched: Vec<&RoleRecord> = self
            .roles
            .iter()
            .filter(|r| moved(&r.id) || (toggled && after.role_ids.contains(&r.id)))
            .collect();
        if touched.is_empty() {
            return Ok(());
        }
        let held = own_grants(store, actor).await?;
        let what = if toggled {
            "deactivate or activate a user holding roles"
        } else {
            "assign or remove roles"
        };
        refuse_beyond(held.as_ref(), touched.iter().map(|r| &r.permissions), what)
    }

    /// The no-escalation rule for roles to be granted later (an
    /// invitation's): each must be within the caller's own grants.
    pub async fn refuse_granting(
        &self,
        store: &Store,
        actor: &Actor,
        role_ids: &[Uuid],
    ) -> Result<(), ApiError> {
        let granted: Vec<&RoleRecord> = self
            .roles
            .iter()
            .filter(|r| role_ids.contains(&r.id))
            .collect();
        if granted.is_empty() {
            return Ok(());
        }
        let held = own_grants(store, actor).await?;
        refuse_beyond(
            held.as_ref(),
            granted.iter().map(|r| &r.permissions),
            "invite with roles",
        )
    }

    pub fn system_role(&self) -> Option<Uuid> {
        self.roles.iter().find(|r| r.is_system).map(|r| r.id)
    }

    /// The plan's `max_users` (`None`: unlimited); one read, only when a
    /// change adds an active user.
    pub async fn max_users(&self, store: &Store) -> Result<Option<u32>, ApiError> {
        let Some(plan_id) = self.subscription.as_ref().and_then(|s| s.plan_id) else {
            return Ok(None);
        };
        let plan: Option<PlanRecord> = store.platform().get(&keys::plan(plan_id)).await?;
        Ok(plan.and_then(|p| p.max_users))
    }
}

pub fn plan_limit_reached(max: Option<u32>) -> ApiError {
    ApiError::Forbidden {
        detail: format!(
            "Your plan allows {} active users; upgrade to add more.",
            max.unwrap_or(0)
        ),
        code: "plan_limit_reached",
        permission: None,
    }
}

/// Maps the labels of a failed transaction to what the caller did wrong.
pub fn failure(e: StoreError, max_users: Option<u32>) -> ApiError {
    let StoreError::TransactionConditionFailed(labels) = e else {
        return e.into();
    };
    if labels.contains(&Label::Email) {
        ValidationErrors::field("email", "A user with this email already exists.").into()
    } else if labels.contains(&Label::LastAdmin) {
        // The request is valid; the tenant's current state refuses it.
        ApiError::conflict(
            "This is the last active administrator of the organisation; make someone else an administrator first.",
            "last_admin",
        )
    } else if labels.contains(&Label::Limit) {
        plan_limit_reached(max_users)
    } else if labels.contains(&Label::Role) {
        ValidationErrors::field(
            "role_ids",
            "A role was deleted meanwhile; reload and try again.",
        )
        .into()
    } else if labels.contains(&Label::Team) {
        ValidationErrors::field(
            "team_ids",
            "A team was deleted meanwhile; reload and try again.",
        )
        .into()
    } else {
        ApiError::conflict(
            "The user was changed by another request; reload and try again.",
            "conflict",
        )
    }
}

/// Adds a new member to `tx`: the user, the email claim carrying the
/// credential, and the counters (within `max_users`). Labels on failure:
/// `email` (taken), those of [`Deltas::add_to`], `user` (the id exists).
pub fn add_member(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    user: &UserRecord,
    credential: &CredentialRecord,
    system_role: Option<Uuid>,
    max_users: Option<u32>,
) {
    tx.tenant(scope).put(
        &keys::user(user.id),
        user,
        Condition::NotExists,
        Label::User,
    );
    tx.claim_platform(
        &keys::email_claim(&credential.email),
        credential,
        Label::Email,
    );
    Deltas::between(None, user, system_role).add_to(tx, scope, max_users);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::OffsetDateTime;

    fn user(roles: &[u128], teams: &[u128], active: bool) -> UserRecord {
        let now = OffsetDateTime::UNIX_EPOCH;
        UserRecord {
            id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            email: "a@b.io".into(),
            first_name: String::new(),
            last_name: String::new(),
            phone: None,
            role_ids: roles.iter().map(|n| Uuid::from_u128(*n)).collect(),
            team_ids: teams.iter().map(|n| Uuid::from_u128(*n)).collect(),
            is_active: active,
            is_super_admin: false,
            timezone: "UTC".into(),
            preferences: json!({}),
            profile_picture: None,
            sessions_valid_after: None,
            email_verified: false,
            date_joined: now,
            updated_at: now,
            version: 1,
        }
    }

    const ADMIN: u128 = 100;
    fn admin_role() -> Option<Uuid> {
        Some(Uuid::from_u128(ADMIN))
    }

    #[test]
    fn a_new_active_admin_counts_once_everywhere() {
        let d = Deltas::between(None, &user(&[ADMIN, 5], &[9], true), admin_role());
        assert_eq!(d.roles_added.len(), 2);
        assert_eq!(d.teams_added, vec![Uuid::from_u128(9)]);
        assert_eq!((d.users, d.admins), (1, 1));
    }

    #[test]
    fn deactivating_an_admin_loses_a_user_and_an_admin_but_keeps_memberships() {
        let d = Deltas::between(
            Some(&user(&[ADMIN], &[9], true)),
            &user(&[ADMIN], &[9], false),
            admin_role(),
        );
        assert_eq!((d.users, d.admins), (-1, -1));
        assert!(
            d.roles_added.is_empty() && d.roles_removed.is_empty() && d.teams_removed.is_empty()
        );
    }

    #[test]
    fn demoting_an_active_admin_loses_an_admin_only() {
        let d = Deltas::between(
            Some(&user(&[ADMIN, 5], &[], true)),
            &user(&[5], &[], true),
            admin_role(),
        );
        assert_eq!(d.roles_removed, vec![Uuid::from_u128(ADMIN)]);
        assert_eq!((d.users, d.admins), (0, -1));
    }

    #[test]
    fn inactive_users_never_count_as_admins() {
        let d = Deltas::between(
            Some(&user(&[5], &[], false)),
            &user(&[ADMIN], &[], false),
            admin_role(),
        );
        assert_eq!((d.users, d.admins), (0, 0));
        let d = Deltas::between(
            Some(&user(&[ADMIN], &[], false)),
            &user(&[ADMIN], &[], true),
            admin_role(),
        );
        assert_eq!((d.users, d.admins), (1, 1));
    }

    #[test]
    fn admin_loss_and_user_gain_never_coincide() {
        // Exhaustive over the relevant flags: the label choice relies on it.
        for was_active in [false, true] {
            for is_active in [false, true] {
                for had in [false, true] {
                    for has in [false, true] {
                        let roles = |h: bool| if h { vec![ADMIN] } else { vec![] };
                        let d = Deltas::between(
                            Some(&user(&roles(had), &[], was_active)),
                            &user(&roles(has), &[], is_active),
                            admin_role(),
                        );
                        assert!(
                            !(d.admins < 0 && d.users > 0),
                            "{was_active} {is_active} {had} {has}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn withdrawals_and_team_moves_revoke_tokens() {
        let revokes = |b: &UserRecord, a: &UserRecord| {
            Deltas::between(Some(b), a, admin_role()).revokes_tokens(b, a)
        };
        assert!(revokes(&user(&[5], &[], true), &user(&[5], &[], false)));
        assert!(revokes(
            &user(&[5, 6], &[], true),
            &user(&[6, 7], &[], true)
        ));
        assert!(revokes(&user(&[], &[1], true), &user(&[], &[], true)));
        // A team gained changes what `team` scopes list.
        assert!(revokes(&user(&[5], &[1], true), &user(&[5], &[1, 2], true)));
        // A role gained does not: the next refresh carries it.
        assert!(!revokes(
            &user(&[5], &[1], true),
            &user(&[5, 6], &[1], true)
        ));
        assert!(!revokes(&user(&[5], &[], false), &user(&[5], &[], true)));
    }

    #[test]
    fn team_moves() {
        let d = Deltas::between(
            Some(&user(&[], &[1, 2], true)),
            &user(&[], &[2, 3], true),
            None,
        );
        assert_eq!(d.teams_added, vec![Uuid::from_u128(3)]);
        assert_eq!(d.teams_removed, vec![Uuid::from_u128(1)]);
        assert_eq!((d.users, d.admins), (0, 0));
    }

    #[test]
    fn id_sets_are_sorted_unique_and_bounded() {
        let mut errors = ValidationErrors::new();
        let ids = id_set(
            &mut errors,
            "role_ids",
            &[Uuid::from_u128(2), Uuid::from_u128(1), Uuid::from_u128(2)],
            5,
        );
        assert_eq!(ids, vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
        assert!(errors.is_empty());
        let many: Vec<Uuid> = (0..6).map(Uuid::from_u128).collect();
        id_set(&mut errors, "role_ids", &many, 5);
        assert!(!errors.is_empty());
    }
}
