//! Integration tests: each drives real code against DynamoDB Local, with a
//! fresh table per test so they run in parallel.

mod audit;
mod auth;
mod client_input;
mod crm;
mod crm_limits;
mod dedicated;
mod django_import;
mod docs_function;
mod drf;
mod email;
mod escalation;
mod infrastructure;
mod invitations;
mod invoices;
mod layout;
mod lists;
mod matrix;
mod openapi;
mod plans;
mod reset;
mod revocation;
mod roles;
mod round_trips;
mod scheduler;
mod secrets;
mod sessions;
mod store;
mod subscriptions;
mod superadmins;
mod teams;
mod templates;
mod tenants;
mod tokens;
mod users;
mod verify;
