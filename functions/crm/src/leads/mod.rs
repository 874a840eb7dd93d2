//! Leads: `/api/crm/leads/...`.

pub(crate) mod assignment;
pub(crate) mod export;
pub(crate) mod fields;
pub(crate) mod read;
pub(crate) mod view;
pub(crate) mod write;
