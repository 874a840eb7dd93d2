//! Reading invoices: the list (a tenant's, or the platform's for super
//! admins) and one invoice.

use crate::view::InvoiceView;
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use shared::auth::{AdministrationBillingView, Require, SuperAdmin};
use shared::billing::InvoiceStatus;
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{
    ApiError, IdPath, ListQuery, PageQuery, Paginated, ValidationErrors, TENANT_HEADER,
};
use shared::keys;
use shared::records::{InvoiceRecord, InvoiceRefRecord};
use shared::store::{Page, PageRequest, TenantScope};
use uuid::Uuid;

/// Filters of the invoices list, combined with AND.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceFilters {
    status: Option<String>,
    tenant: Option<String>,
}

const STATUSES: [InvoiceStatus; 4] = [
    InvoiceStatus::Pending,
    InvoiceStatus::Paid,
    InvoiceStatus::Failed,
    InvoiceStatus::Void,
];

impl InvoiceFilters {
    fn status(&self) -> Result<Option<InvoiceStatus>, ApiError> {
        let Some(raw) = self.status.as_deref() else {
            return Ok(None);
        };
        let raw = raw.trim();
        STATUSES
            .into_iter()
            .find(|s| s.as_str() == raw)
            .map(Some)
            .ok_or_else(|| {
                ValidationErrors::field(
                    "status",
                    format!("\"{raw}\" is not a valid choice: pending, paid, failed or void."),
                )
                .into()
            })
    }

    fn tenant(&self) -> Result<Option<Uuid>, ApiError> {
        match self.tenant.as_deref() {
            None => Ok(None),
            Some(raw) => Uuid::parse_str(raw.trim()).map(Some).map_err(|_| {
                ValidationErrors::field("tenant", "Must be a tenant id (UUID).").into()
            }),
        }
    }
}

/// Invoices: the tenant's own for tenant admins, every tenant's for super
/// admins.
#[utoipa::path(
    get,
    path = "/api/invoices/",
    tag = "invoices",
    description = "Permission: `administration.billing.view` (super admins pass; `X-Tenant-Id` moves only them). A tenant admin gets their tenant's invoices, newest first \
        (`Query PK=TENANT#<tid> AND begins_with(SK, \"INVOICE#\")` backwards; invoice ids are UUIDv7). \
        A super admin without `X-Tenant-Id` gets every tenant's, newest first (`Query` on GSI1 `INVOICES`); \
        tenants pinned to a dedicated table keep their index entries in that table and are reached with \
        `tenant=` or `X-Tenant-Id`. `tenant=<id>` (super admins) reads that tenant's partition instead \
        (`GetItem` of its routing item when it is not their own, then the partition query); for anyone else \
        a `tenant` other than the one acted in matches nothing. With `X-Tenant-Id`, a super admin gets that \
        tenant's invoices. `status` filters within the query. Cursor pagination (`cursor`, `page_size` ≤ 100); \
        unknown parameters answer 400.",
    params(
        ("status" = Option<shared::billing::InvoiceStatus>, Query, description = "Only invoices in this status: `pending`, `paid`, `failed`, `void`"),
        ("tenant" = Option<Uuid>, Query, description = "Super admins: only this tenant's invoices"),
        ("cursor" = Option<String>, Query, description = "Opaque cursor from `next` or `previous`"),
        ("page_size" = Option<u16>, Query, description = "1–100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of invoices, newest first", body = Paginated<InvoiceView>),
        (status = 400, description = "Invalid or unknown filter", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.view`", body = ErrorBody),
        (status = 404, description = "`X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn list_invoices(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationBillingView>,
    super_admin: Result<SuperAdmin, ApiError>,
    headers: HeaderMap,
    ListQuery(filters): ListQuery<InvoiceFilters>,
    page: PageQuery,
) -> Result<Json<Paginated<InvoiceView>>, ApiError> {
    let status = filters.status()?;
    let tenant = filters.tenant()?;
    let mut request =
        PageRequest::new(page.page_size, page.cursor.clone(), "invoices").descending();
    if let Some(status) = status {
        request = request.where_eq("status", status.as_str());
    }
    // A super admin without the header lists platform-wide.
    let platform = super_admin
        .ok()
        .filter(|_| !headers.contains_key(TENANT_HEADER));
    let scope: TenantScope = match (platform, tenant) {
        (Some(_), None) => {
            let invoices = state
                .store
                .platform()
                .query_index::<InvoiceRecord>(keys::invoices_index_pk(), &request)
                .await?;
            return Ok(Json(page.respond(invoices, InvoiceView::from)));
        }
        (Some(admin), Some(tenant)) => admin.scope_for(tenant).await?,
        (None, Some(tenant)) if tenant != actor.scope().tenant_id() => {
            return Ok(Json(page.respond(
                Page::<InvoiceRecord> {
                    items: Vec::new(),
                    next: None,
                    previous: None,
                },
                InvoiceView::from,
            )));
        }
        (None, _) => actor.scope().clone(),
    };
    let invoices = state
        .store
        .tenant(&scope)
        .query::<InvoiceRecord>(&keys::invoices(), &request)
        .await?;
    Ok(Json(page.respond(invoices, InvoiceView::from)))
}

/// One invoice.
#[utoipa::path(
    get,
    path = "/api/invoices/{id}/",
    tag = "invoices",
    description = "Permission: `administration.billing.view` (super admins pass; `X-Tenant-Id` moves only them), for their own tenant's \
        invoices (`GetItem INVOICE#<id>`; another tenant's id is 404). Super admins: any invoice (`GetItem INVOICEREF#<id>` for its tenant, the tenant's \
        routing item if it is not their own, then `GetItem INVOICE#<id>` in the tenant's table); with \
        `X-Tenant-Id`, only that tenant's.",
    params(("id" = Uuid, Path, description = "Invoice id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The invoice", body = InvoiceView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `administration.billing.view`", body = ErrorBody),
        (status = 404, description = "No such invoice (or another tenant's), or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn get_invoice(
    State(state): State<AppState>,
    Require(actor, _): Require<AdministrationBillingView>,
    super_admin: Result<SuperAdmin, ApiError>,
    headers: HeaderMap,
    IdPath(id): IdPath,
) -> Result<Json<InvoiceView>, ApiError> {
    let scope = match super_admin {
        Ok(admin) if !headers.contains_key(TENANT_HEADER) => tenant_of(&state, &admin, id).await?,
        _ => actor.scope().clone(),
    };
    let invoice: InvoiceRecord = state
        .store
        .tenant(&scope)
        .get(&keys::invoice(id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(InvoiceView::from(invoice)))
}

/// The scope of the tenant an invoice belongs to, for a super admin: its
/// platform-wide `INVOICEREF#` item, then the tenant's routing item (unless
/// it is the super admin's own tenant).
pub(crate) async fn tenant_of(
    state: &AppState,
    admin: &SuperAdmin,
    invoice_id: Uuid,
) -> Result<TenantScope, ApiError> {
    let found: InvoiceRefRecord = state
        .store
        .platform()
        .get(&keys::invoice_ref(invoice_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(admin.scope_for(found.tenant_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(status: Option<&str>, tenant: Option<&str>) -> InvoiceFilters {
        InvoiceFilters {
            status: status.map(Into::into),
            tenant: tenant.map(Into::into),
        }
    }

    #[test]
    fn filters_name_the_offending_parameter() {
        assert_eq!(
            filters(Some("paid"), None).status().unwrap(),
            Some(InvoiceStatus::Paid)
        );
        assert_eq!(filters(None, None).status().unwrap(), None);
        let e = filters(Some("settled"), None).status().unwrap_err();
        assert!(e.body()["status"].is_array(), "{}", e.body());
        let e = filters(None, Some("acme")).tenant().unwrap_err();
        assert!(e.body()["tenant"].is_array(), "{}", e.body());
        let id = Uuid::now_v7();
        assert_eq!(
            filters(None, Some(&id.to_string())).tenant().unwrap(),
            Some(id)
        );
    }

    #[test]
    fn every_status_is_a_choice() {
        for status in STATUSES {
            assert_eq!(
                filters(Some(status.as_str()), None).status().unwrap(),
                Some(status)
            );
        }
    }
}
