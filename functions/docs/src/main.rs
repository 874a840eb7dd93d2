use docs::{router, AppState};
use shared::config::Config;
use shared::runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_tracing();
    let config = Config::from_env()?;
    let aws = runtime::sdk_config().await;
    let state = AppState {
        store: runtime::store(&config, &aws),
    };
    runtime::serve(router(state, &config.http)).await
}
