//! Integration tests: each drives real code against DynamoDB Local, with a
//! fresh table per test so they run in parallel.

mod audit;
mod auth;
mod docs_function;
mod infrastructure;
mod openapi;
mod roles;
mod store;
mod tenants;
mod users;
mod tokens;
mod secrets;
