use crate::session::{Session, TokenPair};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson};
use shared::keys;
use shared::store::Condition;
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
/// admin user, the system Admin role and a trial subscription, and returns
/// tokens for the new admin.
#[utoipa::path(
    post,
    path = "/api/auth/register/",
    tag = "auth",
    description = "Public. Creates tenant, admin user, Admin role and trial subscription atomically; returns tokens.",
    request_body = NewTenantRequest,
    responses(
        (status = 201, description = "Registered and logged in", body = RegisterResponse),
        (status = 400, description = "Invalid or taken field", body = ValidationErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ),
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<NewTenantRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let terms = tenancy::trial_terms(&state.store).await?;
    let new_tenant = req.validate(&terms).await?;
    let now = OffsetDateTime::now_utc();
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
        tx.put(
            &scope,
            &family_key,
            &issued.family,
            Condition::NotExists,
            "family",
        );
    })
    .await?;
    tracing::info!(tenant_id = %provisioned.tenant.id, "tenant registered");
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
