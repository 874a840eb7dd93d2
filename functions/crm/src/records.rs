//! The CRM's stored records and their keys, in the `CRM#` namespace of the
//! tenant's partition (see `docs/data-model.md`).
//!
//! A lead is indexed by owner and by team (`Ownership`), so that lists under
//! the `own` and `team` scopes read only what they return, and has two more
//! orders inside the partition: by name (GSI2) and by value (GSI4).
//! Activities sort by lead (GSI2), so a lead's activities are one query.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared::entity::Ownership;
use shared::keys::{self, Key, SortKeyPrefix};
use shared::store::Entity;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Kinds of CRM item, typing their keys.
pub mod kind {
    /// A lead (`LeadRecord`).
    pub enum Lead {}
    /// An activity (`ActivityRecord`).
    pub enum Activity {}
}

const LEAD: &str = "CRM#LEAD";
const ACTIVITY: &str = "CRM#ACTIVITY";
/// GSI2 prefixes: leads by lower-cased name, activities by lead.
pub const LEADS_BY_NAME: &str = "CRM#LEADNAME#";
pub const LEADS_BY_VALUE: &str = "CRM#LEADVALUE#";
const ACTIVITIES_OF: &str = "CRM#LEADACTIVITY#";

/// The collection lead index entries are named by.
pub const LEAD_COLLECTION: &str = LEAD;

pub fn lead(id: Uuid) -> Key<kind::Lead> {
    keys::module_item(LEAD, id)
}

pub fn leads() -> SortKeyPrefix {
    keys::module_items(LEAD)
}

pub fn activity(id: Uuid) -> Key<kind::Activity> {
    keys::module_item(ACTIVITY, id)
}

/// GSI2 prefix of one lead's activities.
pub fn activities_of(lead_id: Uuid) -> String {
    format!("{ACTIVITIES_OF}{lead_id}#")
}

/// Lower-cased name, email and company written with every lead, matched
/// by the list's `search`.
pub const NAME_LC: &str = "name_lc";
pub const EMAIL_LC: &str = "email_lc";
pub const COMPANY_LC: &str = "company_lc";

/// Where a lead stands in the sales pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeadStatus {
    #[default]
    New,
    Contacted,
    Qualified,
    Proposal,
    Won,
    Lost,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 6] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Proposal,
        LeadStatus::Won,
        LeadStatus::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Proposal => "proposal",
            LeadStatus::Won => "won",
            LeadStatus::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadRecord {
    pub id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub status: LeadStatus,
    /// Exact, two decimals, never negative.
    #[serde(with = "rust_decimal::serde::str")]
    pub value: Decimal,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub owner_id: Uuid,
    /// The owner's email when the lead was last assigned (shown in lists
    /// without reading every owner).
    pub owner_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<Uuid>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

impl Entity for LeadRecord {
    const ENTITY: &'static str = "crm_lead";
    type Kind = kind::Lead;

    fn ownership(&self) -> Option<Ownership> {
        Some(Ownership {
            collection: LEAD_COLLECTION,
            owner_id: Some(self.owner_id),
            team_id: self.team_id,
        })
    }

    fn alt_sort_key(&self) -> Option<String> {
        Some(format!(
            "{LEADS_BY_NAME}{}#{}",
            self.name.to_lowercase(),
            self.id
        ))
    }

    fn second_alt_sort_key(&self) -> Option<String> {
        Some(format!(
            "{LEADS_BY_VALUE}{}#{}",
            sortable_value(self.value),
            self.id
        ))
    }

    fn derived_attributes(&self) -> Vec<(&'static str, String)> {
        let mut derived = vec![(NAME_LC, self.name.to_lowercase())];
        if let Some(email) = &self.email {
            derived.push((EMAIL_LC, email.to_lowercase()));
        }
        if let Some(company) = &self.company {
            derived.push((COMPANY_LC, company.to_lowercase()));
        }
        derived
    }
}

/// A non-negative amount of at most 10 integer digits and two decimals as
/// 12 digits of cents, so that string order is numeric order.
pub fn sortable_value(value: Decimal) -> String {
    let cents = (value * Decimal::ONE_HUNDRED).trunc();
    format!("{:0>12}", cents.to_string())
}

/// What an activity records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActivityType {
    Call,
    Email,
    Meeting,
    Note,
    Whatsapp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub id: Uuid,
    pub lead_id: Uuid,
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub summary: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<OffsetDateTime>,
    pub done: bool,
    pub owner_id: Uuid,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

impl Entity for ActivityRecord {
    const ENTITY: &'static str = "crm_activity";
    type Kind = kind::Activity;

    fn alt_sort_key(&self) -> Option<String> {
        Some(format!("{}{}", activities_of(self.lead_id), self.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_sort_as_numbers() {
        let v = |s: &str| sortable_value(s.parse().unwrap());
        assert_eq!(v("0.00"), "000000000000");
        assert_eq!(v("49.50"), "000000004950");
        assert_eq!(v("9999999999.99"), "999999999999");
        assert!(v("9.99") < v("10.00"));
    }

    #[test]
    fn keys_live_in_the_crm_namespace() {
        let id = Uuid::nil();
        assert_eq!(lead(id).as_str(), format!("CRM#LEAD#{id}"));
        assert_eq!(leads().as_str(), "CRM#LEAD#");
        assert_eq!(activity(id).as_str(), format!("CRM#ACTIVITY#{id}"));
        // The lead prefix does not select activities or name entries.
        assert!(!activity(id).as_str().starts_with(leads().as_str()));
    }
}
