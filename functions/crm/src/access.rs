//! Reaching a lead under the caller's scopes: a lead outside the scope that
//! lets the caller see it is absent (404), one they see but may not change
//! is refused with the scope required and held (403).

use crate::records::{self, LeadRecord};
use shared::auth::Actor;
use shared::http::ApiError;
use shared::permissions::{PermissionKey, Resource};
use shared::store::{Store, StoreError};
use uuid::Uuid;

/// The record permission checks see for a lead (activities are checked
/// against their lead's).
pub fn resource_of(actor: &Actor, lead: &LeadRecord) -> Resource {
    actor.resource(Some(lead.owner_id), lead.team_id)
}

/// Whether the caller sees `lead` under `view` (a scope action).
pub fn sees(actor: &Actor, view: PermissionKey, lead: &LeadRecord) -> bool {
    actor.can(view, &resource_of(actor, lead)).is_allowed()
}

/// The lead, if it exists in the tenant acted in and the caller sees it
/// under `view`; 404 otherwise (never telling the two apart).
pub async fn visible_lead(
    store: &Store,
    actor: &Actor,
    view: PermissionKey,
    id: Uuid,
) -> Result<LeadRecord, ApiError> {
    let lead: Option<LeadRecord> = store.tenant(actor.scope()).get(&records::lead(id)).await?;
    lead.filter(|l| sees(actor, view, l))
        .ok_or(ApiError::NotFound)
}

/// `Ok` when the caller may do `key` on `lead`, else the 403 naming the
/// scope required and held.
pub fn allowed(actor: &Actor, key: PermissionKey, lead: &LeadRecord) -> Result<(), ApiError> {
    let _granted = actor.can(key, &resource_of(actor, lead)).into_result()?;
    Ok(())
}

/// A user of the tenant acted in who may own records: active.
pub async fn active_user(
    store: &Store,
    actor: &Actor,
    user_id: Uuid,
) -> Result<Option<shared::records::UserRecord>, StoreError> {
    let user: Option<shared::records::UserRecord> = store
        .tenant(actor.scope())
        .get(&shared::keys::user(user_id))
        .await?;
    Ok(user.filter(|u| u.is_active))
}
