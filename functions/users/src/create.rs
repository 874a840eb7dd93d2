//! Holders of `administration.users.manage` creating users.

use crate::change::{failure, id_set, Deltas, Related, MAX_ROLES, MAX_TEAMS};
use crate::profile;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use shared::audit;
use shared::auth::{check_new_password, hash_password, AdministrationUsersManage, Require};
use shared::http::schema::{BadRequestBody, ErrorBody, ForbiddenBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::records::{CredentialRecord, UserRecord};
use shared::store::{Condition, Label};
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
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+\s*$"
    )]
    pub email: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password_confirm: String,
    #[serde(default)]
    #[schema(max_length = 150)]
    pub first_name: String,
    #[serde(default)]
    #[schema(max_length = 150)]
    pub last_name: String,
    #[serde(default)]
    #[schema(pattern = r"^\s*[0-9+()\- ]{0,32}\s*$")]
    pub phone: Option<String>,
    #[serde(default = "utc")]
    #[schema(pattern = r"^\s*[A-Za-z0-9/_+-]{1,64}\s*$")]
    pub timezone: String,
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub preferences: Value,
    /// Roles of this tenant to hold.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub role_ids: Vec<Uuid>,
    /// Teams of this tenant to join.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub team_ids: Vec<Uuid>,
}

fn utc() -> String {
    "UTC".into()
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Create a user in the tenant, within the plan's `max_users`.
#[utoipa::path(
    post,
    path = "/api/users/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        each role in `role_ids` must be within the caller's own merged grants. The user count is checked against the plan's `max_users` in the \
        same transaction as the write, so concurrent creations never exceed it. Audited.",
    request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "Invalid field, taken email, unknown role or team, or more than 20 roles or teams", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, `plan_limit_reached`, or a role in `role_ids` exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    ApiJson(input): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    check_new_password(
        &mut errors,
        "password",
        "password_confirm",
        &input.password,
        &input.password_confirm,
        &email,
    );
    let first_name =
        validate::optional_name(&mut errors, "first_name", Some(&input.first_name), 150);
    let last_name = validate::optional_name(&mut errors, "last_name", Some(&input.last_name), 150);
    let phone = profile::phone(&mut errors, input.phone.as_deref());
    let timezone = profile::timezone(&mut errors, &input.timezone);
    profile::preferences(&mut errors, &input.preferences);
    let role_ids = id_set(&mut errors, "role_ids", &input.role_ids, MAX_ROLES);
    let team_ids = id_set(&mut errors, "team_ids", &input.team_ids, MAX_TEAMS);
    if role_ids.len() > MAX_ROLES || team_ids.len() > MAX_TEAMS {
        // Before any read: the batch read below takes at most 100 keys.
        return Err(errors.into());
    }
    let related = Related::load(&state, &actor, &role_ids, &team_ids).await?;
    related.check_roles(&mut errors, &role_ids);
    related.check_teams(&mut errors, &team_ids);
    errors.into_result()?;

    let max_users = related.max_users(&state).await?;
    let now = OffsetDateTime::now_utc();
    let user = UserRecord {
        // Time-ordered, so the users partition lists by date joined.
        id: Uuid::now_v7(),
        tenant_id: related.tenant.id,
        email: email.clone(),
        first_name,
        last_name,
        phone,
        role_ids: role_ids.clone(),
        team_ids,
        is_active: true,
        is_super_admin: false,
        timezone,
        preferences: input.preferences,
        profile_picture: None,
        sessions_valid_after: None,
        date_joined: now,
        updated_at: now,
        version: 1,
    };
    related
        .refuse_escalation(&state, &actor, None, &user)
        .await?;
    let credential = CredentialRecord {
        email,
        tenant_id: related.tenant.id,
        user_id: user.id,
        password_hash: hash_password(input.password)
            .await
            .map_err(ApiError::internal)?,
        role_ids,
        version: 1,
    };
    let mut tx = state.store.transaction();
    tx.put(
        actor.scope(),
        &keys::user(user.id),
        &user,
        Condition::NotExists,
        Label::User,
    )
    .claim_platform(
        &keys::email_claim(&credential.email),
        &credential,
        Label::Email,
    );
    Deltas::between(None, &user, related.system_role()).add_to(&mut tx, &actor, max_users);
    audit::record(
        &mut tx,
        &actor,
        "user.create",
        "user",
        user.id,
        audit::changes(None, Some(&user), &["version"]),
    );
    tx.execute().await.map_err(|e| failure(e, max_users))?;
    Ok((
        StatusCode::CREATED,
        Json(UserView::new(&user, &related.tenant, &related.roles)),
    ))
}
