//! `devctl`'s commands that are more than wiring, as a library so the
//! tests crate can drive them against DynamoDB Local.

pub mod django;
