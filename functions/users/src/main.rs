use shared::config::Config;
use shared::email::{EmailSettings, Mailer};
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
    // One AWS configuration for every client of this process.
    let aws = runtime::sdk_config();
    let api = ApiState::from_config(&config, &aws)?;
    // SES, or the local outbox with EMAIL_OUTBOX_DIR (make dev).
    let mailer = Mailer::from_settings(&EmailSettings::from_env()?, &aws)?;
    runtime::serve(users::router(
        users::AppState::new(api, mailer),
        &config.http,
    ))
    .await
}
