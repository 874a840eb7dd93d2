//! The Django original's `manage.py dumpdata accounts tenants billing`
//! output, read as typed entries. Only the fields the import uses are
//! named; others are ignored.

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// One `{"model": ..., "pk": ..., "fields": {...}}` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub model: String,
    pub pk: Value,
    #[serde(default)]
    pub fields: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tenant {
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub enabled_modules: Vec<String>,
    #[serde(default)]
    pub settings: Value,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub trial_ends_at: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub password: String,
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub tenant: Option<Uuid>,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub is_super_admin: bool,
    #[serde(default)]
    pub profile_picture: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub preferences: Value,
    pub date_joined: String,
    #[serde(default)]
    pub roles: Vec<Uuid>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    pub tenant: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Value,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub created_by: Option<Uuid>,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
    pub price_monthly: Decimal,
    pub price_yearly: Decimal,
    #[serde(default = "inr")]
    pub currency: String,
    #[serde(default)]
    pub max_users: Option<u32>,
    #[serde(default)]
    pub max_leads: Option<u32>,
    #[serde(default)]
    pub storage_gb: Option<u32>,
    #[serde(default)]
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
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub tenant: Uuid,
    #[serde(default)]
    pub plan: Option<Uuid>,
    pub status: String,
    pub billing_cycle: String,
    pub current_period_start: String,
    pub current_period_end: String,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    pub tenant: Uuid,
    #[serde(default)]
    pub subscription: Option<Uuid>,
    pub invoice_number: String,
    pub amount: Decimal,
    #[serde(default = "inr")]
    pub currency: String,
    pub status: String,
    pub due_date: String,
    #[serde(default)]
    pub paid_at: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn yes() -> bool {
    true
}

fn inr() -> String {
    "INR".into()
}

/// Reads a dump: a JSON array of entries.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    serde_json::from_str(text).map_err(|e| format!("not a dumpdata JSON array: {e}"))
}

impl Entry {
    /// The primary key as a UUID (the original's models all use UUIDs).
    pub fn id(&self) -> Result<Uuid, String> {
        self.pk
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| format!("{} {}: the pk is not a UUID", self.model, self.pk))
    }

    /// The fields as the model's type.
    pub fn fields<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_value(self.fields.clone())
            .map_err(|e| format!("{} {}: {e}", self.model, self.pk))
    }
}

/// A Django `DateTimeField` (`2024-01-15T10:30:00.123Z`) or `DateField`
/// (`2024-01-15`, read as midnight UTC).
pub fn instant(text: &str) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| format!("{text:?} is not an ISO 8601 date or time"))
}

/// [`instant`] of an optional field.
pub fn maybe_instant(text: Option<&str>) -> Result<Option<OffsetDateTime>, String> {
    text.map(instant).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_times_and_dates_parse() {
        assert_eq!(
            instant("2024-01-15T10:30:00.123Z").unwrap(),
            time::macros::datetime!(2024-01-15 10:30:00.123 UTC)
        );
        assert_eq!(
            instant("2024-02-01").unwrap(),
            time::macros::datetime!(2024-02-01 00:00 UTC)
        );
        assert!(instant("yesterday").is_err());
        assert_eq!(maybe_instant(None).unwrap(), None);
    }

    #[test]
    fn entries_read_with_their_fields() {
        let entries = parse(
            r#"[{"model": "billing.invoice", "pk": "6f1c1c1e-0000-4000-8000-000000000001",
                 "fields": {"tenant": "6f1c1c1e-0000-4000-8000-000000000002", "invoice_number": "INV-000007",
                            "amount": "29.00", "status": "PAID", "due_date": "2024-02-01",
                            "created_at": "2024-01-01T00:00:00Z", "extra": 1}}]"#,
        )
        .unwrap();
        let invoice: Invoice = entries[0].fields().unwrap();
        assert_eq!(invoice.amount, Decimal::new(2900, 2));
        assert_eq!(invoice.currency, "INR");
        assert!(entries[0].id().is_ok());
        assert!(parse("{}").is_err());
    }
}
