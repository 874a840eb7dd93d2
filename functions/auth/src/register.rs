use crate::session::{Session, TokenPair};
use crate::{validate, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use shared::auth::{check_new_password, hash_password};
use shared::http::schema::{ErrorBody, ValidationErrorBody};
use shared::http::{ApiError, ApiJson, ValidationErrors};
use shared::keys;
use shared::permissions::Module;
use shared::store::Condition;
use shared::tenancy::{self, NewTenant, ProvisionError};
use shared::views::{TenantView, UserView};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub tenant_name: String,
    /// Unique platform-wide: 3–50 lowercase letters, digits, hyphens.
    pub tenant_slug: String,
    /// Unique platform-wide, case-insensitive.
    pub admin_email: String,
    pub admin_password: String,
    pub admin_password_confirm: String,
    pub admin_first_name: String,
    #[serde(default)]
    pub admin_last_name: Option<String>,
    /// Defaults to `["crm", "whatsapp", "meetings"]`; each must be in the
    /// trial plan.
    #[serde(default)]
    pub enabled_modules: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub message: String,
    pub user: UserView,
    pub tenant: TenantView,
    pub tokens: TokenPair,
}

const DEFAULT_MODULES: [Module; 3] = [Module::Crm, Module::Whatsapp, Module::Meetings];

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
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and logged in", body = RegisterResponse),
        (status = 400, description = "Invalid or taken field", body = ValidationErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ),
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let mut errors = ValidationErrors::new();
    let name = validate::name(&mut errors, "tenant_name", &req.tenant_name, 120);
    let slug = validate::slug(&mut errors, "tenant_slug", &req.tenant_slug);
    let email = validate::email(&mut errors, "admin_email", &req.admin_email);
    let first_name = validate::name(&mut errors, "admin_first_name", &req.admin_first_name, 150);
    let last_name = validate::optional_name(&mut errors, "admin_last_name", req.admin_last_name.as_deref(), 150);
    check_new_password(
        &mut errors,
        "admin_password",
        "admin_password_confirm",
        &req.admin_password,
        &req.admin_password_confirm,
        &email,
    );
    let terms = tenancy::trial_terms(&state.store).await?;
    let modules = match &req.enabled_modules {
        None => DEFAULT_MODULES.iter().copied().filter(|m| terms.modules.contains(m)).collect(),
        Some(names) => {
            let mut modules = Vec::new();
            for name in names {
                match Module::parse(name) {
                    None => errors.add("enabled_modules", format!("Unknown module '{name}'.")),
                    Some(m) if !terms.modules.contains(&m) => {
                        errors.add("enabled_modules", format!("Module '{name}' is not included in the trial plan."))
                    }
                    Some(m) if !modules.contains(&m) => modules.push(m),
                    Some(_) => {}
                }
            }
            modules
        }
    };
    errors.into_result()?;

    let password_hash = hash_password(req.admin_password).await.map_err(ApiError::internal)?;
    let now = OffsetDateTime::now_utc();
    let provisioned = tenancy::build(
        NewTenant {
            name,
            slug,
            enabled_modules: modules,
            admin_email: email,
            admin_first_name: first_name,
            admin_last_name: last_name,
            admin_password_hash: password_hash,
            admin_is_super_admin: false,
        },
        &terms,
        now,
    );
    let roles = [provisioned.admin_role.clone()];
    let session = Session {
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
        tx.put(&scope, &family_key, &issued.family, Condition::NotExists, "family");
    })
    .await
    .map_err(|e| match e {
        ProvisionError::SlugTaken => {
            ValidationErrors::field("tenant_slug", "A tenant with this slug already exists.").into()
        }
        ProvisionError::EmailTaken => {
            ValidationErrors::field("admin_email", "A user with this email already exists.").into()
        }
        ProvisionError::Store(e) => ApiError::from(e),
    })?;
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
