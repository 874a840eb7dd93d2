//! Tenant admins' management of users.

use crate::load::{roles_of, user_view};
use crate::me::MAX_PREFERENCES_BYTES;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use shared::audit;
use shared::auth::{check_new_password, hash_password, TenantAdmin};
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, PageQuery, Paginated, ValidationErrors};
use shared::keys;
use shared::records::{CredentialRecord, PlanRecord, RoleRecord, SubscriptionRecord, TenantRecord, UserRecord};
use shared::store::{Condition, PageRequest, StoreError};
use shared::validate;
use shared::views::UserView;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A new user of the tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique platform-wide, case-insensitive.
    pub email: String,
    pub password: String,
    pub password_confirm: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub preferences: Value,
    /// Roles of this tenant to hold.
    #[serde(default)]
    pub role_ids: Vec<Uuid>,
    /// Teams of this tenant to join.
    #[serde(default)]
    pub team_ids: Vec<Uuid>,
}

fn utc() -> String {
    "UTC".into()
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// The tenant's users, in id order.
#[utoipa::path(
    get,
    path = "/api/users/",
    tag = "users",
    description = "Permission: tenant admin (super admins with `X-Tenant-Id`). Cursor pagination.",
    params(
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = Paginated<UserView>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a tenant admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    page: PageQuery,
) -> Result<Json<Paginated<UserView>>, ApiError> {
    let store = state.store.tenant(actor.scope());
    let request = PageRequest::new(page.page_size, page.cursor.clone(), "users");
    let users = store.query::<UserRecord>(&keys::users(), &request).await?;
    // One batch read for the tenant and every role the page mentions.
    let mut role_ids: Vec<Uuid> = users.items.iter().flat_map(|u| u.role_ids.iter().copied()).collect();
    role_ids.sort();
    role_ids.dedup();
    let mut sks = vec![keys::tenant_profile()];
    sks.extend(role_ids.iter().take(99).map(|id| keys::role(*id)));
    let mut fetched = store.get_many(&sks).await?;
    let tenant: TenantRecord = fetched.take(&keys::tenant_profile())?.ok_or(ApiError::NotFound)?;
    let mut roles = Vec::new();
    for sk in &sks[1..] {
        if let Some(r) = fetched.take::<RoleRecord>(sk)? {
            roles.push(r);
        }
    }
    Ok(Json(page.respond(users, |u| UserView::new(&u, &tenant, &roles))))
}

/// One user of the tenant.
#[utoipa::path(
    get,
    path = "/api/users/{id}/",
    tag = "users",
    description = "Permission: tenant admin. Users of other tenants answer 404.",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 403, description = "Not a tenant admin", body = ErrorBody),
        (status = 404, description = "No such user in this tenant", body = ErrorBody),
    ),
)]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    IdPath(id): IdPath,
) -> Result<Json<UserView>, ApiError> {
    let store = state.store.tenant(actor.scope());
    let (_, view) = user_view(&store, id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(view))
}

fn plan_limit_reached(max: u32) -> ApiError {
    ApiError::Forbidden {
        detail: format!("Your plan allows {max} active users; upgrade to add more."),
        code: "plan_limit_reached",
        permission: None,
    }
}

/// Create a user in the tenant, within the plan's `max_users`.
#[utoipa::path(
    post,
    path = "/api/users/",
    tag = "users",
    description = "Permission: tenant admin. The user count is checked against the plan's `max_users` in the \
        same transaction as the write, so concurrent creations never exceed it. Audited.",
    request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "Invalid field, taken email, unknown role or team", body = ValidationErrorBody),
        (status = 403, description = "Not a tenant admin, or `plan_limit_reached`", body = ErrorBody),
    ),
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    ApiJson(input): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    check_new_password(&mut errors, "password", "password_confirm", &input.password, &input.password_confirm, &email);
    let first_name = validate::optional_name(&mut errors, "first_name", Some(&input.first_name), 150);
    let last_name = validate::optional_name(&mut errors, "last_name", Some(&input.last_name), 150);
    if !input.preferences.is_object() {
        errors.add("preferences", "Expected a JSON object.");
    } else if input.preferences.to_string().len() > MAX_PREFERENCES_BYTES {
        errors.add("preferences", format!("Preferences may not exceed {MAX_PREFERENCES_BYTES} bytes."));
    }
    let mut role_ids = input.role_ids.clone();
    role_ids.sort();
    role_ids.dedup();
    if role_ids.len() > 20 {
        errors.add("role_ids", "At most 20 roles.");
    }
    // Teams come with the teams API; until then no team id can exist.
    for id in &input.team_ids {
        errors.add("team_ids", format!("Unknown team {id}."));
    }

    let store = state.store.tenant(actor.scope());
    let mut fetched = store.get_many(&[keys::tenant_profile(), keys::subscription()]).await?;
    let tenant: TenantRecord = fetched.take(&keys::tenant_profile())?.ok_or(ApiError::NotFound)?;
    let subscription: Option<SubscriptionRecord> = fetched.take(&keys::subscription())?;
    let roles = roles_of(&store, &role_ids).await?;
    for id in &role_ids {
        if !roles.iter().any(|r| r.id == *id) {
            errors.add("role_ids", format!("Unknown role {id}."));
        }
    }
    errors.into_result()?;

    let max_users = match subscription.and_then(|s| s.plan_id) {
        Some(plan_id) => state.store.platform().get::<PlanRecord>(&keys::plan(plan_id)).await?.and_then(|p| p.max_users),
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let user = UserRecord {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        email: email.clone(),
        first_name,
        last_name,
        phone: input.phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()),
        role_ids: role_ids.clone(),
        team_ids: Vec::new(),
        is_active: true,
        is_super_admin: false,
        timezone: input.timezone,
        preferences: input.preferences,
        profile_picture: None,
        date_joined: now,
        updated_at: now,
        version: 1,
    };
    let credential = CredentialRecord {
        email,
        tenant_id: tenant.id,
        user_id: user.id,
        password_hash: hash_password(input.password).await.map_err(ApiError::internal)?,
        role_ids,
        version: 1,
    };
    let mut tx = state.store.transaction();
    tx.put(actor.scope(), &keys::user(user.id), &user, Condition::NotExists, "user")
        .put_platform(&keys::email_claim(&credential.email), &credential, Condition::NotExists, "email")
        .add(actor.scope(), &keys::usage(), "users", 1, max_users.map(i64::from), false, "limit");
    for id in &user.role_ids {
        tx.add(actor.scope(), &keys::role(*id), "member_count", 1, None, true, "role");
    }
    audit::record(&mut tx, &actor, "user.create", "user", user.id, audit::changes(None, Some(&user), &["version"]));
    tx.execute().await.map_err(|e| match e {
        StoreError::TransactionConditionFailed(l) if l.contains(&"email") => {
            ValidationErrors::field("email", "A user with this email already exists.").into()
        }
        StoreError::TransactionConditionFailed(l) if l.contains(&"limit") => plan_limit_reached(max_users.unwrap_or(0)),
        StoreError::TransactionConditionFailed(l) if l.contains(&"role") => {
            ValidationErrors::field("role_ids", "A role was deleted meanwhile; reload and try again.").into()
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(UserView::new(&user, &tenant, &roles))))
}
