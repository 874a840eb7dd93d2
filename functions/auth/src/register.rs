use crate::session::{Session, TokenPair};
use crate::throttle::{self, SourceIp};
use crate::verify;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson};
use shared::keys;
use shared::store::{Condition, Label};
use shared::tenancy::{self, NewTenantRequest};
use shared::views::{TenantView, UserView};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub message: String,
    pub user: UserView,
    pub tenant: TenantView,
    pub tokens: TokenPair,
}

/// Register a new organisation and its first administrator.
///
/// Creates, in one transaction, the tenant, its slug and email claims, the
/// admin user (email unverified), the system Admin role and a trial
/// subscription, and returns tokens for the new admin. Then stores an
/// email-verification token and mails its link; neither step's failure
/// fails the registration (it is logged with the request id).
#[utoipa::path(
    post,
    path = "/api/auth/register/",
    tag = "auth",
    description = "Public. Creates tenant, admin user, Admin role and trial subscription atomically; returns tokens. \
        The admin's email starts unverified (`email_verified: false`): a link `{FRONTEND_URL}/verify-email?token=...` is mailed to it, \
        valid for seven days (see `/api/auth/email/verify/`); a failure to send is logged, never answered. \
        At most 10 attempts (successful or not) per source IP per hour; beyond that 429 `throttled` with `Retry-After`.",
    request_body = NewTenantRequest,
    responses(
        (status = 201, description = "Registered and logged in", body = RegisterResponse),
        (status = 400, description = "Invalid or taken field", body = BadRequestBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends"))),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ),
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    SourceIp(ip): SourceIp,
    ApiJson(req): ApiJson<NewTenantRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    // Every attempt counts: each hashes a password, and failed ones probe
    // which slugs and emails are taken.
    let now = OffsetDateTime::now_utc();
    throttle::reserve(
        &state.store,
        &throttle::REGISTRATIONS_PER_IP,
        &ip,
        now.unix_timestamp(),
    )
    .await?;
    let terms = tenancy::trial_terms(&state.store).await?;
    let new_tenant = req.validate(&terms).await?;
    let provisioned = tenancy::build(new_tenant, &terms, now);
    let roles = [provisioned.admin_role.clone()];
    let session = Session {
        scope: &provisioned.scope,
        user: &provisioned.admin,
        tenant: &provisioned.tenant,
        roles: &roles,
        subscription: Some(&provisioned.subscription),
    };
    let issued = session.issue(&state.signer, Uuid::new_v4(), now, now)?;
    let family_key = keys::token_family(issued.family.user_id, issued.family.family_id);
    let scope = provisioned.scope.clone();
    // The login's token family is written in the same transaction.
    tenancy::provision(&state.store, &provisioned, |tx| {
        tx.tenant(&scope).put(
            &family_key,
            &issued.family,
            Condition::NotExists,
            Label::Family,
        );
    })
    .await?;
    tracing::info!(tenant_id = %provisioned.tenant.id, "tenant registered");
    // The verification link, stored apart (the provisioning transaction is
    // at DynamoDB Local's item limit) and best effort, like its mail: the
    // registration stands, and the admin can ask for another link.
    verify::Issued::new(&provisioned.admin, now)
        .store_and_send(&state.store, &state.mailer)
        .await;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            message: "Registration successful.".into(),
            user: UserView::new(&provisioned.admin, &provisioned.tenant, &roles),
            tenant: TenantView::from(&provisioned.tenant),
            tokens: issued.tokens,
        }),
    ))
}
