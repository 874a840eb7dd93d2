use crate::AppState;
use axum::extract::State;
use axum::Json;
use shared::auth::Principal;
use shared::http::schema::ErrorBody;
use shared::http::{ApiError, IdPath, PageQuery, Paginated};
use shared::keys;
use shared::records::PlanRecord;
use shared::store::PageRequest;
use shared::views::PlanView;

/// The plans, in display order (`sort_order`).
#[utoipa::path(
    get,
    path = "/api/plans/",
    tag = "plans",
    description = "Permission: any signed-in user. Super admins see every plan, everyone else the active ones. \
        One `Query` on GSI1 `PLANS` per page. Cursor pagination (`cursor`, `page_size` ≤ 100).",
    params(
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of plans", body = Paginated<PlanView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ),
)]
pub(crate) async fn list_plans(
    State(state): State<AppState>,
    principal: Principal,
    page: PageQuery,
) -> Result<Json<Paginated<PlanView>>, ApiError> {
    let mut request = PageRequest::new(page.page_size, page.cursor.clone(), "plans");
    if !principal.claims().is_super_admin {
        request = request.where_is("is_active", true);
    }
    let plans = state
        .store
        .platform()
        .query_index::<PlanRecord>(keys::plans_index_pk(), &request)
        .await?;
    Ok(Json(page.respond(plans, PlanView::from)))
}

/// One plan.
#[utoipa::path(
    get,
    path = "/api/plans/{id}/",
    tag = "plans",
    description = "Permission: any signed-in user; an inactive plan is 404 except for super admins. One `GetItem`.",
    params(("id" = uuid::Uuid, Path, description = "Plan id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan", body = PlanView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such plan (or inactive)", body = ErrorBody),
    ),
)]
pub(crate) async fn get_plan(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<Json<PlanView>, ApiError> {
    let plan: PlanRecord = state
        .store
        .platform()
        .get(&keys::plan(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    if !plan.is_active && !principal.claims().is_super_admin {
        return Err(ApiError::NotFound);
    }
    Ok(Json(plan.into()))
}
