//! Reading tenants: every member reads their own organisation (`/me/`);
//! platform super admins list every tenant and read one.

use crate::view::{AdminTenantView, TenantMeView, TenantSummaryView};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use futures_util::future::try_join_all;
use serde::Deserialize;
use shared::auth::{holds, SuperAdmin, TenantMember};
use shared::http::schema::ErrorBody;
use shared::http::{ApiError, IdPath, PageQuery, Paginated};
use shared::keys;
use shared::permissions::actions as perm;
use shared::records::{TenantRecord, TenantRouteRecord};
use shared::store::{Page, PageRequest, StoreError};
use shared::views::TenantView;

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
    // A dedicated tenant's profile lives in its own table: the page's are
    // read concurrently, one round trip after the listing names them.
    let profiles = try_join_all(listed.items.iter().map(|entry| async {
        let Listed::Route(route) = entry else {
            return Ok(None);
        };
        let scope = admin.scope_of_route(route);
        let profile = state
            .store
            .tenant(&scope)
            .get::<TenantRecord>(&keys::tenant_profile())
            .await?;
        Ok::<_, StoreError>(Some((scope, profile)))
    }))
    .await?;
    let mut items = Vec::with_capacity(listed.items.len());
    for (entry, profile) in listed.items.into_iter().zip(profiles) {
        match (entry, profile) {
            (Listed::Tenant(t), _) => items.push(AdminTenantView {
                tenant: TenantView::from(&*t),
                dedicated_table: None,
            }),
            (Listed::Route(_), Some((scope, Some(t)))) => {
                items.push(AdminTenantView::new(TenantView::from(&t), &scope))
            }
            (Listed::Route(route), _) => {
                tracing::warn!(tenant_id = %route.tenant_id, "routing item without a profile")
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
