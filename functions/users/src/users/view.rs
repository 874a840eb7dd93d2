//! Reading a user together with what its view (`shared::views::UserView`)
//! needs.

use shared::http::ApiError;
use shared::keys;
use shared::records::{RoleRecord, TenantRecord, UserRecord};
use shared::store::TenantStore;
use shared::views::UserView;
use uuid::Uuid;

/// The user, its tenant and its roles, in two reads (user first: its role
/// ids name the roles). `None` if the user is not in this tenant.
pub async fn user_view(
    store: &TenantStore<'_>,
    user_id: Uuid,
) -> Result<Option<(UserRecord, UserView)>, ApiError> {
    let mut first = store
        .get_many::<keys::SortKey>(&[keys::user(user_id).into(), keys::tenant_profile().into()])
        .await?;
    let Some(user) = first.take::<UserRecord>(&keys::user(user_id))? else {
        return Ok(None);
    };
    let tenant: TenantRecord = first
        .take(&keys::tenant_profile())?
        .ok_or(ApiError::NotFound)?;
    let roles = roles_of(store, &user.role_ids).await?;
    let view = UserView::new(&user, &tenant, &roles);
    Ok(Some((user, view)))
}

pub async fn roles_of(
    store: &TenantStore<'_>,
    role_ids: &[Uuid],
) -> Result<Vec<RoleRecord>, ApiError> {
    if role_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sks: Vec<_> = role_ids.iter().map(|id| keys::role(*id)).collect();
    let mut fetched = store.get_many(&sks).await?;
    let mut roles = Vec::new();
    for sk in &sks {
        if let Some(role) = fetched.take::<RoleRecord>(sk)? {
            roles.push(role);
        }
    }
    Ok(roles)
}
