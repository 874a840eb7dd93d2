//! The state most functions share: the store and the token verifier.

use crate::auth::TokenVerifier;
use crate::config::{public_keys_from_env, Config};
use crate::store::Store;
use axum::extract::FromRef;
use std::sync::Arc;

/// What a function that reads tokens and the table needs.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub verifier: Arc<TokenVerifier>,
}

impl FromRef<ApiState> for Arc<TokenVerifier> {
    fn from_ref(state: &ApiState) -> Self {
        state.verifier.clone()
    }
}

/// The extractors resolve a super admin's `X-Tenant-Id` through the store.
impl FromRef<ApiState> for Store {
    fn from_ref(state: &ApiState) -> Self {
        state.store.clone()
    }
}

impl ApiState {
    /// Built once per cold start: the DynamoDB client, and the public keys
    /// from configuration (such functions never read the signing secret).
    pub fn from_config(
        config: &Config,
        aws: &aws_types::SdkConfig,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let verifier = TokenVerifier::new(&public_keys_from_env()?, &config.tokens)?;
        Ok(Self {
            store: crate::runtime::store(config, aws),
            verifier: Arc::new(verifier),
        })
    }
}
