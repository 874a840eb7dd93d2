use crate::update::{self, TenantInput, TenantPatch};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use shared::auth::{holds, AdministrationTenantManage, Require, TenantMember};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, Replace};
use shared::keys;
use shared::permissions::{keys as perm, Module};
use shared::records::TenantRecord;
use shared::views::TenantView;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

shared::replace_body!(
    /// The PUT body: `TenantInput`, and the rest of `TenantView` read-only.
    pub TenantReplaceBody,
    TenantInput,
    TenantView
);

/// The organisation as a member without `administration.tenant.view` sees
/// it: no `settings`, no `domain`. Closed (`additionalProperties: false`),
/// so that a full `TenantView` never also matches it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSummaryView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub enabled_modules: Vec<Module>,
    pub is_active: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub trial_ends_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<&TenantRecord> for TenantSummaryView {
    fn from(t: &TenantRecord) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            slug: t.slug.clone(),
            enabled_modules: t.enabled_modules.clone(),
            is_active: t.is_active,
            trial_ends_at: t.trial_ends_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// `GET /api/tenants/me/`: the full view with `administration.tenant.view`,
/// the summary without.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TenantMeView {
    Full(TenantView),
    Summary(TenantSummaryView),
}

/// The caller's own organisation.
#[utoipa::path(
    get,
    // Not the handler name: users/me has a get_me too (operationIds are unique).
    operation_id = "get_current_tenant",
    path = "/api/tenants/me/",
    tag = "tenants",
    description = "Permission: any member (super admins with `X-Tenant-Id` move to that tenant). With \
        `administration.tenant.view` (or as a super admin) the answer is the full `TenantView`, including \
        `settings` and `domain`; without it, a `TenantSummaryView` that has neither.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant: `TenantView` with `administration.tenant.view`, else `TenantSummaryView`", body = TenantMeView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn get_me(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
) -> Result<Json<TenantMeView>, ApiError> {
    let tenant: TenantRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::tenant_profile())
        .await?
        .ok_or(ApiError::NotFound)?;
    // Settings and the domain are administration data, not every member's.
    Ok(Json(
        if holds(actor.claims(), perm::ADMINISTRATION_TENANT_VIEW) {
            TenantMeView::Full(TenantView::from(&tenant))
        } else {
            TenantMeView::Summary(TenantSummaryView::from(&tenant))
        },
    ))
}

/// Replace the organisation's name, domain, settings and modules.
#[utoipa::path(
    put,
    operation_id = "put_current_tenant",
    path = "/api/tenants/me/",
    tag = "tenants",
    description = "Permission: `administration.tenant.manage` (super admins pass; `X-Tenant-Id` moves only them). Modules must be included in the plan; the domain is unique platform-wide. \
        The other fields of `GET /api/tenants/me/` may be sent back: read-only, ignored when unchanged, \
        a 400 `This field is read-only.` when changed. Audited.",
    request_body = TenantReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 400, description = "Invalid field, changed read-only field, module outside the plan, taken domain", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.tenant.manage`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn put_me(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTenantManage>,
    input: Replace<TenantInput>,
) -> Result<Json<TenantView>, ApiError> {
    // The tenant's own representation may come back: its other fields are read-only.
    let current: TenantRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::tenant_profile())
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = input.against(&TenantView::from(&current))?;
    update::apply(&state, &actor, input.into()).await.map(Json)
}

/// Change some of the organisation's fields.
#[utoipa::path(
    patch,
    operation_id = "patch_current_tenant",
    path = "/api/tenants/me/",
    tag = "tenants",
    description = "Permission: `administration.tenant.manage` (super admins pass; `X-Tenant-Id` moves only them). Same rules as PUT; `domain: null` removes the domain. Audited.",
    request_body = TenantPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 400, description = "Invalid field, module outside the plan, taken domain", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.tenant.manage`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_me(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationTenantManage>,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> Result<Json<TenantView>, ApiError> {
    update::apply(&state, &actor, patch).await.map(Json)
}
