//! Settling invoices by hand: the manual payment provider. A super admin
//! marks an invoice paid (money received outside the platform) or failed;
//! `shared::billing_store::settle` checks the invoice's status machine, moves
//! the subscription when it is its open invoice, and writes both with the
//! audit entries in one transaction.

use crate::read::tenant_of;
use crate::view::InvoiceView;
use crate::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use shared::auth::SuperAdmin;
use shared::billing::{BillingError, BillingPolicy, ManualProvider, PaymentProvider};
use shared::billing_store::{self, InvoicingError, Settlement};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, IdPath, OptionalJson, ValidationErrors};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest accepted payment reference.
const MAX_REFERENCE_CHARS: usize = 200;

/// The body of `mark_paid`; the whole body may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkPaidRequest {
    /// What identifies the payment outside the platform (a bank transfer's
    /// reference, a receipt number), up to 200 characters.
    #[schema(example = "SEPA 2026-03-02 ACME")]
    pub reference: Option<String>,
}

/// What a refused settlement answers. Rule refusals are 400 with a code;
/// internals never reach the client (500 `internal_error`, logged).
fn settle_error(e: InvoicingError) -> ApiError {
    match e {
        InvoicingError::Rule(rule @ BillingError::InvoiceTransition { .. }) => {
            ApiError::bad_request(rule.message(), "invalid_transition")
        }
        InvoicingError::Rule(rule @ BillingError::SubscriptionEnded { .. }) => {
            ApiError::bad_request(rule.message(), "subscription_ended")
        }
        InvoicingError::NotFound => ApiError::NotFound,
        InvoicingError::Conflict => ApiError::conflict(
            "The invoice or its subscription was changed by another request; reload and try again.",
            "conflict",
        ),
        InvoicingError::Store(e) => e.into(),
        other => ApiError::internal(other),
    }
}

/// Settles `id` as the super admin acting inside the invoice's tenant.
async fn settle(
    state: &AppState,
    admin: &SuperAdmin,
    policy: &BillingPolicy,
    id: Uuid,
    settlement: Settlement,
) -> Result<InvoiceView, ApiError> {
    let scope = tenant_of(state, admin, id).await?;
    let actor = admin.actor_with(scope.clone());
    let settled = billing_store::settle(
        &state.store,
        &scope,
        id,
        settlement,
        policy,
        billing_store::By::User(&actor),
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(settle_error)?;
    Ok(InvoiceView::from(settled))
}

/// Mark an invoice paid (manual payment provider).
#[utoipa::path(
    post,
    path = "/api/invoices/{id}/mark_paid/",
    tag = "invoices",
    description = "Permission: platform super admin (tenant admins 403); `X-Tenant-Id` does not apply, the \
        invoice's id names its tenant. Records a payment received outside the platform: the invoice becomes \
        `paid` (`paid_at` now, `payment_provider` `manual`, the optional `reference`), from `pending` or \
        `failed` only (anything else: 400 `invalid_transition`). When it is the subscription's open invoice, \
        a trial, past-due or incomplete subscription becomes `active` (an expired one is revived for the invoice's \
        period). Audited in the tenant's log (`invoice.mark_paid`, and `subscription.payment` when the \
        subscription moved), marked `via_super_admin`. Calls: `GetItem INVOICEREF#<id>`, the tenant's routing \
        item unless it is the super admin's own, `BatchGetItem` invoice + subscription, one \
        `TransactWriteItems` (invoice `version = :v`, subscription `version = :v`, audit entries).",
    params(("id" = Uuid, Path, description = "Invoice id")),
    request_body(content = Option<MarkPaidRequest>, description = "Optional; may be omitted entirely"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The paid invoice", body = InvoiceView),
        (status = 400, description = "`invalid_transition` (e.g. already paid), `subscription_ended`, or an invalid reference", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a platform super admin", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn mark_paid(
    State(state): State<AppState>,
    admin: SuperAdmin,
    Extension(policy): Extension<BillingPolicy>,
    IdPath(id): IdPath,
    OptionalJson(req): OptionalJson<MarkPaidRequest>,
) -> Result<Json<InvoiceView>, ApiError> {
    let reference = match req.reference.as_deref().map(str::trim) {
        None => None,
        Some(r) if r.is_empty() || r.chars().count() > MAX_REFERENCE_CHARS => {
            return Err(ValidationErrors::field(
                "reference",
                format!("Enter 1 to {MAX_REFERENCE_CHARS} characters."),
            )
            .into())
        }
        Some(r) => Some(r.to_owned()),
    };
    let settlement = Settlement::Paid {
        provider: ManualProvider.name().to_owned(),
        reference,
    };
    settle(&state, &admin, &policy, id, settlement)
        .await
        .map(Json)
}

/// Mark an invoice failed.
#[utoipa::path(
    post,
    path = "/api/invoices/{id}/mark_failed/",
    tag = "invoices",
    description = "Permission: platform super admin (tenant admins 403); `X-Tenant-Id` does not apply. Records \
        a failed collection: `pending` → `failed` only (anything else: 400 `invalid_transition`). The money \
        is still owed: a failed invoice may later be marked paid, and the subscription's grace and expiry \
        keep counting from the due date. Audited (`invoice.mark_failed`, `via_super_admin`). Same calls as \
        `mark_paid`. No body.",
    params(("id" = Uuid, Path, description = "Invoice id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The failed invoice", body = InvoiceView),
        (status = 400, description = "`invalid_transition` (e.g. already paid or failed)", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not a platform super admin", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
    ),
)]
pub(crate) async fn mark_failed(
    State(state): State<AppState>,
    admin: SuperAdmin,
    Extension(policy): Extension<BillingPolicy>,
    IdPath(id): IdPath,
) -> Result<Json<InvoiceView>, ApiError> {
    settle(&state, &admin, &policy, id, Settlement::Failed)
        .await
        .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::records::SubscriptionStatus;
    use shared::store::StoreError;

    #[test]
    fn refusals_are_bad_requests_naming_both_statuses() {
        use shared::billing::InvoiceStatus::{Failed, Paid};
        let e = settle_error(InvoicingError::Rule(BillingError::InvoiceTransition {
            from: Paid,
            to: Failed,
        }));
        assert_eq!(e.status(), 400);
        assert_eq!(e.body()["code"], "invalid_transition");
        assert_eq!(
            e.body()["detail"],
            "An invoice cannot go from paid to failed."
        );
        let e = settle_error(InvoicingError::Rule(BillingError::SubscriptionEnded {
            status: SubscriptionStatus::Cancelled,
        }));
        assert_eq!(
            (e.status().as_u16(), e.body()["code"].as_str()),
            (400, Some("subscription_ended"))
        );
    }

    #[test]
    fn other_failures_keep_their_status_and_hide_internals() {
        assert_eq!(settle_error(InvoicingError::NotFound).status(), 404);
        assert_eq!(settle_error(InvoicingError::Conflict).status(), 409);
        assert_eq!(
            settle_error(InvoicingError::Store(StoreError::Unavailable(
                "down".into()
            )))
            .status(),
            503
        );
        for internal in [
            InvoicingError::Busy,
            InvoicingError::Store(StoreError::Backend("table secret-name missing".into())),
            InvoicingError::Rule(BillingError::MissingPlan {
                plan_id: Uuid::nil(),
            }),
        ] {
            let e = settle_error(internal);
            assert_eq!(e.status(), 500);
            assert_eq!(
                e.body(),
                serde_json::json!({"detail": "A server error occurred.", "code": "internal_error"})
            );
        }
    }
}
