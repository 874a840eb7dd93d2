//! Accepting an invitation: the invitee chooses a password and becomes a
//! user of the inviting tenant, signed in.
//!
//! The link's token is stored only by its hash (`shared::invitations`).
//! Pending invitations do not count toward the plan's `max_users`:
//! acceptance checks it, in the transaction that creates the user, so
//! concurrent acceptances never exceed it; one refused for the limit
//! leaves the invitation pending, to be accepted after an upgrade.

use crate::session::{Session, TokenPair};
use crate::throttle::{self, Limit, SourceIp};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::audit::{self, AccountHolder, By};
use shared::auth::{
    check_new_password, hash_password, invalid_token, one_time_token_hash, open_account,
    INVALID_TOKEN,
};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, RequestId, ValidationErrors};
use shared::invitations;
use shared::keys;
use shared::membership::{add_member, plan_limit_reached, Related};
use shared::records::{CredentialRecord, InvitationRecord, InviteTokenRecord, UserRecord};
use shared::store::{Condition, Label, StoreError};
use shared::views::{TenantView, UserView};
use shared::{validate, validate::MAX_EMAIL};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Acceptances (a link's token) per source IP: 20 per hour; a valid token
/// costs an argon2 hash.
pub const ACCEPTS_PER_IP: Limit = Limit {
    bucket: "invite-accept-ip",
    max: 20,
    window_secs: 60 * 60,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// The `token` parameter of the emailed link.
    pub token: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub password_confirm: String,
    /// Defaults to the name the invitation suggested.
    #[schema(max_length = 150)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptResponse {
    pub message: String,
    pub user: UserView,
    pub tenant: TenantView,
    pub tokens: TokenPair,
}

/// Accept an invitation.
///
/// Reads the token, then the invitation (it must still name this token),
/// then the tenant, its subscription and the invited roles and teams in
/// one batch. One transaction creates the user (email verified: the link
/// proved the mailbox) and the email's credential, adds the member counts
/// and the tenant's user count within the plan's `max_users`, consumes
/// the token, removes the invitation and writes the audit entry. The
/// refresh-token family is written afterwards, as at login.
#[utoipa::path(
    post,
    path = "/api/auth/invitations/accept/",
    tag = "auth",
    description = "Public. Creates the invited user in the inviting organisation, with the invitation's roles and teams (those deleted since are left out) \
        and a verified email, and returns tokens. The link then stops working. \
        An unknown, used, revoked, superseded (resent) or expired token is 400 with `token: [\"Invalid or expired token.\"]`; \
        an email that became a user's meanwhile is 400 on `token` too (sign in instead). \
        The plan's `max_users` is checked here, atomically: at the limit, 403 `plan_limit_reached` and the invitation stays pending. \
        At most 20 attempts per source IP per hour; beyond, 429 `throttled` with `Retry-After`. Audited.",
    request_body = AcceptInvitation,
    responses(
        (status = 201, description = "Account created and logged in", body = AcceptResponse),
        (status = 400, description = "Invalid or expired token, email taken, or an invalid password or name", body = BadRequestBody),
        (status = 403, description = "`plan_limit_reached`, or the organisation is suspended (`tenant_suspended`)", body = ErrorBody),
        (status = 409, description = "The invitation, a role or a team changed meanwhile; the link still works, retry", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    request_id: RequestId,
    ApiJson(req): ApiJson<AcceptInvitation>,
) -> Result<(StatusCode, Json<AcceptResponse>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let at = now.unix_timestamp();
    throttle::reserve(&state.store, &ACCEPTS_PER_IP, &ip, at).await?;

    let hash = one_time_token_hash(&req.token);
    let token: Option<InviteTokenRecord> = match &hash {
        Some(hash) => {
            state
                .store
                .platform()
                .get(&keys::invite_token(hash))
                .await?
        }
        None => None,
    };
    let mut errors = ValidationErrors::new();
    if token.is_none() {
        errors.add("token", INVALID_TOKEN);
    }
    let email = token.as_ref().map_or("", |t| t.email.as_str());
    check_new_password(
        &mut errors,
        "password",
        "password_confirm",
        &req.password,
        &req.password_confirm,
        email,
    );
    let first_name = req
        .first_name
        .as_deref()
        .map(|n| validate::optional_name(&mut errors, "first_name", Some(n), 150));
    let last_name = req
        .last_name
        .as_deref()
        .map(|n| validate::optional_name(&mut errors, "last_name", Some(n), 150));
    errors.into_result()?;
    let (Some(token), Some(hash)) = (token, hash) else {
        return Err(invalid_token());
    };
    if token.email.len() > MAX_EMAIL {
        return Err(invalid_token());
    }

    let invitation_key = keys::invitation(token.invitation_id);
    let (scope, mut fetched) = open_account(
        &state.store,
        token.tenant_id,
        &[invitation_key.clone().into()],
    )
    .await?;
    let invitation = fetched
        .take::<InvitationRecord>(&invitation_key)?
        // Revoked, accepted, or resent (another token is current).
        .filter(|i| i.token_hash == hash)
        .ok_or_else(invalid_token)?;
    let related = Related::load(
        &state.store,
        &scope,
        &invitation.role_ids,
        &invitation.team_ids,
    )
    .await?;
    if !related.tenant.is_active {
        return Err(ApiError::Forbidden {
            detail: "This organisation is suspended.".into(),
            code: "tenant_suspended",
            permission: None,
        });
    }
    let max_users = related.max_users(&state.store).await?;

    let password_hash = hash_password(req.password)
        .await
        .map_err(ApiError::internal)?;
    let user = UserRecord {
        // Time-ordered, so the users partition lists by date joined.
        id: Uuid::now_v7(),
        tenant_id: related.tenant.id,
        email: invitation.email.clone(),
        first_name: first_name.unwrap_or_else(|| invitation.first_name.clone()),
        last_name: last_name.unwrap_or_else(|| invitation.last_name.clone()),
        phone: None,
        // Those still there: a role or team deleted since is left out.
        role_ids: related.roles.iter().map(|r| r.id).collect(),
        team_ids: related.teams.iter().map(|t| t.id).collect(),
        is_active: true,
        is_super_admin: false,
        timezone: "UTC".into(),
        preferences: json!({}),
        profile_picture: None,
        sessions_valid_after: None,
        // The invitee proved the mailbox by opening the link.
        email_verified: true,
        date_joined: now,
        updated_at: now,
        version: 1,
    };
    let credential = CredentialRecord {
        email: user.email.clone(),
        tenant_id: user.tenant_id,
        user_id: user.id,
        password_hash,
        role_ids: user.role_ids.clone(),
        version: 1,
    };
    let request_id = request_id.0;
    let holder = AccountHolder {
        scope: &scope,
        user_id: user.id,
        email: &user.email,
        request_id: &request_id,
    };
    let mut tx = state.store.transaction();
    add_member(
        &mut tx,
        &scope,
        &user,
        &credential,
        related.system_role(),
        max_users,
    );
    tx.consume_platform(&keys::invite_token(&hash), at, Label::InviteToken);
    invitations::close(&mut tx, &scope, &invitation);
    audit::record(
        &mut tx,
        By::Account(&holder),
        "invitation.accept",
        "user",
        user.id,
        json!({ "invitation_id": invitation.id, "invited_by": invitation.invited_by }),
    );
    tx.execute().await.map_err(|e| refused(e, max_users))?;
    tracing::info!(user_id = %user.id, invitation_id = %invitation.id, "invitation accepted");

    // Signed in as at login: the family in a write of its own.
    let session = Session {
        scope: &scope,
        user: &user,
        tenant: &related.tenant,
        roles: &related.roles,
        subscription: related.subscription.as_ref(),
    };
    let issued = session.issue(&state.signer, Uuid::new_v4(), now, now)?;
    state
        .store
        .tenant(&scope)
        .put(
            &keys::token_family(issued.family.user_id, issued.family.family_id),
            &issued.family,
            Condition::NotExists,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AcceptResponse {
            message: "Invitation accepted.".into(),
            user: UserView::new(&user, &related.tenant, &related.roles),
            tenant: TenantView::from(&related.tenant),
            tokens: issued.tokens,
        }),
    ))
}

/// What a failed acceptance transaction means to the invitee.
fn refused(e: StoreError, max_users: Option<u32>) -> ApiError {
    let StoreError::TransactionConditionFailed(labels) = e else {
        return e.into();
    };
    if labels.contains(&Label::InviteToken) {
        // Used by a concurrent acceptance, or expired meanwhile.
        invalid_token()
    } else if labels.contains(&Label::Email) {
        ValidationErrors::field(
            "token",
            "An account with this email exists already; sign in instead.",
        )
        .into()
    } else if labels.contains(&Label::Limit) {
        plan_limit_reached(max_users)
    } else {
        // The invitation was resent or revoked, or a role or team deleted,
        // since it was read.
        ApiError::conflict(
            "The invitation changed meanwhile; try the link again.",
            "conflict",
        )
    }
}
