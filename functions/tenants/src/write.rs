//! Changing tenants: a tenant admin's own organisation (`/me/`), and the
//! platform super admins' registry (create, change, suspend, reactivate).
//! Every change made inside a tenant is audited in that tenant's log.

use crate::dedicated_table::{self, AdminTenantInput, AdminTenantPatch, CreateTenantRequest};
use crate::profile::{self, TenantInput, TenantPatch};
use crate::view::AdminTenantView;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use shared::audit;
use shared::auth::{AdministrationTenantManage, Require, SuperAdmin};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, Replace};
use shared::keys;
use shared::records::TenantRecord;
use shared::tenancy;
use shared::views::TenantView;
use time::OffsetDateTime;

shared::replace_body!(
    /// The PUT body: `TenantInput`, and the rest of `TenantView` read-only.
    pub TenantReplaceBody,
    TenantInput,
    TenantView
);

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
    profile::apply(&state, &actor, input.into()).await.map(Json)
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
    profile::apply(&state, &actor, patch).await.map(Json)
}

shared::replace_body!(
    /// The PUT body: `AdminTenantInput`, and the rest of `TenantView` read-only.
    pub AdminTenantReplaceBody,
    AdminTenantInput,
    TenantView
);

/// Create a tenant with its first administrator (the registration body).
#[utoipa::path(
    post,
    path = "/api/tenants/",
    tag = "tenants",
    description = "Permission: super admin. Same body and rules as registration, plus an optional \
        `dedicated_table` (an existing table `<main table>-tenant-<suffix>` with the main table's keys; \
        the tenant's items are then born there). No tokens are returned. Audited.",
    request_body = CreateTenantRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = AdminTenantView),
        (status = 400, description = "Invalid or taken field, unknown or unfit table", body = BadRequestBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    ApiJson(req): ApiJson<CreateTenantRequest>,
) -> Result<(StatusCode, Json<AdminTenantView>), ApiError> {
    let (req, (requested_table,)) = req.split();
    let terms = tenancy::trial_terms(&state.store).await?;
    // Every field's errors at once, the table's included.
    let (table, new_tenant) = match (
        dedicated_table::check(&state.store, requested_table.as_deref()).await,
        req.validate(&terms).await,
    ) {
        (Ok(table), Ok(new_tenant)) => (table, new_tenant),
        (Err(ApiError::Validation(mut errors)), Err(ApiError::Validation(more))) => {
            for (field, messages) in more.fields() {
                messages.iter().for_each(|m| errors.add(field, m.clone()));
            }
            return Err(errors.into());
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let provisioned = tenancy::build_in(
        new_tenant,
        &terms,
        OffsetDateTime::now_utc(),
        table.as_ref(),
    );
    let actor = admin.actor_with(provisioned.scope.clone());
    let mut changes = audit::changes(None, Some(&provisioned.tenant), &["version"]);
    if let (Some(table), Some(map)) = (&table, changes.as_object_mut()) {
        map.insert(
            dedicated_table::FIELD.into(),
            json!({"before": null, "after": table.name()}),
        );
    }
    tenancy::provision(&state.store, &provisioned, |tx| {
        audit::record(
            tx,
            &actor,
            "tenant.create",
            "tenant",
            provisioned.tenant.id,
            changes.clone(),
        );
    })
    .await?;
    let view = AdminTenantView::new(TenantView::from(&provisioned.tenant), &provisioned.scope);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Replace a tenant's name, domain, settings and modules.
#[utoipa::path(
    put,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin. Same rules as `/api/tenants/me/`; `dedicated_table` may only repeat \
        the current table (moving a tenant is an offline migration). The other fields of the tenant's \
        representation may be sent back: read-only, ignored when unchanged, a 400 `This field is read-only.` \
        when changed. Audited in the tenant's log.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = AdminTenantReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = AdminTenantView),
        (status = 400, description = "Invalid field", body = BadRequestBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn put_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
    input: Replace<AdminTenantInput>,
) -> Result<Json<AdminTenantView>, ApiError> {
    // The tenant's own representation may come back: its other fields are read-only.
    let actor = admin.actor_in(id).await?;
    let current: TenantRecord = state
        .store
        .tenant(actor.scope())
        .get(&keys::tenant_profile())
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = input.against(&AdminTenantView::new(
        TenantView::from(&current),
        actor.scope(),
    ))?;
    let (patch, (table,)) = input.split();
    change(&state, &admin, id, patch, table).await
}

/// A super admin's change of a tenant; its table stays where it is.
async fn change(
    state: &AppState,
    admin: &SuperAdmin,
    id: uuid::Uuid,
    patch: profile::TenantPatch,
    table: Option<Option<String>>,
) -> Result<Json<AdminTenantView>, ApiError> {
    let actor = admin.actor_in(id).await?;
    dedicated_table::ensure_unchanged(actor.scope(), table)?;
    let view = profile::apply(state, &actor, patch).await?;
    Ok(Json(AdminTenantView::new(view, actor.scope())))
}

/// Change some of a tenant's fields.
#[utoipa::path(
    patch,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin. `dedicated_table` may only repeat the current table. \
        Audited in the tenant's log.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = AdminTenantPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = AdminTenantView),
        (status = 400, description = "Invalid field", body = BadRequestBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<AdminTenantPatch>,
) -> Result<Json<AdminTenantView>, ApiError> {
    let (patch, (table,)) = patch.split();
    change(&state, &admin, id, patch, table).await
}

/// Suspend a tenant (data is never destroyed).
#[utoipa::path(
    delete,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin. Suspends: its users can no longer log in or refresh, and their access tokens stop within `REVOCATION_CHECK_SECONDS`. Audited. \
        The platform tenant (slug `platform`, where super admins sign in) is refused with `platform_tenant`.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Suspended"),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "`platform_tenant`: the platform tenant cannot be suspended; or changed meanwhile by another request (`conflict`)", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    profile::set_active(&state, &admin.actor_in(id).await?, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspend a tenant.
#[utoipa::path(
    post,
    path = "/api/tenants/{id}/suspend/",
    tag = "tenants",
    description = "Permission: super admin. Its users can no longer log in or refresh, and their access tokens stop within `REVOCATION_CHECK_SECONDS`. Audited. \
        The platform tenant (slug `platform`, where super admins sign in) is refused with `platform_tenant`.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Suspended", body = AdminTenantView),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "`platform_tenant`: the platform tenant cannot be suspended; or changed meanwhile by another request (`conflict`)", body = ErrorBody),
    ),
)]
pub(crate) async fn suspend_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<Json<AdminTenantView>, ApiError> {
    set_active(&state, &admin, id, false).await
}

async fn set_active(
    state: &AppState,
    admin: &SuperAdmin,
    id: uuid::Uuid,
    active: bool,
) -> Result<Json<AdminTenantView>, ApiError> {
    let actor = admin.actor_in(id).await?;
    let view = profile::set_active(state, &actor, active).await?;
    Ok(Json(AdminTenantView::new(view, actor.scope())))
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
        (status = 200, description = "Active", body = AdminTenantView),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "Changed meanwhile by another request (`conflict`)", body = ErrorBody),
    ),
)]
pub(crate) async fn activate_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<Json<AdminTenantView>, ApiError> {
    set_active(&state, &admin, id, true).await
}
