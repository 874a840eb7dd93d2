use shared::config::Config;
use shared::runtime;
use shared::state::ApiState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_tracing();
    let config = Config::from_env()?;
    let aws = runtime::sdk_config().await;
    let state = ApiState::from_config(&config, &aws)?;
    runtime::serve(tenants::router(state, &config.http)).await
}
