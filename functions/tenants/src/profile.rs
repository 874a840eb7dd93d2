//! Changing a tenant's profile, shared by `/me/` and the super-admin path.

use crate::AppState;
use serde::Deserialize;
use serde_json::Value;
use shared::audit;
use shared::auth::Actor;
use shared::http::{ApiError, ValidationErrors};
use shared::keys;
use shared::permissions::Module;
use shared::records::{DomainClaim, PlanRecord, SubscriptionRecord, TenantRecord};
use shared::store::{Condition, Label, StoreError};
use shared::superadmins;
use shared::tenancy::DEFAULT_TRIAL_MODULES;
use shared::validate;
use shared::views::TenantView;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Largest accepted `settings` document, serialised.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// The tenant fields an administrator sets (`PUT`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: String,
    /// Custom domain, unique platform-wide; null for none.
    #[serde(default)]
    #[schema(
        max_length = 253,
        pattern = r"^\s*([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.*\s*$"
    )]
    pub domain: Option<String>,
    /// Free-form JSON object, at most 16 KiB.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Modules to enable; each must be included in the tenant's plan.
    #[schema(value_type = Vec<shared::permissions::Module>)]
    pub enabled_modules: Vec<String>,
}

pub(crate) fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A partial change (`PATCH`). `domain: null` removes the domain.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(max_length = 253, pattern = r"^\s*([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.*\s*$", value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    #[schema(value_type = Option<Vec<shared::permissions::Module>>)]
    pub enabled_modules: Option<Vec<String>>,
}

impl From<TenantInput> for TenantPatch {
    fn from(i: TenantInput) -> Self {
        Self {
            name: Some(i.name),
            domain: Some(i.domain),
            settings: Some(i.settings),
            enabled_modules: Some(i.enabled_modules),
        }
    }
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
