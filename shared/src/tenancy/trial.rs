//! Trial terms: what a new tenant's trial grants, from the active trial
//! plan or the defaults.

use crate::keys;
use crate::permissions::Module;
use crate::records::PlanRecord;
use crate::store::{PageRequest, Store, StoreError};
use uuid::Uuid;

/// What a trial grants when no trial plan is configured: 14 days with
/// CRM, WhatsApp and Meetings. Documented in the README.
pub const DEFAULT_TRIAL_DAYS: u32 = 14;
pub const DEFAULT_TRIAL_MODULES: [Module; 3] = [Module::Crm, Module::Whatsapp, Module::Meetings];

/// The terms a new tenant's trial starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialTerms {
    pub plan_id: Option<Uuid>,
    pub trial_days: u32,
    pub modules: Vec<Module>,
}

impl TrialTerms {
    pub fn from_plan(plan: &PlanRecord) -> Self {
        Self {
            plan_id: Some(plan.id),
            trial_days: plan.trial_days,
            modules: plan.included_modules.clone(),
        }
    }

    pub fn default_trial() -> Self {
        Self {
            plan_id: None,
            trial_days: DEFAULT_TRIAL_DAYS,
            modules: DEFAULT_TRIAL_MODULES.to_vec(),
        }
    }
}

/// The active trial plan (lowest sort order), or the default terms. One
/// query on GSI1 unless many plans come before it.
pub async fn trial_terms(store: &Store) -> Result<TrialTerms, StoreError> {
    let mut cursor = None;
    // A whole catalogue in one call, usually; a page may still come back
    // empty yet link onwards.
    loop {
        let page = PageRequest::new(100, cursor, "trial-plan")
            .where_is("is_trial", true)
            .where_is("is_active", true);
        let plans = store
            .platform()
            .query_index::<PlanRecord>(keys::plans_index_pk(), &page)
            .await?;
        if let Some(plan) = plans.items.first() {
            return Ok(TrialTerms::from_plan(plan));
        }
        match plans.next {
            Some(next) => cursor = Some(next),
            None => return Ok(TrialTerms::default_trial()),
        }
    }
}
