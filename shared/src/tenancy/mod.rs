//! Creating a tenant: the records that must exist together (tenant, slug
//! claim, admin user and credential, system Admin role, trial
//! subscription), written in one transaction. Used by registration, the
//! super-admin tenant API and `devctl superadmin`.
//!
//! `provision` builds and writes those records, `request` is the HTTP body
//! that asks for them, `trial` the terms a trial starts on, and `seed` the
//! plans a fresh installation starts with.

mod provision;
mod request;
mod seed;
mod trial;

pub use provision::{
    build, build_in, provision, provision_error, NewTenant, ProvisionError, Provisioned,
};
pub use request::NewTenantRequest;
pub use seed::default_plans;
pub use trial::{trial_terms, TrialTerms, DEFAULT_TRIAL_DAYS, DEFAULT_TRIAL_MODULES};
