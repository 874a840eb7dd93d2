//! Code shared by every Lambda function: claims and tokens, the permission
//! engine, the tenant-scoped DynamoDB store and the HTTP conventions.

pub mod audit;
pub mod auth;
pub mod billing;
pub mod billing_store;
pub mod config;
pub mod email;
pub mod entity;
pub mod http;
pub mod invitations;
pub mod keys;
pub mod membership;
pub mod money;
pub mod permissions;
pub mod records;
pub mod report;
pub mod revocation;
pub mod runtime;
pub mod scope;
pub mod state;
pub mod store;
pub mod superadmins;
pub mod tenancy;
pub mod throttle;
pub mod validate;
pub mod views;

#[cfg(test)]
mod test_support;
