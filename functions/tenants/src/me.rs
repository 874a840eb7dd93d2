use crate::update::{self, TenantInput, TenantPatch};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use shared::auth::TenantAdmin;
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson};
use shared::keys;
use shared::records::TenantRecord;
use shared::views::TenantView;

/// The caller's own organisation.
#[utoipa::path(
    get,
    path = "/api/tenants/me/",
    tag = "tenants",
    description = "Permission: tenant admin (super admins with `X-Tenant-Id`).",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a tenant admin", body = ErrorBody),
    ),
)]
pub(crate) async fn get_me(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
) -> Result<Json<TenantView>, ApiError> {
    let tenant: TenantRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::tenant_profile())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(TenantView::from(&tenant)))
}

/// Replace the organisation's name, domain, settings and modules.
#[utoipa::path(
    put,
    path = "/api/tenants/me/",
    tag = "tenants",
    description = "Permission: tenant admin. Modules must be included in the plan; the domain is unique platform-wide. Audited.",
    request_body = TenantInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 400, description = "Invalid field, module outside the plan, taken domain", body = ValidationErrorBody),
        (status = 403, description = "Not a tenant admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn put_me(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    ApiJson(input): ApiJson<TenantInput>,
) -> Result<Json<TenantView>, ApiError> {
    update::apply(&state, &actor, input.into()).await.map(Json)
}

/// Change some of the organisation's fields.
#[utoipa::path(
    patch,
    path = "/api/tenants/me/",
    tag = "tenants",
    description = "Permission: tenant admin. Same rules as PUT; `domain: null` removes the domain. Audited.",
    request_body = TenantPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 400, description = "Invalid field, module outside the plan, taken domain", body = ValidationErrorBody),
        (status = 403, description = "Not a tenant admin", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_me(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> Result<Json<TenantView>, ApiError> {
    update::apply(&state, &actor, patch).await.map(Json)
}
