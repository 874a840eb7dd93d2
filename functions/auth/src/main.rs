use shared::auth::{signing_key_from_env, TokenSigner};
use shared::config::{public_keys_from_env, Config};
use shared::email::{EmailSettings, Mailer};
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
    // One AWS configuration for every client of this process.
    let aws = runtime::sdk_config();
    // The private key is read once per cold start; only this function may.
    let key = signing_key_from_env(&aws).await?;
    // Other keys still valid during a rotation; our own key is added.
    let jwks = public_keys_from_env().unwrap_or_default();
    let signer = TokenSigner::new(key, config.tokens.clone());
    // SES, or the local outbox with EMAIL_OUTBOX_DIR (make dev).
    let mailer = Mailer::from_settings(&EmailSettings::from_env()?, &aws)?;
    let state = auth::state(runtime::store(&config, &aws), signer, jwks, mailer)?;
    runtime::serve(auth::router(state, &config.http)).await
}
