use users::{router, AppState};
use shared::auth::TokenVerifier;
use shared::config::{public_keys_from_env, Config};
use shared::runtime;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_tracing();
    let config = Config::from_env()?;
    // Public keys only: this function verifies tokens, it never signs them.
    let verifier = TokenVerifier::new(&public_keys_from_env()?, &config.tokens)?;
    let state = AppState { store: runtime::store(&config).await, verifier: Arc::new(verifier) };
    runtime::serve(router(state, &config.http)).await
}
