//! A lead's writable fields as `POST`, `PUT` and `PATCH` take them, and
//! their checks (all field errors at once, as DRF reports them).

use crate::records::LeadStatus;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use shared::http::ValidationErrors;
use shared::money::parse_money;
use shared::validate;
use utoipa::ToSchema;
use uuid::Uuid;

pub const DEFAULT_CURRENCY: &str = "INR";
const MAX_NAME: usize = 200;
const MAX_COMPANY: usize = 200;
const MAX_PHONE: usize = 50;
const MAX_SOURCE: usize = 100;
const MAX_NOTES: usize = 5000;
const MAX_TAGS: usize = 20;
const MAX_TAG: usize = 50;

/// A lead as `POST` creates it and `PUT` replaces it. `owner_id` and
/// `team_id` follow the assignment rules (see `POST .../assign/`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    /// 1–200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( ) .`; at most 50 characters.
    #[serde(default)]
    #[schema(max_length = 50)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub company: Option<String>,
    /// Default `new`.
    #[serde(default)]
    pub status: Option<LeadStatus>,
    /// A string with at most two decimals (`"1500.00"`) or a whole number;
    /// default `"0.00"`.
    #[serde(default)]
    #[schema(schema_with = shared::money::money_input)]
    pub value: Option<Value>,
    /// ISO 4217, three capital letters; default `INR`.
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub source: Option<String>,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
    /// At most 20 tags of 1–50 characters; stored lower-cased, without
    /// duplicates.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
    /// Default: the caller.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub team_id: Option<Uuid>,
}

/// A partial change (`PATCH`): absent fields are kept; `null` clears an
/// optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>, max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub company: Option<Option<String>>,
    pub status: Option<LeadStatus>,
    #[schema(schema_with = shared::money::money_patch)]
    pub value: Option<Value>,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub notes: Option<Option<String>>,
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
    pub owner_id: Option<Uuid>,
    /// `null` takes the lead out of its team.
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub team_id: Option<Option<Uuid>>,
}

impl From<LeadInput> for LeadPatch {
    /// `PUT` replaces every field: absent optional fields are cleared or
    /// take their defaults; an absent owner stays the current one.
    fn from(i: LeadInput) -> Self {
        Self {
            name: Some(i.name),
            email: Some(i.email),
            phone: Some(i.phone),
            company: Some(i.company),
            status: Some(i.status.unwrap_or_default()),
            value: Some(i.value.unwrap_or(Value::String("0.00".into()))),
            currency: Some(i.currency.unwrap_or_else(|| DEFAULT_CURRENCY.into())),
            source: Some(i.source),
            notes: Some(i.notes),
            tags: Some(i.tags.unwrap_or_default()),
            owner_id: i.owner_id,
            team_id: Some(i.team_id),
        }
    }
}

/// The checked values of a patch; `None`: keep.
#[derive(Debug, Default)]
pub struct Checked {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub status: Option<LeadStatus>,
    pub value: Option<Decimal>,
    pub currency: Option<String>,
    pub source: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Option<Uuid>>,
}

/// An optional text: trimmed, empty is none (DynamoDB stores no empty
/// strings), at most `max` characters.
fn text(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<String>,
    max: usize,
) -> Option<String> {
    let text = validate::optional_name(errors, field, raw.as_deref(), max);
    (!text.is_empty()).then_some(text)
}

pub fn check(patch: LeadPatch) -> Result<Checked, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let name = patch
        .name
        .map(|n| validate::name(&mut errors, "name", &n, MAX_NAME));
    let email = patch.email.map(|e| {
        e.map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .map(|e| validate::email(&mut errors, "email", &e))
    });
    let phone = patch.phone.map(|p| {
        let phone = text(&mut errors, "phone", p, MAX_PHONE);
        let valid = |p: &str| {
            p.chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
                && p.chars().any(|c| c.is_ascii_digit())
        };
        if phone.as_deref().is_some_and(|p| !valid(p)) {
            errors.add(
                "phone",
                "Enter a phone number: digits, spaces and + - ( ) .",
            );
        }
        phone
    });
    let company = patch
        .company
        .map(|c| text(&mut errors, "company", c, MAX_COMPANY));
    let value = patch.value.and_then(|v| match parse_money(&v) {
        Ok(amount) => Some(amount),
        Err(message) => {
            errors.add("value", message);
            None
        }
    });
    let currency = patch.currency.map(|c| {
        let c = c.trim().to_owned();
        if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
            errors.add("currency", "Enter an ISO 4217 code: three capital letters.");
        }
        c
    });
    let source = patch
        .source
        .map(|s| text(&mut errors, "source", s, MAX_SOURCE));
    let notes = patch
        .notes
        .map(|n| text(&mut errors, "notes", n, MAX_NOTES));
    let tags = patch.tags.map(|tags| {
        if tags.len() > MAX_TAGS {
            errors.add(
                "tags",
                format!("Ensure this list has no more than {MAX_TAGS} tags."),
            );
        }
        let mut clean: Vec<String> = Vec::new();
        for tag in tags {
            let tag = tag.trim().to_lowercase();
            if tag.is_empty() || tag.chars().count() > MAX_TAG {
                errors.add("tags", format!("Each tag has 1 to {MAX_TAG} characters."));
            } else if !clean.contains(&tag) {
                clean.push(tag);
            }
        }
        clean
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        name,
        email,
        phone,
        company,
        status: patch.status,
        value,
        currency,
        source,
        notes,
        tags,
        owner_id: patch.owner_id,
        team_id: patch.team_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(v: Value) -> LeadPatch {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let e = check(patch(json!({
            "name": " ", "email": "nope", "phone": "call me", "value": 1.5,
            "currency": "inr", "tags": ["", "x"]
        })))
        .unwrap_err();
        let fields: Vec<&str> = e.fields().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["currency", "email", "name", "phone", "tags", "value"]
        );
    }

    #[test]
    fn texts_are_trimmed_and_empty_is_none() {
        let c = check(patch(json!({
            "name": " Acme ", "company": "  ", "email": " A@Example.com ",
            "tags": ["VIP", "vip", " hot "], "value": "1500.5"
        })))
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("Acme"));
        assert_eq!(c.company, Some(None));
        assert_eq!(c.email, Some(Some("a@example.com".into())));
        assert_eq!(c.tags, Some(vec!["vip".to_owned(), "hot".to_owned()]));
        assert_eq!(c.value.map(|v| v.to_string()).as_deref(), Some("1500.50"));
    }
}
