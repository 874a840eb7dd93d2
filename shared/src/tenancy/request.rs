//! The body registration and the super-admin tenant API receive, its
//! validation, and how a provisioning failure reads on the wire.

use super::provision::{NewTenant, ProvisionError};
use super::trial::{TrialTerms, DEFAULT_TRIAL_MODULES};
use crate::auth::{check_new_password, hash_password};
use crate::http::{ApiError, ValidationErrors};
use crate::permissions::Module;
use crate::validate;
use serde::Deserialize;
use utoipa::ToSchema;

/// A new organisation and its first administrator, as registration and the
/// super-admin tenant API receive them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantRequest {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub tenant_name: String,
    /// Unique platform-wide: 3–50 lowercase letters, digits, hyphens.
    #[schema(pattern = r"^\s*[a-z0-9][a-z0-9-]{1,48}[a-z0-9]\s*$")]
    pub tenant_slug: String,
    /// Unique platform-wide, case-insensitive.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+\s*$"
    )]
    pub admin_email: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub admin_password: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
    pub admin_password_confirm: String,
    #[schema(min_length = 1, max_length = 150, pattern = r"\S")]
    pub admin_first_name: String,
    #[serde(default)]
    #[schema(max_length = 150)]
    pub admin_last_name: Option<String>,
    /// Defaults to `["crm", "whatsapp", "meetings"]`; each must be in the
    /// trial plan.
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::permissions::Module>>)]
    pub enabled_modules: Option<Vec<String>>,
}

impl NewTenantRequest {
    /// Checks every field (reporting all errors at once) against the trial
    /// terms, then hashes the password.
    pub async fn validate(self, terms: &TrialTerms) -> Result<NewTenant, ApiError> {
        let mut errors = ValidationErrors::new();
        let name = validate::name(&mut errors, "tenant_name", &self.tenant_name, 120);
        let slug = validate::slug(&mut errors, "tenant_slug", &self.tenant_slug);
        let email = validate::email(&mut errors, "admin_email", &self.admin_email);
        let first_name =
            validate::name(&mut errors, "admin_first_name", &self.admin_first_name, 150);
        let last_name = validate::optional_name(
            &mut errors,
            "admin_last_name",
            self.admin_last_name.as_deref(),
            150,
        );
        check_new_password(
            &mut errors,
            "admin_password",
            "admin_password_confirm",
            &self.admin_password,
            &self.admin_password_confirm,
            &email,
        );
        let modules = match &self.enabled_modules {
            None => DEFAULT_TRIAL_MODULES
                .iter()
                .copied()
                .filter(|m| terms.modules.contains(m))
                .collect(),
            Some(names) => {
                let mut modules = Vec::new();
                for name in names {
                    match Module::parse(name) {
                        None => errors.add("enabled_modules", format!("Unknown module '{name}'.")),
                        Some(m) if !terms.modules.contains(&m) => errors.add(
                            "enabled_modules",
                            format!("Module '{name}' is not included in the trial plan."),
                        ),
                        Some(m) if !modules.contains(&m) => modules.push(m),
                        Some(_) => {}
                    }
                }
                modules
            }
        };
        errors.into_result()?;
        Ok(NewTenant {
            name,
            slug,
            enabled_modules: modules,
            admin_email: email,
            admin_first_name: first_name,
            admin_last_name: last_name,
            admin_password_hash: hash_password(self.admin_password)
                .await
                .map_err(ApiError::internal)?,
            admin_is_super_admin: false,
        })
    }
}

impl From<ProvisionError> for ApiError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::SlugTaken => {
                ValidationErrors::field("tenant_slug", "A tenant with this slug already exists.")
                    .into()
            }
            ProvisionError::EmailTaken => {
                ValidationErrors::field("admin_email", "A user with this email already exists.")
                    .into()
            }
            ProvisionError::Store(e) => e.into(),
        }
    }
}
