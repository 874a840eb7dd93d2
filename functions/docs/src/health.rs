use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use shared::http::ApiError;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok` when the answer is 200.
    status: &'static str,
    /// DynamoDB answered.
    dynamodb: &'static str,
}

/// Reports whether the API and its table are reachable.
#[utoipa::path(
    get,
    path = "/api/health/",
    tag = "docs",
    description = "Public. 200 when the table answers, 503 otherwise.",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "DynamoDB unreachable"),
    ),
)]
pub(crate) async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: "ok",
        dynamodb: "ok",
    }))
}
