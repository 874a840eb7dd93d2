use shared::config::Config;
use shared::runtime;
use shared::state::ApiState;

// About a quarter less time per request than the system allocator
// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), lambda_http::Error> {
    runtime::block_on(run())
}

async fn run() -> Result<(), lambda_http::Error> {
    runtime::init_tracing();
    let config = Config::from_env()?;
    let aws = runtime::sdk_config();
    let state = ApiState::from_config(&config, &aws)?;
    runtime::serve(subscriptions::router_with(
        state,
        &config.http,
        config.billing,
    ))
    .await
}
