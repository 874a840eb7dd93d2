//! What every function would cost with no work of its own: the same runtime
//! crates, one route. `make coldstart` compares each function with it.

use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = Router::new().route(
        "/api/health/",
        get(|| async { Json(BTreeMap::from([("status", "ok")])) }),
    );
    lambda_http::run(app).await
}
