use docs::{router, AppState};
use shared::config::Config;
use shared::runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_tracing();
    let config = Config::from_env()?;
    let state = AppState {
        store: runtime::store(&config).await,
    };
    runtime::serve(router(state, &config.http)).await
}
