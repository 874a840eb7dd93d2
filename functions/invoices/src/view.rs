use serde::Serialize;
use shared::billing::InvoiceStatus;
use shared::money::format_money;
use shared::records::InvoiceRecord;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// An invoice as the API shows it. Money is an exact decimal string with
/// two decimals (`"49.00"`), never a JSON number.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    /// The tenant's id.
    pub tenant: Uuid,
    /// The subscription's id.
    pub subscription: Uuid,
    /// `INV-<year>-<6 digits>`, gap-free per year.
    #[schema(example = "INV-2026-000042")]
    pub invoice_number: String,
    #[schema(example = "49.00")]
    pub amount: String,
    /// ISO 4217 code.
    #[schema(example = "USD")]
    pub currency: String,
    pub status: InvoiceStatus,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub period_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub period_end: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub due_date: OffsetDateTime,
    /// When it was marked paid; null unless `paid`.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub paid_at: Option<OffsetDateTime>,
    /// Who collected the money (`manual`: marked paid through this API).
    pub payment_provider: Option<String>,
    /// The provider's reference (for `manual`, what the super admin entered).
    pub payment_reference: Option<String>,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<InvoiceRecord> for InvoiceView {
    fn from(i: InvoiceRecord) -> Self {
        Self {
            id: i.id,
            tenant: i.tenant_id,
            subscription: i.subscription_id,
            invoice_number: i.invoice_number,
            amount: format_money(i.amount),
            currency: i.currency,
            status: i.status,
            period_start: i.period_start,
            period_end: i.period_end,
            due_date: i.due_date,
            paid_at: i.paid_at,
            payment_provider: i.payment_provider,
            payment_reference: i.payment_reference,
            created_at: i.created_at,
        }
    }
}
