//! Saving a change to a user as one transaction that keeps every copy and
//! counter in step: the credential's role ids, role and team member counts
//! and the tenant's counters (`shared::membership`), and the audit log.

use crate::AppState;
use shared::audit;
use shared::auth::Actor;
use shared::http::{ApiError, ValidationErrors};
use shared::keys;
use shared::membership::{failure, id_set, minus, Deltas, Related, MAX_ROLES, MAX_TEAMS};
use shared::records::{CredentialRecord, UserRecord};
use shared::store::{Condition, Label};
use shared::views::UserView;
use time::OffsetDateTime;
use uuid::Uuid;

/// Writes `after` over `before` (unless nothing changed) and answers with
/// the saved user's view. `errors` holds problems found by the caller.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    before: &UserRecord,
    mut after: UserRecord,
    action: &'static str,
    mut errors: ValidationErrors,
) -> Result<UserView, ApiError> {
    after.role_ids = id_set(&mut errors, "role_ids", &after.role_ids, MAX_ROLES);
    after.team_ids = id_set(&mut errors, "team_ids", &after.team_ids, MAX_TEAMS);
    if after.role_ids.len() > MAX_ROLES || after.team_ids.len() > MAX_TEAMS {
        return Err(errors.into());
    }
    let mut role_ids: Vec<Uuid> = before
        .role_ids
        .iter()
        .chain(&after.role_ids)
        .copied()
        .collect();
    role_ids.sort();
    role_ids.dedup();
    let mut team_ids: Vec<Uuid> = before
        .team_ids
        .iter()
        .chain(&after.team_ids)
        .copied()
        .collect();
    team_ids.sort();
    team_ids.dedup();
    let related = Related::load(&state.store, actor.scope(), &role_ids, &team_ids).await?;
    // Only ids the change introduces can be wrong; held ones were checked.
    related.check_roles(&mut errors, &minus(&after.role_ids, &before.role_ids));
    related.check_teams(&mut errors, &minus(&after.team_ids, &before.team_ids));
    errors.into_result()?;
    related
        .refuse_escalation(&state.store, actor, Some(before), &after)
        .await?;

    let view = |user: &UserRecord| UserView::new(user, &related.tenant, &related.roles);
    after.version = before.version;
    after.updated_at = before.updated_at;
    if after == *before {
        return Ok(view(&after));
    }
    let now = OffsetDateTime::now_utc();
    after.version = before.version + 1;
    after.updated_at = now;
    if before.is_active && !after.is_active {
        // Every login started so far ends; reactivation does not revive it.
        after.sessions_valid_after = Some(now);
    }
    let deltas = Deltas::between(Some(before), &after, related.system_role());
    let max_users = if deltas.users > 0 {
        related.max_users(&state.store).await?
    } else {
        None
    };

    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &keys::user(after.id),
        &after,
        Condition::VersionIs(before.version),
        Label::User,
    );
    if after.role_ids != before.role_ids {
        // Login reads the roles from the credential; keep the copy exact.
        let credential: CredentialRecord = state
            .store
            .platform()
            .get(&keys::email_claim(&before.email))
            .await?
            .filter(|c: &CredentialRecord| c.user_id == before.id)
            .ok_or_else(|| ApiError::internal("user without credential"))?;
        let updated = CredentialRecord {
            role_ids: after.role_ids.clone(),
            version: credential.version + 1,
            ..credential.clone()
        };
        tx.put_platform(
            &keys::email_claim(&before.email),
            &updated,
            Condition::VersionIs(credential.version),
            Label::Credential,
        );
    }
    deltas.add_to(&mut tx, actor.scope(), max_users);
    let revokes = deltas.revokes_tokens(before, &after);
    if revokes {
        // In the same transaction: the user's current access tokens stop
        // within the revocation check interval; a refresh carries the rest.
        shared::revocation::revoke_user(&mut tx, actor.scope(), after.id, now);
    }
    audit::record(
        &mut tx,
        actor,
        action,
        "user",
        after.id,
        audit::changes(
            Some(before),
            Some(&after),
            &["version", "updated_at", "sessions_valid_after"],
        ),
    );
    tx.execute().await.map_err(|e| failure(e, max_users))?;
    if revokes {
        state.store.prune_revocations(actor.scope()).await;
    }
    Ok(view(&after))
}
