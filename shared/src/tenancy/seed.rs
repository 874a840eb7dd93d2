//! The plans a fresh installation starts with.

use super::trial::{DEFAULT_TRIAL_DAYS, DEFAULT_TRIAL_MODULES};
use crate::permissions::Module;
use crate::records::PlanRecord;
use time::OffsetDateTime;
use uuid::Uuid;

/// The plans a fresh installation starts with (seeded locally by `devctl
/// seed`): a 14-day trial and two paid plans. Fixed ids keep seeding
/// idempotent.
pub fn default_plans(now: OffsetDateTime) -> Vec<PlanRecord> {
    use rust_decimal::Decimal;
    let plan = |id: u128,
                name: &str,
                slug: &str,
                monthly: i64,
                yearly: i64,
                users: Option<u32>,
                leads: Option<u32>,
                storage: Option<u32>,
                modules: &[Module],
                is_trial: bool,
                order: i32| PlanRecord {
        id: Uuid::from_u128(id),
        name: name.into(),
        slug: slug.into(),
        description: format!("{name} plan"),
        price_monthly: Decimal::new(monthly * 100, 2),
        price_yearly: Decimal::new(yearly * 100, 2),
        currency: "USD".into(),
        max_users: users,
        max_leads: leads,
        storage_gb: storage,
        included_modules: modules.to_vec(),
        features: Vec::new(),
        is_trial,
        trial_days: if is_trial { DEFAULT_TRIAL_DAYS } else { 0 },
        is_active: true,
        sort_order: order,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    vec![
        plan(
            0x7a1a1,
            "Trial",
            "trial",
            0,
            0,
            Some(5),
            Some(500),
            Some(1),
            &DEFAULT_TRIAL_MODULES,
            true,
            0,
        ),
        plan(
            0x57a27,
            "Starter",
            "starter",
            29,
            290,
            Some(10),
            Some(5_000),
            Some(10),
            &DEFAULT_TRIAL_MODULES,
            false,
            10,
        ),
        plan(
            0x960f,
            "Professional",
            "professional",
            99,
            990,
            None,
            None,
            Some(100),
            &Module::ALL,
            false,
            20,
        ),
    ]
}
