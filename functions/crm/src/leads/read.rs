//! Reading leads: the list under the caller's scope, and one lead.

use super::view::LeadView;
use crate::access::visible_lead;
use crate::records::{
    self, LeadRecord, LeadStatus, COMPANY_LC, EMAIL_LC, LEADS_BY_NAME, LEADS_BY_VALUE,
    LEAD_COLLECTION, NAME_LC,
};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::auth::{Actor, CrmLeadsView, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, IdPath, ListQuery, PageQuery, Paginated, ValidationErrors};
use shared::permissions::{actions, OwnershipFilter, PermissionKey};
use shared::store::{Page, PageRequest, StoreError};
use utoipa::ToSchema;
use uuid::Uuid;

/// The orders a lead list can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
pub enum LeadOrdering {
    #[serde(rename = "created_at")]
    CreatedAt,
    #[default]
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
    #[serde(rename = "value")]
    Value,
    #[serde(rename = "-value")]
    ValueDesc,
    #[serde(rename = "name")]
    Name,
}

impl LeadOrdering {
    fn as_str(self) -> &'static str {
        match self {
            LeadOrdering::CreatedAt => "created_at",
            LeadOrdering::CreatedAtDesc => "-created_at",
            LeadOrdering::Value => "value",
            LeadOrdering::ValueDesc => "-value",
            LeadOrdering::Name => "name",
        }
    }
}

/// Filters of the lead list and export.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadFilters {
    pub status: Option<LeadStatus>,
    pub owner: Option<Uuid>,
    pub team: Option<Uuid>,
    pub tag: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<LeadOrdering>,
}

/// One page of the leads `key` (`crm.leads.view`, or `.export`) lets the
/// caller reach, filtered and ordered. Scoped pages read only the owner's
/// and teams' index partitions (see `docs/data-model.md`).
pub(crate) async fn leads_page(
    state: &AppState,
    actor: &Actor,
    key: PermissionKey,
    filters: &LeadFilters,
    limit: u16,
    cursor: Option<String>,
) -> Result<Page<LeadRecord>, ApiError> {
    let scope = actor.list_filter(key)?;
    let ordering = filters.ordering.unwrap_or_default();
    let mut request = PageRequest::new(
        limit,
        cursor,
        format!("crm-leads/{}/{}", key, ordering.as_str()),
    );
    if matches!(
        ordering,
        LeadOrdering::CreatedAtDesc | LeadOrdering::ValueDesc
    ) {
        request = request.descending();
    }
    if let Some(status) = filters.status {
        request = request.where_eq("status", status.as_str());
    }
    if let Some(tag) = &filters.tag {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > 50 {
            return Err(ValidationErrors::field("tag", "Enter 1 to 50 characters.").into());
        }
        request = request.where_contains("tags", tag);
    }
    if let Some(search) = &filters.search {
        let term = shared::validate::search_term(search)?;
        request = request.where_any_starts_with(&[NAME_LC, EMAIL_LC, COMPANY_LC], term);
    }
    let by_key_order = matches!(
        ordering,
        LeadOrdering::CreatedAt | LeadOrdering::CreatedAtDesc
    );
    if !by_key_order && scope != OwnershipFilter::All {
        return Err(ValidationErrors::field(
            "ordering",
            format!(
                "Ordering by value or name needs {key} at scope all; order by created_at or -created_at."
            ),
        )
        .into());
    }
    let store = state.store.tenant(actor.scope());
    let page: Result<Page<LeadRecord>, StoreError> = match (&scope, filters.owner, filters.team) {
        // Seeing everything, an owner or team filter reads that index alone.
        (OwnershipFilter::All, Some(owner), team) if by_key_order => {
            if let Some(team) = team {
                request = request.where_eq("team_id", team.to_string());
            }
            store.query_owned_by(LEAD_COLLECTION, owner, &request).await
        }
        (OwnershipFilter::All, None, Some(team)) if by_key_order => {
            store.query_of_team(LEAD_COLLECTION, team, &request).await
        }
        _ => {
            if let Some(owner) = filters.owner {
                request = request.where_eq("owner_id", owner.to_string());
            }
            if let Some(team) = filters.team {
                request = request.where_eq("team_id", team.to_string());
            }
            match ordering {
                LeadOrdering::Name => store.query_alt(LEADS_BY_NAME, &request).await,
                LeadOrdering::Value | LeadOrdering::ValueDesc => {
                    store.query_alt2(LEADS_BY_VALUE, &request).await
                }
                LeadOrdering::CreatedAt | LeadOrdering::CreatedAtDesc => {
                    store
                        .query_owned(LEAD_COLLECTION, &records::leads(), &scope, &request)
                        .await
                }
            }
        }
    };
    Ok(page?)
}

/// The leads the caller can see.
#[utoipa::path(
    get,
    path = "/api/crm/leads/",
    tag = "crm",
    description = "Permission: `crm.leads.view`, whose scope decides the rows: `own` the caller's leads, `team` also the leads of \
        the caller's teams (`team_ids` of the token, refreshed within the revocation interval after a membership change), \
        `all` every lead of the tenant. Scoped lists read only the caller's owner and team index partitions, merged in \
        order behind one cursor: never the tenant's whole partition. Ordering by `value` or `name` needs scope `all` \
        (400 otherwise). Cursor pagination (`cursor`, `page_size` ≤ 100). The tenant must have the `crm` module. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(
        ("status" = Option<LeadStatus>, Query, description = "Only leads in this status"),
        ("owner" = Option<Uuid>, Query, description = "Only leads of this owner"),
        ("team" = Option<Uuid>, Query, description = "Only leads of this team"),
        ("tag" = Option<String>, Query, max_length = 50, pattern = r"\S", description = "Only leads with this tag"),
        ("search" = Option<String>, Query, max_length = 100, pattern = r"^$|\S", description = "Case-insensitive prefix of the name, email or company"),
        ("ordering" = inline(Option<LeadOrdering>), Query, description = "`-created_at` (default), `created_at`, `value`, `-value`, `name`"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of leads", body = Paginated<LeadView>),
        (status = 400, description = "Invalid or unknown filter, or an ordering the caller's scope cannot serve", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.leads.view`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_leads(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsView>,
    ListQuery(filters): ListQuery<LeadFilters>,
    page: PageQuery,
) -> Result<Json<Paginated<LeadView>>, ApiError> {
    let leads = leads_page(
        &state,
        &actor,
        actions::CRM_LEADS_VIEW,
        &filters,
        page.page_size,
        page.cursor.clone(),
    )
    .await?;
    Ok(Json(page.respond(leads, LeadView::from)))
}

/// One lead.
#[utoipa::path(
    get,
    path = "/api/crm/leads/{id}/",
    tag = "crm",
    description = "Permission: `crm.leads.view` reaching the lead (own, team or all); a lead beyond the caller's scope is 404, \
        as is one of another tenant. The tenant must have the `crm` module. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(("id" = Uuid, Path, description = "Lead id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The lead", body = LeadView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.leads.view`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "No such lead the caller can see in this tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn get_lead(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsView>,
    IdPath(id): IdPath,
) -> Result<Json<LeadView>, ApiError> {
    let lead = visible_lead(&state.store, &actor, actions::CRM_LEADS_VIEW, id).await?;
    Ok(Json(lead.into()))
}
