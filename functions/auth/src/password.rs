use crate::logout::Detail;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::auth::{check_new_password, hash_password, verify_password, Principal};
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::records::{CredentialRecord, TokenFamilyRecord};
use shared::store::{Condition, PageRequest};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub old_password: String,
    pub new_password: String,
    pub new_password_confirm: String,
}

/// A transaction holds at most 100 writes: the credential, the revocation
/// cutoff and 98 families.
const FAMILIES_PER_TRANSACTION: usize = 98;

/// Change the caller's password; every other login of the caller is revoked.
#[utoipa::path(
    post,
    path = "/api/auth/password/change/",
    tag = "auth",
    description = "Authenticated (any member). Keeps the current login, revokes all others: their refresh tokens \
        at once, their access tokens within `REVOCATION_CHECK_SECONDS`.",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Password changed", body = Detail),
        (status = 400, description = "Wrong old password or invalid new one", body = ValidationErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 409, description = "Changed concurrently; retry", body = ErrorBody),
    ),
)]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<Json<Detail>, ApiError> {
    let claims = principal.claims();
    let credential_key = keys::email_claim(&claims.email);
    let credential: CredentialRecord = state
        .store
        .platform()
        .get(&credential_key)
        .await?
        .filter(|c: &CredentialRecord| c.user_id == claims.sub)
        .ok_or_else(|| ApiError::unauthorized("User not found."))?;
    if !verify_password(req.old_password.clone(), credential.password_hash.clone()).await {
        return Err(ValidationErrors::field("old_password", "Old password is not correct.").into());
    }
    let mut errors = ValidationErrors::new();
    check_new_password(
        &mut errors,
        "new_password",
        "new_password_confirm",
        &req.new_password,
        &req.new_password_confirm,
        &claims.email,
    );
    if req.new_password == req.old_password {
        errors.add(
            "new_password",
            "The new password must differ from the old one.",
        );
    }
    errors.into_result()?;

    let password_hash = hash_password(req.new_password)
        .await
        .map_err(ApiError::internal)?;
    let store = state.store.tenant(principal.scope());
    let mut others = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query::<TokenFamilyRecord>(
                &keys::token_families(claims.sub),
                &PageRequest::new(100, cursor, "families"),
            )
            .await?;
        others.extend(
            page.items
                .into_iter()
                .filter(|f| !f.revoked && f.family_id != claims.fam),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    let updated = CredentialRecord {
        password_hash,
        version: credential.version + 1,
        ..credential.clone()
    };
    let mut chunks = others.chunks(FAMILIES_PER_TRANSACTION);
    let mut tx = state.store.transaction();
    tx.put_platform(
        &credential_key,
        &updated,
        Condition::VersionIs(credential.version),
        "credential",
    );
    // The other logins' access tokens stop within the revocation check
    // interval; this one's stay valid.
    shared::revocation::revoke_user_except(
        &mut tx,
        principal.scope(),
        claims.sub,
        claims.fam,
        time::OffsetDateTime::now_utc(),
    );
    for family in chunks.next().unwrap_or_default() {
        revoke_in(&mut tx, &principal, family);
    }
    tx.execute().await?;
    for chunk in chunks {
        let mut tx = state.store.transaction();
        for family in chunk {
            revoke_in(&mut tx, &principal, family);
        }
        tx.execute().await?;
    }
    tracing::info!(revoked_logins = others.len(), "password changed");
    Ok(Json(Detail {
        detail: "Password changed.".into(),
    }))
}

fn revoke_in(
    tx: &mut shared::store::Transaction<'_>,
    principal: &Principal,
    family: &TokenFamilyRecord,
) {
    let revoked = TokenFamilyRecord {
        revoked: true,
        ..family.clone()
    };
    tx.put(
        principal.scope(),
        &keys::token_family(family.user_id, family.family_id),
        &revoked,
        Condition::Always,
        "family",
    );
}
