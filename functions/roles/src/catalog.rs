use axum::Json;
use shared::auth::Principal;
use shared::http::schema::ErrorBody;
use shared::permissions::{catalog, templates, Catalog, RoleTemplate};

/// The permission catalog: modules, resources, actions and their kinds.
#[utoipa::path(
    get,
    path = "/api/roles/permissions_schema/",
    tag = "roles",
    description = "Permission: any member of a tenant. What a role's `permissions` may contain.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The catalog", body = Catalog),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn permissions_schema(_principal: Principal) -> Json<&'static Catalog> {
    Json(catalog())
}

/// Suggested roles (Admin, Manager, Member, Viewer) built from the catalog.
#[utoipa::path(
    get,
    path = "/api/roles/templates/",
    tag = "roles",
    description = "Permission: any member of a tenant.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Role templates", body = Vec<RoleTemplate>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn role_templates(_principal: Principal) -> Json<Vec<RoleTemplate>> {
    Json(templates())
}
