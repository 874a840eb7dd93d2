//! Reading activities: a lead's, and one. An activity is seen under
//! `crm.activities.view` applied to its lead (owner and team).

use super::view::ActivityView;
use crate::access::{sees, visible_lead};
use crate::records::{self, ActivityRecord, LeadRecord};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use shared::auth::{Actor, CrmActivitiesView, Require};
use shared::http::schema::ErrorBody;
use shared::http::{ApiError, IdPath, PageQuery, Paginated};
use shared::permissions::actions;
use shared::store::PageRequest;
use uuid::Uuid;

/// The activity and its lead, if the caller sees the lead under
/// `crm.activities.view`; 404 otherwise.
pub(crate) async fn visible_activity(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> Result<(ActivityRecord, LeadRecord), ApiError> {
    let store = state.store.tenant(actor.scope());
    let activity: ActivityRecord = store
        .get(&records::activity(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    // Activities of a deleted lead are gone with it.
    let lead: LeadRecord = store
        .get(&records::lead(activity.lead_id))
        .await?
        .filter(|l| sees(actor, actions::CRM_ACTIVITIES_VIEW, l))
        .ok_or(ApiError::NotFound)?;
    Ok((activity, lead))
}

/// A lead's activities, oldest first.
#[utoipa::path(
    get,
    path = "/api/crm/leads/{id}/activities/",
    tag = "crm",
    description = "Permission: `crm.activities.view` reaching the lead (own: the caller's leads; team: also their teams'; all): \
        otherwise 404. Oldest first; cursor pagination (`cursor`, `page_size` ≤ 100). The tenant must have the `crm` module. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(
        ("id" = Uuid, Path, description = "Lead id"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of activities", body = Paginated<ActivityView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.activities.view`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such lead the caller can see in this tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn list_activities(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmActivitiesView>,
    IdPath(id): IdPath,
    page: PageQuery,
) -> Result<Json<Paginated<ActivityView>>, ApiError> {
    let request = PageRequest::new(
        page.page_size,
        page.cursor.clone(),
        format!("crm-activities/{id}"),
    );
    // The activities do not depend on the lead: both reads in one round
    // trip, and none of them answered unless the lead is visible.
    let store = state.store.tenant(actor.scope());
    let prefix = records::activities_of(id);
    let (lead, activities) = tokio::join!(
        visible_lead(&state.store, &actor, actions::CRM_ACTIVITIES_VIEW, id),
        store.query_alt::<ActivityRecord>(&prefix, &request),
    );
    lead?;
    let activities = activities?;
    Ok(Json(page.respond(activities, ActivityView::from)))
}

/// One activity.
#[utoipa::path(
    get,
    path = "/api/crm/activities/{id}/",
    tag = "crm",
    description = "Permission: `crm.activities.view` reaching the activity's lead; otherwise 404. The tenant must have the `crm` module. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The activity", body = ActivityView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.activities.view`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such activity the caller can see in this tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn get_activity(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmActivitiesView>,
    IdPath(id): IdPath,
) -> Result<Json<ActivityView>, ApiError> {
    let (activity, _) = visible_activity(&state, &actor, id).await?;
    Ok(Json(activity.into()))
}
