//! The reference for a first answer that reads DynamoDB: hello-lambda's one
//! route, answering after two sequential `GetItem`s, the shape of a
//! function's first request (the tenant's revocation state, then the read),
//! with the functions' AWS set-up. `make coldstart` compares each
//! function's first answer with it, so DynamoDB Local's time counts on both
//! sides and the ratio is what the function's own work adds.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;

#[derive(Clone)]
struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").ok();
    let table = Table {
        client: shared::runtime::dynamodb_client(endpoint.as_deref()),
        name: std::env::var("TABLE_NAME")?,
    };
    let app = Router::new()
        .route("/api/health/", get(health))
        .with_state(table);
    lambda_http::run(app).await
}

async fn health(
    State(table): State<Table>,
) -> Result<Json<BTreeMap<&'static str, &'static str>>, StatusCode> {
    for key in ["REVOCATION", "ITEM"] {
        table
            .client
            .get_item()
            .table_name(&table.name)
            .key("PK", AttributeValue::S(format!("HELLO#{key}")))
            .key("SK", AttributeValue::S(key.to_owned()))
            .send()
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    }
    Ok(Json(BTreeMap::from([("status", "ok")])))
}
