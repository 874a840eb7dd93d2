//! Creating, changing and deactivating plans (platform super admins only).
//!
//! Plans are platform-wide, but the audit log is per tenant: every change
//! is audited in the acting super admin's own tenant log (entity `plan`),
//! in the same transaction as the change. Slugs are unique platform-wide
//! through a `PLANSLUG#<slug>` claim written alongside the plan.

use crate::{AppState, DefaultCurrency};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use shared::audit::{self, By};
use shared::auth::SuperAdmin;
use shared::config::is_currency_code;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ApiJson, IdPath, Replace, ValidationErrors};
use shared::keys;
use shared::money::parse_money;
use shared::permissions::Module;
use shared::records::{PlanRecord, PlanSlugClaim};
use shared::store::{Condition, Label, OnConflict};
use shared::validate;
use shared::views::PlanView;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

shared::replace_body!(
    /// The PUT body: `PlanInput`, and the rest of `PlanView` read-only.
    pub PlanReplaceBody,
    PlanInput,
    PlanView
);

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 1000;
const MAX_FEATURES: usize = 50;
const MAX_FEATURE: usize = 200;
const MAX_TRIAL_DAYS: u32 = 365;

/// A plan as written by `POST` and `PUT`. A PUT may also carry the other
/// fields of the plan's representation: read-only, ignored when unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Unique platform-wide: 3–50 lowercase letters, digits, hyphens.
    #[schema(pattern = r"^\s*[a-z0-9][a-z0-9-]{1,48}[a-z0-9]\s*$")]
    pub slug: String,
    #[serde(default)]
    pub description: String,
    /// A string with at most two decimals (`"49.00"`) or a whole number;
    /// floats are refused.
    #[schema(schema_with = shared::money::money_input)]
    pub price_monthly: Value,
    #[schema(schema_with = shared::money::money_input)]
    pub price_yearly: Value,
    /// ISO 4217 (3 uppercase letters); defaults to `DEFAULT_CURRENCY`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Null or absent: unlimited.
    #[serde(default)]
    pub max_users: Option<u32>,
    #[serde(default)]
    pub max_leads: Option<u32>,
    #[serde(default)]
    pub storage_gb: Option<u32>,
    /// Module keys: `crm`, `whatsapp`, `meetings`, `tasks`.
    #[serde(default)]
    #[schema(value_type = Vec<shared::permissions::Module>)]
    pub included_modules: Vec<String>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub is_trial: bool,
    #[serde(default)]
    pub trial_days: u32,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub sort_order: i32,
}

fn yes() -> bool {
    true
}

/// A partial change (`PATCH`). A limit set to null becomes unlimited.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(pattern = r"^\s*[a-z0-9][a-z0-9-]{1,48}[a-z0-9]\s*$")]
    pub slug: Option<String>,
    pub description: Option<String>,
    #[schema(schema_with = shared::money::money_patch)]
    pub price_monthly: Option<Value>,
    #[schema(schema_with = shared::money::money_patch)]
    pub price_yearly: Option<Value>,
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<u32>)]
    pub max_users: Option<Option<u32>>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<u32>)]
    pub max_leads: Option<Option<u32>>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<u32>)]
    pub storage_gb: Option<Option<u32>>,
    #[schema(value_type = Option<Vec<shared::permissions::Module>>)]
    pub included_modules: Option<Vec<String>>,
    pub features: Option<Vec<String>>,
    pub is_trial: Option<bool>,
    pub trial_days: Option<u32>,
    pub is_active: Option<bool>,
    pub sort_order: Option<i32>,
}

impl From<PlanInput> for PlanPatch {
    fn from(i: PlanInput) -> Self {
        Self {
            name: Some(i.name),
            slug: Some(i.slug),
            description: Some(i.description),
            price_monthly: Some(i.price_monthly),
            price_yearly: Some(i.price_yearly),
            currency: i.currency,
            max_users: Some(i.max_users),
            max_leads: Some(i.max_leads),
            storage_gb: Some(i.storage_gb),
            included_modules: Some(i.included_modules),
            features: Some(i.features),
            is_trial: Some(i.is_trial),
            trial_days: Some(i.trial_days),
            is_active: Some(i.is_active),
            sort_order: Some(i.sort_order),
        }
    }
}

fn money(errors: &mut ValidationErrors, field: &str, value: Option<&Value>) -> Option<Decimal> {
    match value.map(parse_money) {
        None => None,
        Some(Ok(amount)) => Some(amount),
        Some(Err(message)) => {
            errors.add(field, message);
            None
        }
    }
}

/// Validates a patch and applies it to `plan`, reporting every error at once.
fn apply(plan: &mut PlanRecord, patch: PlanPatch) -> Result<(), ApiError> {
    let mut errors = ValidationErrors::new();
    if let Some(name) = &patch.name {
        plan.name = validate::name(&mut errors, "name", name, MAX_NAME);
    }
    if let Some(slug) = &patch.slug {
        plan.slug = validate::slug(&mut errors, "slug", slug);
    }
    if let Some(description) = patch.description {
        let description = description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION {
            errors.add(
                "description",
                format!("Ensure this field has no more than {MAX_DESCRIPTION} characters."),
            );
        }
        plan.description = description;
    }
    if let Some(amount) = money(&mut errors, "price_monthly", patch.price_monthly.as_ref()) {
        plan.price_monthly = amount;
    }
    if let Some(amount) = money(&mut errors, "price_yearly", patch.price_yearly.as_ref()) {
        plan.price_yearly = amount;
    }
    if let Some(currency) = patch.currency {
        let currency = currency.trim().to_owned();
        if !is_currency_code(&currency) {
            errors.add(
                "currency",
                "Enter an ISO 4217 currency code: 3 uppercase letters, e.g. \"USD\".",
            );
        }
        plan.currency = currency;
    }
    if let Some(v) = patch.max_users {
        plan.max_users = v;
    }
    if let Some(v) = patch.max_leads {
        plan.max_leads = v;
    }
    if let Some(v) = patch.storage_gb {
        plan.storage_gb = v;
    }
    if let Some(names) = &patch.included_modules {
        let mut modules = Vec::new();
        for name in names {
            match Module::parse(name) {
                None => errors.add("included_modules", format!("Unknown module '{name}'.")),
                Some(m) if !modules.contains(&m) => modules.push(m),
                Some(_) => {}
            }
        }
        plan.included_modules = modules;
    }
    if let Some(features) = patch.features {
        let features: Vec<String> = features.into_iter().map(|f| f.trim().to_owned()).collect();
        if features.len() > MAX_FEATURES {
            errors.add(
                "features",
                format!("Ensure this field has no more than {MAX_FEATURES} elements."),
            );
        }
        if features
            .iter()
            .any(|f| f.is_empty() || f.chars().count() > MAX_FEATURE)
        {
            errors.add(
                "features",
                format!("Each feature has 1 to {MAX_FEATURE} characters."),
            );
        }
        plan.features = features;
    }
    if let Some(v) = patch.is_trial {
        plan.is_trial = v;
    }
    if let Some(days) = patch.trial_days {
        if days > MAX_TRIAL_DAYS {
            errors.add(
                "trial_days",
                format!("Ensure this value is less than or equal to {MAX_TRIAL_DAYS}."),
            );
        }
        plan.trial_days = days;
    }
    if let Some(v) = patch.is_active {
        plan.is_active = v;
    }
    if let Some(v) = patch.sort_order {
        plan.sort_order = v;
    }
    errors.into_result()
}

fn slug_taken() -> ApiError {
    ValidationErrors::field("slug", "A plan with this slug already exists.").into()
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict(
        "The plan was changed by another request; reload and try again.",
        "conflict",
    )
}

/// Create a plan.
#[utoipa::path(
    post,
    path = "/api/plans/",
    tag = "plans",
    description = "Permission: super admin. One `TransactWriteItems`: the plan and its slug claim \
        (`attribute_not_exists`) and an audit entry in the super admin's own tenant log.",
    request_body = PlanInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = PlanView),
        (status = 400, description = "Invalid field (money as a float, negative, more than 2 decimals) or taken slug", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn create_plan(
    State(state): State<AppState>,
    admin: SuperAdmin,
    Extension(DefaultCurrency(default_currency)): Extension<DefaultCurrency>,
    ApiJson(input): ApiJson<PlanInput>,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let mut plan = PlanRecord {
        id: Uuid::new_v4(),
        name: String::new(),
        slug: String::new(),
        description: String::new(),
        price_monthly: Decimal::ZERO,
        price_yearly: Decimal::ZERO,
        currency: default_currency,
        max_users: None,
        max_leads: None,
        storage_gb: None,
        included_modules: Vec::new(),
        features: Vec::new(),
        is_trial: false,
        trial_days: 0,
        is_active: true,
        sort_order: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    apply(&mut plan, input.into())?;
    let mut tx = state.store.transaction();
    tx.put_platform(
        &keys::plan(plan.id),
        &plan,
        Condition::NotExists,
        Label::Plan,
    )
    .claim_platform(
        &keys::plan_slug_claim(&plan.slug),
        &PlanSlugClaim { plan_id: plan.id },
        Label::Slug,
    );
    audit::record(
        &mut tx,
        By::SuperAdmin(&admin),
        "plan.create",
        "plan",
        plan.id,
        audit::changes(None, Some(&plan), &["version"]),
    );
    tx.execute()
        .await
        .on_conflict(Label::Slug, slug_taken)
        .on_any_conflict(changed_concurrently)?;
    Ok((StatusCode::CREATED, Json(plan.into())))
}

/// The write condition of a read-modify-write: the version read, or, for a
/// plan seeded before plans had versions, its `updated_at`.
fn unchanged_since(before: &PlanRecord) -> Result<Condition, ApiError> {
    if before.version > 0 {
        return Ok(Condition::VersionIs(before.version));
    }
    let at = before
        .updated_at
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(ApiError::internal)?;
    Ok(Condition::FieldIs("updated_at", at))
}

async fn update(
    state: &AppState,
    admin: &SuperAdmin,
    id: Uuid,
    patch: PlanPatch,
) -> Result<PlanView, ApiError> {
    let before: PlanRecord = state
        .store
        .platform()
        .get(&keys::plan(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut after = before.clone();
    apply(&mut after, patch)?;
    if after == before {
        return Ok(before.into());
    }
    after.version = before.version + 1;
    after.updated_at = OffsetDateTime::now_utc();

    let mut tx = state.store.transaction();
    tx.put_platform(
        &keys::plan(id),
        &after,
        unchanged_since(&before)?,
        Label::Plan,
    )
    .move_claim_platform(
        &keys::plan_slug_claim(&before.slug),
        &keys::plan_slug_claim(&after.slug),
        &PlanSlugClaim { plan_id: id },
        Label::Slug,
    );
    let action = if before.is_active && !after.is_active {
        "plan.deactivate"
    } else {
        "plan.update"
    };
    let changes = audit::changes(Some(&before), Some(&after), &["version", "updated_at"]);
    audit::record(&mut tx, By::SuperAdmin(admin), action, "plan", id, changes);
    tx.execute()
        .await
        .on_conflict(Label::Slug, slug_taken)
        .on_any_conflict(changed_concurrently)?;
    Ok(after.into())
}

/// Replace a plan's fields.
#[utoipa::path(
    put,
    path = "/api/plans/{id}/",
    tag = "plans",
    description = "Permission: super admin. `GetItem` plan; `TransactWriteItems`: plan (`version = :v`), \
        slug claim moved if the slug changed, audit entry. Tenants already on the plan keep their modules \
        until their next plan change. The plan's `id` and timestamps (as GET shows them) may be sent back: \
        read-only, ignored when unchanged, a 400 `This field is read-only.` when changed.",
    params(("id" = Uuid, Path, description = "Plan id")),
    request_body = PlanReplaceBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = PlanView),
        (status = 400, description = "Invalid field or taken slug", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn replace_plan(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
    input: Replace<PlanInput>,
) -> Result<Json<PlanView>, ApiError> {
    // The plan's own representation may come back: its other fields are read-only.
    let current: PlanRecord = state
        .store
        .platform()
        .get(&keys::plan(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let input = input.against(&PlanView::from(current))?;
    update(&state, &admin, id, input.into()).await.map(Json)
}

/// Change some of a plan's fields.
#[utoipa::path(
    patch,
    path = "/api/plans/{id}/",
    tag = "plans",
    description = "Permission: super admin. Same rules and calls as PUT.",
    params(("id" = Uuid, Path, description = "Plan id")),
    request_body = PlanPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = PlanView),
        (status = 400, description = "Invalid field or taken slug", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn patch_plan(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<PlanPatch>,
) -> Result<Json<PlanView>, ApiError> {
    update(&state, &admin, id, patch).await.map(Json)
}

/// Deactivate a plan (plans are never destroyed: subscriptions refer to them).
#[utoipa::path(
    delete,
    path = "/api/plans/{id}/",
    tag = "plans",
    description = "Permission: super admin. Sets `is_active` to false: the plan disappears from \
        non-admin listings and cannot be subscribed to; current subscribers keep it. Audited.",
    params(("id" = Uuid, Path, description = "Plan id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_plan(
    State(state): State<AppState>,
    admin: SuperAdmin,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    let patch = PlanPatch {
        is_active: Some(false),
        ..PlanPatch::default()
    };
    update(&state, &admin, id, patch).await?;
    Ok(StatusCode::NO_CONTENT)
}
