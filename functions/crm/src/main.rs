use shared::config::Config;
use shared::runtime;
use shared::state::ApiState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_tracing();
    let config = Config::from_env()?;
    let state = ApiState::from_config(&config).await?;
    runtime::serve(crm::router(state, &config.http)).await
}
