//! Changing a tenant's profile, shared by `/me/` and the super-admin path.

use crate::AppState;
use serde_json::Value;
use shared::audit;
use shared::auth::Actor;
use shared::http::{ApiError, ValidationErrors};
use shared::keys;
use shared::permissions::Module;
use shared::records::{
    DomainClaim, PlanRecord, SubscriptionRecord, TenantRecord, REQUIRE_VERIFIED_EMAIL,
};
use shared::store::{Condition, Label, StoreError};
use shared::superadmins;
use shared::tenancy::DEFAULT_TRIAL_MODULES;
use shared::validate;
use shared::views::TenantView;
use time::OffsetDateTime;

/// Largest accepted `settings` document, serialised.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// The schema of `settings`: a free-form object, but for the keys the
/// platform reads (`require_verified_email`, a boolean).
pub fn settings_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            REQUIRE_VERIFIED_EMAIL,
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some(
                    "Only users with a verified email may log in (super admins excepted). Default `false`.",
                )),
        )
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some(
            "Free-form JSON object, at most 16 KiB. The platform reads `require_verified_email`.",
        ))
        .build()
        .into()
}

/// [`settings_schema`], or null (`PATCH`).
pub fn settings_patch_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    AnyOfBuilder::new()
        .item(settings_schema())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .build()
        .into()
}

/// Declares a tenant body: `put` holds the fields of [`TenantInput`] (each
/// required but `domain` and `settings`), `patch` those of [`TenantPatch`]
/// (each optional), then the body's own fields. A `put` body without fields
/// of its own converts into a [`TenantPatch`]; a body with some gets a
/// `split` into the [`TenantPatch`] and them. `#[serde(flatten)]` would lose
/// `deny_unknown_fields`, so the fields are stated here once and expanded
/// into each body.
macro_rules! tenant_body {
    (
        put
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {}
    ) => {
        $crate::profile::tenant_body! { @put struct_with [$(#[$meta])*] $vis $name {} }

        impl From<$name> for $crate::profile::TenantPatch {
            fn from(body: $name) -> Self {
                let (patch, ()) = $crate::profile::tenant_body! { @put split_with body $name [] };
                patch
            }
        }
    };
    (
        patch
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {}
    ) => {
        $crate::profile::tenant_body! { @patch struct_with [$(#[$meta])*] $vis $name {} }
    };
    (
        $kind:ident
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$extra_meta:meta])* $extra_vis:vis $extra:ident : $extra_ty:ty),+ $(,)?
        }
    ) => {
        $crate::profile::tenant_body! { @$kind struct_with [$(#[$meta])*] $vis $name {
            $($(#[$extra_meta])* $extra_vis $extra: $extra_ty,)+
        } }

        impl $name {
            /// The tenant fields as a change, and this body's own fields.
            pub fn split(self) -> ($crate::profile::TenantPatch, ($($extra_ty,)+)) {
                $crate::profile::tenant_body! { @$kind split_with self Self [$($extra)+] }
            }
        }
    };
    (@put $callback:ident $($args:tt)*) => {
        $crate::profile::tenant_body! { @$callback $($args)* [Debug, ::serde::Deserialize, ::utoipa::ToSchema] [Some] [
            #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
            name: String,
            /// Custom domain, unique platform-wide; null for none.
            #[serde(default)]
            #[schema(
                max_length = 253,
                pattern = r"^\s*([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.*\s*$"
            )]
            domain: Option<String>,
            /// Free-form JSON object, at most 16 KiB (`settings_schema`).
            #[serde(default = "crate::profile::empty_object")]
            #[schema(schema_with = crate::profile::settings_schema)]
            settings: ::serde_json::Value,
            /// Modules to enable; each must be included in the tenant's plan.
            #[schema(value_type = Vec<shared::permissions::Module>)]
            enabled_modules: Vec<String>,
        ] }
    };
    (@patch $callback:ident $($args:tt)*) => {
        $crate::profile::tenant_body! { @$callback $($args)* [Debug, Default, ::serde::Deserialize, ::utoipa::ToSchema] [::core::convert::identity] [
            #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
            name: Option<String>,
            #[serde(default, deserialize_with = "shared::http::nullable")]
            #[schema(max_length = 253, pattern = r"^\s*([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.*\s*$", value_type = Option<String>)]
            domain: Option<Option<String>>,
            #[schema(schema_with = crate::profile::settings_patch_schema)]
            settings: Option<::serde_json::Value>,
            #[schema(value_type = Option<Vec<shared::permissions::Module>>)]
            enabled_modules: Option<Vec<String>>,
        ] }
    };
    (@struct_with [$($meta:tt)*] $vis:vis $name:ident { $($own:tt)* } [$($derive:path),+] [$wrap:path] [
        $($(#[$field_meta:meta])* $field:ident : $field_ty:ty,)+
    ]) => {
        $($meta)*
        #[derive($($derive),+)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($(#[$field_meta])* pub $field: $field_ty,)+
            $($own)*
        }
    };
    (@split_with $this:ident $ty:ident [$($extra:ident)*] [$($derive:path),+] [$wrap:path] [
        $($(#[$field_meta:meta])* $field:ident : $field_ty:ty,)+
    ]) => {{
        let $ty { $($field,)+ $($extra,)* } = $this;
        ($crate::profile::TenantPatch { $($field: $wrap($field),)+ }, ($($extra,)*))
    }};
}
pub(crate) use tenant_body;

tenant_body! {
    put
    /// The tenant fields an administrator sets (`PUT`).
    pub struct TenantInput {}
}

pub(crate) fn empty_object() -> Value {
    Value::Object(Default::default())
}

tenant_body! {
    patch
    /// A partial change (`PATCH`). `domain: null` removes the domain.
    pub struct TenantPatch {}
}

/// The modules the tenant's plan includes.
async fn plan_modules(
    state: &AppState,
    subscription: Option<&SubscriptionRecord>,
) -> Result<Vec<Module>, ApiError> {
    match subscription.and_then(|s| s.plan_id) {
        Some(plan_id) => {
            let plan: Option<PlanRecord> = state.store.platform().get(&keys::plan(plan_id)).await?;
            Ok(plan
                .map(|p| p.included_modules)
                .unwrap_or_else(|| DEFAULT_TRIAL_MODULES.to_vec()))
        }
        None => Ok(DEFAULT_TRIAL_MODULES.to_vec()),
    }
}

/// Applies a change to the tenant `actor` acts in, with its audit entry,
/// in one transaction.
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    patch: TenantPatch,
) -> Result<TenantView, ApiError> {
    let store = state.store.tenant(actor.scope());
    let mut fetched = store
        .get_many::<keys::SortKey>(&[keys::tenant_profile().into(), keys::subscription().into()])
        .await?;
    let before: TenantRecord = fetched
        .take(&keys::tenant_profile())?
        .ok_or(ApiError::NotFound)?;
    let subscription: Option<SubscriptionRecord> = fetched.take(&keys::subscription())?;

    let mut errors = ValidationErrors::new();
    let mut after = before.clone();
    if let Some(name) = &patch.name {
        after.name = validate::name(&mut errors, "name", name, 120);
    }
    if let Some(domain) = &patch.domain {
        after.domain = domain
            .as_deref()
            .map(|d| validate::domain(&mut errors, "domain", d));
    }
    if let Some(settings) = patch.settings {
        if !settings.is_object() {
            errors.add("settings", "Expected a JSON object.");
        } else if settings.to_string().len() > MAX_SETTINGS_BYTES {
            errors.add(
                "settings",
                format!("Settings may not exceed {MAX_SETTINGS_BYTES} bytes."),
            );
        } else if settings
            .get(REQUIRE_VERIFIED_EMAIL)
            .is_some_and(|v| !v.is_boolean())
        {
            errors.add(
                "settings",
                format!("`{REQUIRE_VERIFIED_EMAIL}` must be true or false."),
            );
        }
        after.settings = settings;
    }
    if let Some(names) = &patch.enabled_modules {
        let allowed = plan_modules(state, subscription.as_ref()).await?;
        let mut modules = Vec::new();
        for name in names {
            match Module::parse(name) {
                None => errors.add("enabled_modules", format!("Unknown module '{name}'.")),
                Some(m) if !allowed.contains(&m) => errors.add(
                    "enabled_modules",
                    format!("Module '{name}' is not included in your plan."),
                ),
                Some(m) if !modules.contains(&m) => modules.push(m),
                Some(_) => {}
            }
        }
        after.enabled_modules = modules;
    }
    errors.into_result()?;
    if after == before {
        return Ok(TenantView::from(&before));
    }
    after.version = before.version + 1;
    after.updated_at = OffsetDateTime::now_utc();

    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &keys::tenant_profile(),
        &after,
        Condition::VersionIs(before.version),
        Label::Tenant,
    );
    if after.domain != before.domain {
        if let Some(old) = &before.domain {
            tx.delete_platform(&keys::domain_claim(old), Label::Domain);
        }
        if let Some(new) = &after.domain {
            tx.claim_platform(
                &keys::domain_claim(new),
                &DomainClaim {
                    tenant_id: after.id,
                },
                Label::Domain,
            );
        }
    }
    audit::record(
        &mut tx,
        actor,
        "tenant.update",
        "tenant",
        after.id,
        audit::changes(Some(&before), Some(&after), &["version"]),
    );
    tx.execute().await.map_err(|e| match e {
        e if e.failed(Label::Domain) => {
            ValidationErrors::field("domain", "This domain is already in use.").into()
        }
        StoreError::TransactionConditionFailed(_) => ApiError::conflict(
            "The tenant was changed by another request; reload and try again.",
            "conflict",
        ),
        other => other.into(),
    })?;
    Ok(TenantView::from(&after))
}

/// Suspends or reactivates the tenant `actor` acts in (audited).
pub async fn set_active(
    state: &AppState,
    actor: &Actor,
    active: bool,
) -> Result<TenantView, ApiError> {
    let store = state.store.tenant(actor.scope());
    let before: TenantRecord = store
        .get(&keys::tenant_profile())
        .await?
        .ok_or(ApiError::NotFound)?;
    if before.is_active == active {
        return Ok(TenantView::from(&before));
    }
    // Every super admin signs in through the platform tenant.
    if !active && superadmins::is_platform(&before) {
        return Err(ApiError::conflict(
            "The platform tenant cannot be suspended: every super admin signs in through it.",
            "platform_tenant",
        ));
    }
    let after = TenantRecord {
        is_active: active,
        version: before.version + 1,
        updated_at: OffsetDateTime::now_utc(),
        ..before.clone()
    };
    let mut tx = state.store.transaction();
    tx.tenant(actor.scope()).put(
        &keys::tenant_profile(),
        &after,
        Condition::VersionIs(before.version),
        Label::Tenant,
    );
    let action = if active {
        "tenant.activate"
    } else {
        "tenant.suspend"
    };
    audit::record(
        &mut tx,
        actor,
        action,
        "tenant",
        after.id,
        audit::changes(Some(&before), Some(&after), &["version"]),
    );
    tx.execute().await?;
    Ok(TenantView::from(&after))
}
