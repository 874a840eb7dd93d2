//! Serves the whole API from one process behind an emulated API Gateway
//! (tests/src/gateway.rs), configured from the environment as the functions
//! are. `make test` runs schemathesis against it (infra/fuzz.sh).
//!
//! Usage: gateway [PORT]   (127.0.0.1, default 9002)
//!
//! Every function's DynamoDB calls are recorded for the IAM check
//! (tests/src/iam.rs), so the fuzzed requests are checked against
//! template.yaml's policies too.

use shared::auth::{signing_key_from_env, TokenSigner};
use shared::config::{public_keys_from_env, Config};
use shared::state::ApiState;
use std::collections::HashMap;
use std::error::Error;
use tests::gateway::{Gateway, Routes};
use tests::iam::function_store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    shared::runtime::init_tracing();
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse()?,
        None => 9002,
    };
    let config = Config::from_env()?;
    let aws = shared::runtime::sdk_config();
    let api = ApiState::from_config(&config, &aws)?;
    let state = |function: &'static str| ApiState {
        store: function_store(&api.store, function),
        verifier: api.verifier.clone(),
    };
    let signer = TokenSigner::new(signing_key_from_env(&aws).await?, config.tokens.clone());
    let auth = auth::state(
        function_store(&api.store, "auth"),
        signer,
        public_keys_from_env().unwrap_or_default(),
        mailer(&aws)?,
    )?;
    let docs = docs::AppState {
        store: function_store(&api.store, "docs"),
    };
    let http = &config.http;
    let functions = HashMap::from([
        ("docs".to_owned(), docs::router(docs, http)),
        ("auth".to_owned(), auth::router(auth, http)),
        ("audit".to_owned(), audit::router(state("audit"), http)),
        ("roles".to_owned(), roles::router(state("roles"), http)),
        (
            "tenants".to_owned(),
            tenants::router(state("tenants"), http),
        ),
        (
            "users".to_owned(),
            users::router(users::AppState::new(state("users"), mailer(&aws)?), http),
        ),
        ("teams".to_owned(), teams::router(state("teams"), http)),
        ("crm".to_owned(), crm::router(state("crm"), http)),
        (
            "plans".to_owned(),
            plans::router_with(state("plans"), http, &config.default_currency),
        ),
        (
            "subscriptions".to_owned(),
            subscriptions::router_with(state("subscriptions"), http, config.billing),
        ),
        (
            "invoices".to_owned(),
            invoices::router_with(state("invoices"), http, config.billing),
        ),
    ]);
    let cargo_toml = std::fs::read_to_string(tests::repo_root().join("Cargo.toml"))?;
    let app = Gateway::new(Routes::from_cargo_toml(&cargo_toml), functions).into_router();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("gateway: the API on http://127.0.0.1:{port}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}

/// The mailer of the functions that send (auth, users): as configured, with an outbox under
/// `.local/run/gateway-mail` unless `EMAIL_OUTBOX_DIR` names another.
fn mailer(
    aws: &aws_config::SdkConfig,
) -> Result<shared::email::Mailer, shared::email::EmailConfigError> {
    let default_outbox = tests::repo_root().join(".local/run/gateway-mail");
    let settings = shared::email::EmailSettings::from_lookup(|k| {
        std::env::var(k).ok().filter(|v| !v.is_empty()).or_else(|| {
            (k == shared::email::OUTBOX_DIR_VAR)
                .then(|| default_outbox.to_string_lossy().into_owned())
        })
    })?;
    shared::email::Mailer::from_settings(&settings, aws)
}
