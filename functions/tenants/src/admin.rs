//! The platform super admins' registry of tenants. Every change made
//! inside a tenant is audited in that tenant's log.

use crate::update::{self, TenantInput, TenantPatch};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use shared::audit;
use shared::auth::SuperAdmin;
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, PageQuery, Paginated};
use shared::keys;
use shared::records::TenantRecord;
use shared::store::PageRequest;
use shared::tenancy::{self, NewTenantRequest};
use shared::views::TenantView;
use time::OffsetDateTime;

/// Every tenant, oldest first.
#[utoipa::path(
    get,
    path = "/api/tenants/",
    tag = "tenants",
    description = "Permission: super admin. Cursor pagination (`cursor`, `page_size` ≤ 100).",
    params(
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of tenants", body = Paginated<TenantView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_tenants(
    State(state): State<AppState>,
    _admin: SuperAdmin,
    page: PageQuery,
) -> Result<Json<Paginated<TenantView>>, ApiError> {
    let request = PageRequest::new(page.page_size, page.cursor.clone(), "tenants");
    let tenants = state.store.platform().query_index::<TenantRecord>(keys::tenants_index_pk(), &request).await?;
    Ok(Json(page.respond(tenants, |t| TenantView::from(&t))))
}

/// Create a tenant with its first administrator (the registration body).
#[utoipa::path(
    post,
    path = "/api/tenants/",
    tag = "tenants",
    description = "Permission: super admin. Same body and rules as registration; no tokens are returned. Audited.",
    request_body = NewTenantRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 400, description = "Invalid or taken field", body = ValidationErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    ApiJson(req): ApiJson<NewTenantRequest>,
) -> Result<(StatusCode, Json<TenantView>), ApiError> {
    let terms = tenancy::trial_terms(&state.store).await?;
    let new_tenant = req.validate(&terms).await?;
    let provisioned = tenancy::build(new_tenant, &terms, OffsetDateTime::now_utc());
    let actor = admin.actor_in(provisioned.tenant.id);
    let changes = audit::changes(None, Some(&provisioned.tenant), &["version"]);
    tenancy::provision(&state.store, &provisioned, |tx| {
        audit::record(tx, &actor, "tenant.create", "tenant", provisioned.tenant.id, changes.clone());
    })
    .await?;
    Ok((StatusCode::CREATED, Json(TenantView::from(&provisioned.tenant))))
}

/// One tenant.
#[utoipa::path(
    get,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn get_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<Json<TenantView>, ApiError> {
    let scope = admin.scope_for(id);
    let tenant: TenantRecord = state.store.tenant(&scope).get(&keys::tenant_profile()).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(TenantView::from(&tenant)))
}

/// Replace a tenant's name, domain, settings and modules.
#[utoipa::path(
    put,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin. Same rules as `/api/tenants/me/`. Audited in the tenant's log.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = TenantInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 400, description = "Invalid field", body = ValidationErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn put_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
    ApiJson(input): ApiJson<TenantInput>,
) -> Result<Json<TenantView>, ApiError> {
    update::apply(&state, &admin.actor_in(id), input.into()).await.map(Json)
}

/// Change some of a tenant's fields.
#[utoipa::path(
    patch,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin. Audited in the tenant's log.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = TenantPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 400, description = "Invalid field", body = ValidationErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> Result<Json<TenantView>, ApiError> {
    update::apply(&state, &admin.actor_in(id), patch).await.map(Json)
}

/// Suspend a tenant (data is never destroyed).
#[utoipa::path(
    delete,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin. Suspends: its users can no longer log in or refresh. Audited.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Suspended"),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    update::set_active(&state, &admin.actor_in(id), false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspend a tenant.
#[utoipa::path(
    post,
    path = "/api/tenants/{id}/suspend/",
    tag = "tenants",
    description = "Permission: super admin. Its users can no longer log in or refresh. Audited.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Suspended", body = TenantView),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn suspend_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<Json<TenantView>, ApiError> {
    update::set_active(&state, &admin.actor_in(id), false).await.map(Json)
}

/// Reactivate a suspended tenant.
#[utoipa::path(
    post,
    path = "/api/tenants/{id}/activate/",
    tag = "tenants",
    description = "Permission: super admin. Audited.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active", body = TenantView),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn activate_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<Json<TenantView>, ApiError> {
    update::set_active(&state, &admin.actor_in(id), true).await.map(Json)
}
