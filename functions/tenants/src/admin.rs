//! The platform super admins' registry of tenants. Every change made
//! inside a tenant is audited in that tenant's log.

use crate::registry::{
    self, AdminTenantInput, AdminTenantPatch, AdminTenantView, CreateTenantRequest,
};
use crate::update;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use shared::audit;
use shared::auth::SuperAdmin;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, PageQuery, Paginated, Replace};
use shared::keys;
use shared::records::{TenantRecord, TenantRouteRecord};
use shared::store::{Page, PageRequest};
use shared::tenancy;
use shared::views::TenantView;
use time::OffsetDateTime;

shared::replace_body!(
    /// The PUT body: `AdminTenantInput`, and the rest of `TenantView` read-only.
    pub AdminTenantReplaceBody,
    AdminTenantInput,
    TenantView
);

/// An entry of the GSI1 `TENANTS` listing in the main table: a tenant's
/// profile, or, for a tenant in a dedicated table, its routing item.
#[derive(Deserialize)]
#[serde(tag = "entity")]
enum Listed {
    #[serde(rename = "tenant")]
    Tenant(Box<TenantRecord>),
    #[serde(rename = "tenant_route")]
    Route(TenantRouteRecord),
}

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
        (status = 200, description = "A page of tenants", body = Paginated<AdminTenantView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_tenants(
    State(state): State<AppState>,
    admin: SuperAdmin,
    page: PageQuery,
) -> Result<Json<Paginated<AdminTenantView>>, ApiError> {
    let request = PageRequest::new(page.page_size, page.cursor.clone(), "tenants");
    let listed = state
        .store
        .platform()
        .query_index::<Listed>(keys::tenants_index_pk(), &request)
        .await?;
    let mut items = Vec::with_capacity(listed.items.len());
    for entry in listed.items {
        match entry {
            Listed::Tenant(t) => items.push(AdminTenantView {
                tenant: TenantView::from(&*t),
                dedicated_table: None,
            }),
            Listed::Route(route) => {
                // A dedicated tenant's profile lives in its own table.
                let scope = admin.scope_of_route(&route);
                match state
                    .store
                    .tenant(&scope)
                    .get::<TenantRecord>(&keys::tenant_profile())
                    .await?
                {
                    Some(t) => items.push(AdminTenantView::new(TenantView::from(&t), &scope)),
                    None => {
                        tracing::warn!(tenant_id = %route.tenant_id, "routing item without a profile")
                    }
                }
            }
        }
    }
    let page_of_views = Page {
        items,
        next: listed.next,
        previous: listed.previous,
    };
    Ok(Json(page.respond(page_of_views, |v| v)))
}

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
    let (req, requested_table) = req.split();
    let terms = tenancy::trial_terms(&state.store).await?;
    // Every field's errors at once, the table's included.
    let (table, new_tenant) = match (
        registry::check(&state.store, requested_table.as_deref()).await,
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
            registry::FIELD.into(),
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

/// One tenant.
#[utoipa::path(
    get,
    path = "/api/tenants/{id}/",
    tag = "tenants",
    description = "Permission: super admin.",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant", body = AdminTenantView),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn get_tenant(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<Json<AdminTenantView>, ApiError> {
    let scope = admin.scope_for(id).await?;
    let tenant: TenantRecord = state
        .store
        .tenant(&scope)
        .get(&keys::tenant_profile())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(AdminTenantView::new(
        TenantView::from(&tenant),
        &scope,
    )))
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
    let (patch, table) = input.split();
    change(&state, &admin, id, patch, table).await
}

/// A super admin's change of a tenant; its table stays where it is.
async fn change(
    state: &AppState,
    admin: &SuperAdmin,
    id: uuid::Uuid,
    patch: update::TenantPatch,
    table: Option<Option<String>>,
) -> Result<Json<AdminTenantView>, ApiError> {
    let actor = admin.actor_in(id).await?;
    registry::ensure_unchanged(actor.scope(), table)?;
    let view = update::apply(state, &actor, patch).await?;
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
    let (patch, table) = patch.split();
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
    update::set_active(&state, &admin.actor_in(id).await?, false).await?;
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
    let view = update::set_active(state, &actor, active).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::store::Entity;

    #[test]
    fn the_listing_tags_match_the_entities() {
        // The listing tells profiles from routing items by `entity`.
        assert_eq!(TenantRecord::ENTITY, "tenant");
        assert_eq!(TenantRouteRecord::ENTITY, "tenant_route");
    }
}
