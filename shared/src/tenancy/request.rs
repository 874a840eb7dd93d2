//! The body registration and the super-admin tenant API receive, its
//! validation, and how a provisioning failure reads on the wire.

use super::provision::{NewTenant, ProvisionError};
use super::trial::{TrialTerms, DEFAULT_TRIAL_MODULES};
use crate::auth::{check_new_password, hash_password};
use crate::http::{ApiError, ValidationErrors};
use crate::permissions::Module;
use crate::validate;

/// Declares a request body holding the fields of [`NewTenantRequest`]
/// (with their bounds) followed by its own, and a `split` into the two.
/// `#[serde(flatten)]` would lose `deny_unknown_fields`, so the fields are
/// stated here once and expanded into each body.
#[macro_export]
macro_rules! new_tenant_request {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {}
    ) => {
        $crate::new_tenant_request!(@body [$(#[$meta])*] $vis $name {});
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$extra_meta:meta])* $extra_vis:vis $extra:ident : $extra_ty:ty),+ $(,)?
        }
    ) => {
        $crate::new_tenant_request!(@body [$(#[$meta])*] $vis $name {
            $($(#[$extra_meta])* $extra_vis $extra: $extra_ty,)+
        });

        impl $name {
            /// The registration body, and this body's own fields.
            pub fn split(self) -> ($crate::tenancy::NewTenantRequest, ($($extra_ty,)+)) {
                $crate::new_tenant_request!(@split self [$($extra)+])
            }
        }
    };
    (@fields $callback:ident $($args:tt)*) => {
        $crate::new_tenant_request!(@$callback $($args)* [
            #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
            tenant_name: String,
            /// Unique platform-wide: 3–50 lowercase letters, digits, hyphens.
            #[schema(pattern = r"^\s*[a-z0-9][a-z0-9-]{1,48}[a-z0-9]\s*$")]
            tenant_slug: String,
            /// Unique platform-wide, case-insensitive.
            #[schema(
                max_length = 254,
                pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+\s*$"
            )]
            admin_email: String,
            #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
            admin_password: String,
            #[schema(min_length = 10, max_length = 128, pattern = r"\D")]
            admin_password_confirm: String,
            #[schema(min_length = 1, max_length = 150, pattern = r"\S")]
            admin_first_name: String,
            #[serde(default)]
            #[schema(max_length = 150)]
            admin_last_name: Option<String>,
            /// Defaults to `["crm", "whatsapp", "meetings"]`; each must be in the
            /// trial plan.
            #[serde(default)]
            #[schema(value_type = Option<Vec<$crate::permissions::Module>>)]
            enabled_modules: Option<Vec<String>>,
        ]);
    };
    (@body [$($meta:tt)*] $vis:vis $name:ident { $($own:tt)* }) => {
        $crate::new_tenant_request!(@fields struct_with [$($meta)*] $vis $name { $($own)* });
    };
    (@struct_with [$($meta:tt)*] $vis:vis $name:ident { $($own:tt)* } [
        $($(#[$field_meta:meta])* $field:ident : $field_ty:ty,)+
    ]) => {
        $($meta)*
        #[derive(Debug, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($(#[$field_meta])* pub $field: $field_ty,)+
            $($own)*
        }
    };
    (@split $this:ident [$($extra:ident)+]) => {
        $crate::new_tenant_request!(@fields split_with $this [$($extra)+])
    };
    (@split_with $this:ident [$($extra:ident)+] [
        $($(#[$field_meta:meta])* $field:ident : $field_ty:ty,)+
    ]) => {{
        let Self { $($field,)+ $($extra,)+ } = $this;
        ($crate::tenancy::NewTenantRequest { $($field,)+ }, ($($extra,)+))
    }};
}

new_tenant_request! {
    /// A new organisation and its first administrator, as registration and the
    /// super-admin tenant API receive them.
    pub struct NewTenantRequest {}
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
