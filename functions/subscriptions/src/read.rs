use crate::view::{MySubscriptionView, SubscriptionView, UsageView};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use shared::auth::{Actor, AdministrationBillingView, Require, SuperAdmin};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, IdPath, ListQuery, PageQuery, Paginated};
use shared::keys::{self, SortKey};
use shared::records::{
    PlanRecord, SubscriptionRecord, SubscriptionRefRecord, SubscriptionStatus, UsageRecord,
};
use shared::store::{Page, PageRequest, StoreError, TenantFetched, TenantStore};
use utoipa::IntoParams;
use uuid::Uuid;

/// Reads a plan (one `GetItem`), if the subscription has one.
pub(crate) async fn plan_of(
    state: &AppState,
    plan_id: Option<Uuid>,
) -> Result<Option<PlanRecord>, ApiError> {
    match plan_id {
        Some(id) => Ok(state.store.platform().get(&keys::plan(id)).await?),
        None => Ok(None),
    }
}

/// How many plans [`plans`] asks for: the platform has a handful.
const PLANS_PAGE: u16 = 100;

/// The platform's plans, read concurrently with a tenant's subscription
/// when the token names no plan ([`read_with_plan`]). The plans index is
/// eventually consistent: a plan changed a moment ago may show as it was;
/// what acts on a plan (a plan change) reads it by key.
async fn plans(state: &AppState) -> Result<Page<PlanRecord>, StoreError> {
    let request = PageRequest::new(PLANS_PAGE, None, "plans");
    state
        .store
        .platform()
        .query_index::<PlanRecord>(keys::plans_index_pk(), &request)
        .await
}

/// What was read of the plans before the subscription said which is its.
enum PlansRead {
    /// The plan the token names, by key (`None`: no such plan).
    Named(Uuid, Option<Box<PlanRecord>>),
    /// The platform's plans (the token names none).
    Listed(Page<PlanRecord>),
}

impl PlansRead {
    /// The plan `plan_id` from what was read, else read by key: a plan the
    /// token did not name (changed since it was issued), or one not yet in
    /// the index or beyond its page.
    async fn plan(
        self,
        state: &AppState,
        plan_id: Option<Uuid>,
    ) -> Result<Option<PlanRecord>, ApiError> {
        let Some(id) = plan_id else {
            return Ok(None);
        };
        let found = match self {
            Self::Named(named, plan) if named == id => return Ok(plan.map(|p| *p)),
            Self::Named(..) => None,
            Self::Listed(plans) => plans.items.into_iter().find(|p| p.id == id),
        };
        match found {
            Some(plan) => Ok(Some(plan)),
            None => plan_of(state, Some(id)).await,
        }
    }
}

/// The subscription items `sks` of the actor's tenant and, in the same
/// round trip, its plan: the one the token names, in the same
/// `BatchGetItem` ([`Actor::plan_hint`]), else the plans index, queried
/// concurrently (the subscription names its plan, so the plan cannot
/// follow it without a second round trip).
async fn read_with_plan<'s>(
    state: &AppState,
    actor: &Actor,
    store: &'s TenantStore<'s>,
    sks: &[SortKey],
) -> Result<(TenantFetched<'s>, PlansRead), ApiError> {
    match actor.plan_hint() {
        Some(id) => {
            let (fetched, plan) = store.get_many_and(sks, &keys::plan(id)).await?;
            Ok((fetched, PlansRead::Named(id, plan.map(Box::new))))
        }
        None => {
            let (fetched, plans) = tokio::try_join!(store.get_many(sks), plans(state))?;
            Ok((fetched, PlansRead::Listed(plans)))
        }
    }
}

/// The tenant's own subscription with its plan.
#[utoipa::path(
    get,
    path = "/api/subscriptions/my_subscription/",
    tag = "subscriptions",
    description = "Permission: `administration.billing.view` (super admins pass; `X-Tenant-Id` moves only them). One `BatchGetItem`: \
        the subscription and the plan the token names (`plan`); a token naming none queries the plans concurrently instead. \
        A plan changed since the token was issued costs one more `GetItem`.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription", body = MySubscriptionView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.view`", body = ErrorBody),
        (status = 404, description = "The tenant has no subscription, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn my_subscription(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationBillingView>,
) -> Result<Json<MySubscriptionView>, ApiError> {
    let store = state.store.tenant(actor.scope());
    let sks: [SortKey; 1] = [keys::subscription().into()];
    let (mut fetched, plans) = read_with_plan(&state, &actor, &store, &sks).await?;
    let sub: SubscriptionRecord = fetched
        .take(&keys::subscription())?
        .ok_or(ApiError::NotFound)?;
    let plan = plans.plan(&state, sub.plan_id).await?;
    Ok(Json(MySubscriptionView::new(&sub, plan)))
}

/// The tenant's usage against its plan's limits.
#[utoipa::path(
    get,
    path = "/api/subscriptions/usage/",
    tag = "subscriptions",
    description = "Permission: `administration.billing.view` (super admins pass; `X-Tenant-Id` moves only them). Users come from the tenant's \
        usage counter; leads and storage are not tracked yet (`used: null`, `tracked: false`) and report only \
        their limits. One `BatchGetItem`: subscription, usage and the plan the token names (`plan`); \
        a token naming none queries the plans concurrently instead. A plan changed since the token was issued costs one more `GetItem`.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Usage and limits", body = UsageView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.view`", body = ErrorBody),
        (status = 404, description = "The tenant has no subscription, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn usage(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationBillingView>,
) -> Result<Json<UsageView>, ApiError> {
    let store = state.store.tenant(actor.scope());
    let sks: [SortKey; 2] = [keys::subscription().into(), keys::usage().into()];
    let (mut fetched, plans) = read_with_plan(&state, &actor, &store, &sks).await?;
    let sub: SubscriptionRecord = fetched
        .take(&keys::subscription())?
        .ok_or(ApiError::NotFound)?;
    let usage: UsageRecord = fetched.take(&keys::usage())?.unwrap_or_default();
    let plan = plans.plan(&state, sub.plan_id).await?;
    Ok(Json(UsageView::new(sub.plan_id, plan.as_ref(), &usage)))
}

/// Filters of the subscriptions listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscriptionFilter {
    /// Only subscriptions in this status.
    #[param(value_type = Option<shared::records::SubscriptionStatus>, example = "trial")]
    status: Option<SubscriptionStatus>,
    /// Only subscriptions on this plan (id).
    plan: Option<Uuid>,
}

impl SubscriptionFilter {
    fn keeps(&self, sub: &SubscriptionRecord) -> bool {
        self.status.is_none_or(|s| s == sub.status)
            && self.plan.is_none_or(|p| sub.plan_id == Some(p))
    }
}

fn status_name(status: SubscriptionStatus) -> Result<String, ApiError> {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(ApiError::internal(
            "subscription status does not serialise as a string",
        )),
    }
}

/// Subscriptions: every tenant's for super admins, the caller's own otherwise.
#[utoipa::path(
    get,
    path = "/api/subscriptions/",
    tag = "subscriptions",
    description = "Permission: `administration.billing.view` (super admins pass; `X-Tenant-Id` moves only them). Super admins get every tenant's subscription, oldest first \
        (one `Query` on GSI1 `SUBSCRIPTIONS` per page, `status` and `plan` as filters within it); tenants \
        pinned to a dedicated table keep their index entry in that table and are not listed here (reach \
        them with `X-Tenant-Id` on `my_subscription`). A tenant admin gets a one-item page of their own \
        (`GetItem`). Cursor pagination (`cursor`, `page_size` ≤ 100).",
    params(
        SubscriptionFilter,
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of subscriptions", body = Paginated<SubscriptionView>),
        (status = 400, description = "Invalid or unknown filter", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.view`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_subscriptions(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationBillingView>,
    ListQuery(filter): ListQuery<SubscriptionFilter>,
    page: PageQuery,
) -> Result<Json<Paginated<SubscriptionView>>, ApiError> {
    // A super admin lists every tenant's, unless `X-Tenant-Id` names one.
    if actor.claims().is_super_admin && !actor.via_super_admin() {
        let mut request = PageRequest::new(page.page_size, page.cursor.clone(), "subscriptions");
        if let Some(status) = filter.status {
            request = request.where_eq("status", status_name(status)?);
        }
        if let Some(plan) = filter.plan {
            request = request.where_eq("plan_id", plan.to_string());
        }
        let subs = state
            .store
            .platform()
            .query_index::<SubscriptionRecord>(keys::subscriptions_index_pk(), &request)
            .await?;
        return Ok(Json(page.respond(subs, |s| SubscriptionView::from(&s))));
    }
    let own: Option<SubscriptionRecord> = state
        .store
        .tenant(actor.scope())
        .get(&keys::subscription())
        .await?;
    let items = own.into_iter().filter(|s| filter.keeps(s)).collect();
    Ok(Json(page.respond(
        Page {
            items,
            next: None,
            previous: None,
        },
        |s| SubscriptionView::from(&s),
    )))
}

/// One subscription.
#[utoipa::path(
    get,
    path = "/api/subscriptions/{id}/",
    tag = "subscriptions",
    description = "Permission: `administration.billing.view` (super admins pass; `X-Tenant-Id` moves only them), for \
        their own subscription (`GetItem SUBSCRIPTION`; another id is 404); super admins, any (`GetItem \
        SUBSCRIPTIONREF#<id>` for the tenant, its routing item if it is not their own, then `GetItem SUBSCRIPTION`).",
    params(("id" = Uuid, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.view`", body = ErrorBody),
        (status = 404, description = "No such subscription (or another tenant's), or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn get_subscription(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationBillingView>,
    super_admin: Result<SuperAdmin, ApiError>,
    IdPath(id): IdPath,
) -> Result<Json<SubscriptionView>, ApiError> {
    let scope = match super_admin {
        Ok(admin) => {
            let found: SubscriptionRefRecord = state
                .store
                .platform()
                .get(&keys::subscription_ref(id))
                .await?
                .ok_or(ApiError::NotFound)?;
            admin.scope_for(found.tenant_id).await?
        }
        Err(_) => actor.scope().clone(),
    };
    let sub: SubscriptionRecord = state
        .store
        .tenant(&scope)
        .get(&keys::subscription())
        .await?
        .ok_or(ApiError::NotFound)?;
    if sub.id != id {
        return Err(ApiError::NotFound);
    }
    Ok(Json(SubscriptionView::from(&sub)))
}
