//! Holders of `administration.users.manage` inviting an address into the
//! tenant, resending an invitation's link and revoking it.

use super::mail::Link;
use super::view::InvitationView;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use shared::audit;
use shared::auth::{Actor, AdministrationUsersManage, Require};
use shared::http::schema::{BadRequestBody, ErrorBody, ForbiddenBody};
use shared::http::{ApiError, ApiJson, IdPath, ValidationErrors};
use shared::invitations;
use shared::keys;
use shared::membership::{id_set, Related, MAX_ROLES, MAX_TEAMS};
use shared::records::{InvitationRecord, InviteeClaim, TenantRecord};
use shared::store::{Condition, Label, Patch, StoreError};
use shared::throttle::{self, Limit};
use shared::validate;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Invitation messages (new and resent) per tenant: 100 per hour.
pub const INVITATIONS_PER_TENANT: Limit = Limit {
    bucket: "invite-tenant",
    max: 100,
    window_secs: 60 * 60,
};

/// Resends of one invitation: 3 per hour, so nobody floods a mailbox.
pub const RESENDS_PER_INVITATION: Limit = Limit {
    bucket: "invite-resend",
    max: 3,
    window_secs: 60 * 60,
};

const EMAIL_TAKEN: &str = "A user with this email already exists.";
const ALREADY_INVITED: &str =
    "This email already has a pending invitation to the organisation; resend or revoke it.";

/// An invitation to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// Must not belong to any user of the platform.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+\s*$"
    )]
    pub email: String,
    /// Roles of this tenant the user will hold.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub role_ids: Vec<Uuid>,
    /// Teams of this tenant the user will join.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub team_ids: Vec<Uuid>,
    /// Suggested; the invitee may change it when accepting.
    #[serde(default)]
    #[schema(max_length = 150)]
    pub first_name: String,
    #[serde(default)]
    #[schema(max_length = 150)]
    pub last_name: String,
}

/// Invite an address into the tenant.
#[utoipa::path(
    post,
    path = "/api/users/invitations/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). No escalation: \
        each role in `role_ids` must be within the caller's own merged grants. \
        Mails `{FRONTEND_URL}/accept-invitation?token=...`, valid for seven days and once (see `/api/auth/invitations/accept/`); \
        a failure to send is logged, not answered: the invitation stands and can be resent. \
        An email that belongs to a user anywhere on the platform, or that already has a pending invitation to this tenant, is 400 on `email`. \
        Pending invitations do not count toward the plan's `max_users`: acceptance checks the limit. \
        At most 100 invitation messages (new and resent) per tenant per hour; beyond, 429 `throttled` with `Retry-After`. Audited.",
    request_body = NewInvitation,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Invited; the link is on its way", body = InvitationView),
        (status = 400, description = "Invalid field, email taken or already invited, unknown role or team, or more than 20 roles or teams", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage`, or a role in `role_ids` exceeds the caller's own grants (`permission_escalation`, with `exceeding`)", body = ForbiddenBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
        (status = 429, description = "Too many invitation messages; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
    ),
)]
pub(crate) async fn create_invitation(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    ApiJson(input): ApiJson<NewInvitation>,
) -> Result<(StatusCode, Json<InvitationView>), ApiError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    let first_name =
        validate::optional_name(&mut errors, "first_name", Some(&input.first_name), 150);
    let last_name = validate::optional_name(&mut errors, "last_name", Some(&input.last_name), 150);
    let role_ids = id_set(&mut errors, "role_ids", &input.role_ids, MAX_ROLES);
    let team_ids = id_set(&mut errors, "team_ids", &input.team_ids, MAX_TEAMS);
    if role_ids.len() > MAX_ROLES || team_ids.len() > MAX_TEAMS {
        // Before any read: the batch read below takes at most 100 keys.
        return Err(errors.into());
    }
    let related = Related::load(&state.store, actor.scope(), &role_ids, &team_ids).await?;
    related.check_roles(&mut errors, &role_ids);
    related.check_teams(&mut errors, &team_ids);
    errors.into_result()?;
    related
        .refuse_granting(&state.store, &actor, &role_ids)
        .await?;

    let now = OffsetDateTime::now_utc();
    reserve_message(&state, &actor, now).await?;
    let mut invitation = InvitationRecord {
        // Time-ordered, so the partition lists invitations oldest first.
        id: Uuid::now_v7(),
        tenant_id: related.tenant.id,
        email,
        first_name,
        last_name,
        role_ids,
        team_ids,
        invited_by: actor.user_id(),
        token_hash: String::new(),
        created_at: now,
        sent_at: now,
        expires_at: 0,
        version: 1,
    };
    let link = Link::new(&invitation, now);
    invitation.token_hash = link.hash().to_owned();
    invitation.expires_at = link.expires_at();

    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &keys::invitation(invitation.id),
        &invitation,
        Condition::NotExists,
        Label::Invitation,
    );
    tx.tenant(actor.scope()).claim(
        &keys::invitee(&invitation.email),
        &InviteeClaim {
            invitation_id: invitation.id,
        },
        Label::Invitee,
    );
    link.store_in(&mut tx);
    // Registered anywhere is refused, atomically with the invitation.
    tx.check_platform(
        &keys::email_claim(&invitation.email),
        &Patch::new().if_missing(),
        Label::Email,
    );
    audit::record(
        &mut tx,
        &actor,
        "invitation.create",
        "invitation",
        invitation.id,
        audit::changes(None, Some(&invitation), &["version", "token_hash"]),
    );
    tx.execute().await.map_err(|e| match e {
        StoreError::TransactionConditionFailed(labels) if labels.contains(&Label::Email) => {
            ValidationErrors::field("email", EMAIL_TAKEN).into()
        }
        StoreError::TransactionConditionFailed(labels) if labels.contains(&Label::Invitee) => {
            ValidationErrors::field("email", ALREADY_INVITED).into()
        }
        other => ApiError::from(other),
    })?;
    link.send(&state.mailer, &related.tenant.name, &actor.claims().email)
        .await;
    Ok((
        StatusCode::CREATED,
        Json(InvitationView::new(&invitation, now)),
    ))
}

/// Mail a new link for a pending invitation.
#[utoipa::path(
    post,
    path = "/api/users/invitations/{id}/resend/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). \
        Mails a new link, valid for seven days from now; the previous link stops working at once. Works on expired invitations too. \
        An email that has meanwhile become a user's is 400 on `email` (revoke the invitation). \
        At most 3 resends per invitation per hour, and 100 invitation messages per tenant per hour; beyond, 429 `throttled` with `Retry-After`. Audited.",
    params(("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Resent; the new link is on its way", body = InvitationView),
        (status = 400, description = "The email belongs to a user now", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "No such pending invitation in this tenant (accepted, revoked or never sent)", body = ErrorBody),
        (status = 409, description = "The invitation changed meanwhile (resent, accepted or revoked); reload", body = ErrorBody),
        (status = 429, description = "Too many resends; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
    ),
)]
pub(crate) async fn resend_invitation(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
) -> Result<Json<InvitationView>, ApiError> {
    let (before, tenant) = pending(&state, &actor, id).await?;
    let now = OffsetDateTime::now_utc();
    throttle::reserve(
        &state.store,
        &RESENDS_PER_INVITATION,
        &id.to_string(),
        now.unix_timestamp(),
    )
    .await?;
    reserve_message(&state, &actor, now).await?;
    let link = Link::new(&before, now);
    let after = InvitationRecord {
        token_hash: link.hash().to_owned(),
        sent_at: now,
        expires_at: link.expires_at(),
        version: before.version + 1,
        ..before.clone()
    };
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &keys::invitation(id),
        &after,
        Condition::VersionIs(before.version),
        Label::Invitation,
    );
    tx.delete_platform(&keys::invite_token(&before.token_hash), Label::InviteToken);
    link.store_in(&mut tx);
    tx.check_platform(
        &keys::email_claim(&before.email),
        &Patch::new().if_missing(),
        Label::Email,
    );
    audit::record(
        &mut tx,
        &actor,
        "invitation.resend",
        "invitation",
        id,
        audit::changes(Some(&before), Some(&after), &["version", "token_hash"]),
    );
    tx.execute().await.map_err(|e| match e {
        StoreError::TransactionConditionFailed(labels) if labels.contains(&Label::Email) => {
            ValidationErrors::field(
                "email",
                "A user with this email exists now; revoke the invitation.",
            )
            .into()
        }
        StoreError::TransactionConditionFailed(_) => changed_meanwhile(),
        other => ApiError::from(other),
    })?;
    link.send(&state.mailer, &tenant.name, &actor.claims().email)
        .await;
    Ok(Json(InvitationView::new(&after, now)))
}

/// Revoke a pending invitation.
#[utoipa::path(
    delete,
    path = "/api/users/invitations/{id}/",
    tag = "users",
    description = "Permission: `administration.users.manage` (super admins pass; `X-Tenant-Id` moves only them). \
        Its link stops working at once and the email may be invited again. Audited.",
    params(("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.users.manage` (`permission` names it)", body = ErrorBody),
        (status = 404, description = "No such pending invitation in this tenant (accepted, revoked or never sent)", body = ErrorBody),
        (status = 409, description = "The invitation changed meanwhile (resent, accepted or revoked); reload", body = ErrorBody),
    ),
)]
pub(crate) async fn revoke_invitation(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationUsersManage>,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let (invitation, _) = pending(&state, &actor, id).await?;
    let mut tx = state.store.transaction();
    invitations::close(&mut tx, actor.scope(), &invitation);
    tx.delete_platform(
        &keys::invite_token(&invitation.token_hash),
        Label::InviteToken,
    );
    audit::record(
        &mut tx,
        &actor,
        "invitation.revoke",
        "invitation",
        id,
        audit::changes(Some(&invitation), None, &["version", "token_hash"]),
    );
    tx.execute().await.map_err(|e| match e {
        StoreError::TransactionConditionFailed(_) => changed_meanwhile(),
        other => ApiError::from(other),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// The pending invitation `id` of the caller's tenant, and the tenant, in
/// one read; 404 if there is no such invitation.
async fn pending(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> Result<(InvitationRecord, TenantRecord), ApiError> {
    let store = state.store.tenant(actor.scope());
    let mut fetched = store
        .get_many::<keys::SortKey>(&[keys::invitation(id).into(), keys::tenant_profile().into()])
        .await?;
    let invitation = fetched
        .take::<InvitationRecord>(&keys::invitation(id))?
        .ok_or(ApiError::NotFound)?;
    let tenant = fetched
        .take::<TenantRecord>(&keys::tenant_profile())?
        .ok_or(ApiError::NotFound)?;
    Ok((invitation, tenant))
}

/// One slot of the tenant's hourly invitation messages.
async fn reserve_message(
    state: &AppState,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    throttle::reserve(
        &state.store,
        &INVITATIONS_PER_TENANT,
        &actor.scope().tenant_id().to_string(),
        now.unix_timestamp(),
    )
    .await
    .map(|_| ())
}

fn changed_meanwhile() -> ApiError {
    ApiError::conflict(
        "The invitation was changed by another request (resent, accepted or revoked); reload and try again.",
        "conflict",
    )
}
