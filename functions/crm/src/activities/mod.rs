//! Activities of leads: `/api/crm/leads/{id}/activities/` and
//! `/api/crm/activities/...`.

pub(crate) mod read;
pub(crate) mod view;
pub(crate) mod write;
