//! Holders of `administration.users.manage` listing the tenant's pending
//! invitations.

use super::view::InvitationView;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use shared::auth::{AdministrationUsersManage, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, PageQuery, Paginated};
use shared::keys;
use shared::records::InvitationRecord;
use shared::store::PageRequest;
use time::OffsetDateTime;

/// The tenant's pending invitations, oldest first.
#[utoipa::path(
    get,
    path = "/api/users/invitations/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). \
        Every invitation neither accepted nor revoked, oldest first; `expired` marks those whose link has expired (resend or revoke them). \
        Cursor pagination (`cursor`, `page_size` ≤ 100).",
    params(
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of pending invitations", body = Paginated<InvitationView>),
        (status = 400, description = "Invalid `cursor` or `page_size`", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_invitations(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    page: PageQuery,
) -> Result<Json<Paginated<InvitationView>>, ApiError> {
    let request = PageRequest::new(page.page_size, page.cursor.clone(), "invitations");
    let found = state
        .store
        .tenant(actor.scope())
        .query::<InvitationRecord>(&keys::invitations(), &request)
        .await?;
    let now = OffsetDateTime::now_utc();
    Ok(Json(page.respond(found, |i| InvitationView::new(&i, now))))
}
