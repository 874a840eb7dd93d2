use docs::{router, AppState};
use shared::config::Config;
use shared::runtime;

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
    let state = AppState {
        store: runtime::store(&config, &aws),
    };
    runtime::serve(router(state, &config.http)).await
}
