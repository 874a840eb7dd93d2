//! Reading a user together with what its view (`shared::views::UserView`)
//! needs.

use shared::http::ApiError;
use shared::keys;
use shared::records::UserRecord;
use shared::store::{Part, TenantStore};
use shared::views::{RoleRef, TenantName, TenantNames, UserView};
use uuid::Uuid;

/// A user with the names its view shows: its tenant's and its roles'.
pub struct NamedUser {
    pub user: UserRecord,
    pub tenant: TenantName,
    pub roles: Vec<RoleRef>,
}

impl NamedUser {
    pub fn view(&self) -> UserView {
        UserView::new(&self.user, &self.tenant, &self.roles)
    }
}

/// The user, and the names of its tenant and roles, reading
/// `expected_roles` with the user and tenant in one batch: when they are
/// the roles the user holds (the caller's own, named by their token), that
/// is the only read. A stored user holding a role not among them (changed
/// since) costs a second read of the rest. `None` if the user is not in
/// this tenant.
pub async fn named_user(
    store: &TenantStore<'_>,
    user_id: Uuid,
    expected_roles: &[Uuid],
) -> Result<Option<NamedUser>, ApiError> {
    // A batch read takes at most 100 keys; more is no token we sign.
    let expected_roles = if expected_roles.len() <= 98 {
        expected_roles
    } else {
        &[]
    };
    let mut sks: Vec<keys::SortKey> =
        vec![keys::user(user_id).into(), keys::tenant_profile().into()];
    sks.extend(expected_roles.iter().map(|id| keys::role(*id).into()));
    // Names only of the tenant and roles: the view shows no more of them.
    let parts = [
        <UserRecord as Part>::ATTRIBUTES,
        TenantName::ATTRIBUTES,
        RoleRef::ATTRIBUTES,
    ];
    let mut first = store.get_many_parts(&sks, &parts).await?;
    let Some(user) = first.take_part::<UserRecord>(&keys::user(user_id))? else {
        return Ok(None);
    };
    let tenant: TenantName = first
        .take_part(&keys::tenant_profile())?
        .ok_or(ApiError::NotFound)?;
    let mut roles = Vec::new();
    for id in expected_roles {
        roles.extend(first.take_part::<RoleRef>(&keys::role(*id))?);
    }
    let unread: Vec<Uuid> = user
        .role_ids
        .iter()
        .copied()
        .filter(|id| !expected_roles.contains(id))
        .collect();
    roles.extend(roles_of(store, &unread).await?);
    Ok(Some(NamedUser {
        user,
        tenant,
        roles,
    }))
}

/// Any user of the tenant, in one round trip: the user and tenant in one
/// batch, concurrently with the tenant's roles (the reader does not know
/// which roles the user holds). `None` if the user is not in this tenant.
pub async fn any_user_view(
    store: &TenantStore<'_>,
    user_id: Uuid,
) -> Result<Option<UserView>, ApiError> {
    let key = keys::user(user_id);
    let (user, names) = tokio::try_join!(store.get::<UserRecord>(&key), TenantNames::read(store))?;
    let Some(user) = user else {
        return Ok(None);
    };
    let tenant = names.tenant.ok_or(ApiError::NotFound)?;
    let roles = names
        .roles
        .naming(store, user.role_ids.iter().copied())
        .await?;
    Ok(Some(UserView::new(&user, &tenant, &roles)))
}

/// The names of the roles among `role_ids` that exist.
pub async fn roles_of(
    store: &TenantStore<'_>,
    role_ids: &[Uuid],
) -> Result<Vec<RoleRef>, ApiError> {
    if role_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sks: Vec<_> = role_ids.iter().map(|id| keys::role(*id)).collect();
    let mut fetched = store.get_many_parts(&sks, &[RoleRef::ATTRIBUTES]).await?;
    let mut roles = Vec::new();
    for sk in &sks {
        if let Some(role) = fetched.take_part::<RoleRef>(sk)? {
            roles.push(role);
        }
    }
    Ok(roles)
}
