//! Loading the private key that signs tokens: from AWS Secrets Manager
//! (`JWT_SIGNING_SECRET_ID`, needs the `secrets` feature) or, for local
//! development, from a file (`JWT_SIGNING_KEY_FILE`).
//!
//! Only the functions that issue tokens enable `secrets`; the others never
//! link the Secrets Manager SDK.

use super::key_pair::{KeyError, SigningKeyPair};

pub const SIGNING_SECRET_ID_VAR: &str = "JWT_SIGNING_SECRET_ID";
pub const SIGNING_KEY_FILE_VAR: &str = "JWT_SIGNING_KEY_FILE";
/// Endpoint override, for local emulators.
pub const SECRETS_MANAGER_ENDPOINT_VAR: &str = "SECRETS_MANAGER_ENDPOINT";

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("no signing key configured: set JWT_SIGNING_SECRET_ID (Secrets Manager) or JWT_SIGNING_KEY_FILE")]
    NotConfigured,
    #[error("JWT_SIGNING_SECRET_ID is set but this build lacks the `secrets` feature of `shared`")]
    SecretsDisabled,
    #[error("JWT_SIGNING_KEY_FILE {path} could not be read: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("secret {0} does not exist")]
    SecretNotFound(String),
    #[error("secret {0} has no string value")]
    EmptySecret(String),
    #[error("secret {secret_id} could not be read: {reason}")]
    SecretsManager { secret_id: String, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The signing key named by the process environment (empty values count as
/// unset, as in [`crate::config`]).
/// `aws` builds the Secrets Manager client when the key is a secret.
pub async fn signing_key_from_env(
    aws: &aws_types::SdkConfig,
) -> Result<SigningKeyPair, SigningKeyError> {
    signing_key_from_lookup(aws, crate::config::env_var).await
}

/// As [`signing_key_from_env`], reading variables through `get`. The secret
/// id wins over the file when both are set.
pub async fn signing_key_from_lookup(
    aws: &aws_types::SdkConfig,
    get: impl Fn(&str) -> Option<String>,
) -> Result<SigningKeyPair, SigningKeyError> {
    if let Some(secret_id) = get(SIGNING_SECRET_ID_VAR) {
        let endpoint = get(SECRETS_MANAGER_ENDPOINT_VAR);
        return from_secret_id(aws, &secret_id, endpoint.as_deref()).await;
    }
    match get(SIGNING_KEY_FILE_VAR) {
        Some(path) => signing_key_from_file(&path).await,
        None => Err(SigningKeyError::NotConfigured),
    }
}

/// Reads the stored JSON form from a file.
pub async fn signing_key_from_file(path: &str) -> Result<SigningKeyPair, SigningKeyError> {
    let json = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| SigningKeyError::File {
            path: path.to_owned(),
            source,
        })?;
    Ok(SigningKeyPair::from_json(&json)?)
}

#[cfg(feature = "secrets")]
async fn from_secret_id(
    aws: &aws_types::SdkConfig,
    secret_id: &str,
    endpoint: Option<&str>,
) -> Result<SigningKeyPair, SigningKeyError> {
    // Read once per cold start: a client for that one call.
    signing_key_from_secrets_manager(&secrets_manager_client(aws, endpoint), secret_id).await
}

#[cfg(not(feature = "secrets"))]
async fn from_secret_id(
    _aws: &aws_types::SdkConfig,
    _secret_id: &str,
    _endpoint: Option<&str>,
) -> Result<SigningKeyPair, SigningKeyError> {
    Err(SigningKeyError::SecretsDisabled)
}

/// A Secrets Manager client from the process's AWS settings, which bound
/// its time ([`crate::runtime::sdk_config`]): a cold start must not hang on it.
#[cfg(feature = "secrets")]
pub fn secrets_manager_client(
    aws: &aws_types::SdkConfig,
    endpoint: Option<&str>,
) -> aws_sdk_secretsmanager::Client {
    let mut builder = aws_sdk_secretsmanager::config::Builder::from(aws);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_secretsmanager::Client::from_conf(builder.build())
}

/// Reads the stored JSON form from a Secrets Manager secret.
#[cfg(feature = "secrets")]
pub async fn signing_key_from_secrets_manager(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<SigningKeyPair, SigningKeyError> {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;

    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                SigningKeyError::SecretNotFound(secret_id.to_owned())
            } else {
                SigningKeyError::SecretsManager {
                    secret_id: secret_id.to_owned(),
                    reason: DisplayErrorContext(&e).to_string(),
                }
            }
        })?;
    // Stored as a string by our tooling; accept a UTF-8 binary secret too.
    let json = match (out.secret_string(), out.secret_binary()) {
        (Some(s), _) => s.to_owned(),
        (None, Some(b)) => String::from_utf8(b.as_ref().to_vec())
            .map_err(|_| SigningKeyError::EmptySecret(secret_id.to_owned()))?,
        (None, None) => return Err(SigningKeyError::EmptySecret(secret_id.to_owned())),
    };
    Ok(SigningKeyPair::from_json(&json)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::lookup;

    /// Settings no test here reaches AWS with.
    fn no_aws() -> aws_types::SdkConfig {
        aws_types::SdkConfig::builder().build()
    }

    fn temp_file(contents: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("signing-key-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[tokio::test]
    async fn reads_the_key_file() {
        let key = SigningKeyPair::generate("file-key");
        let path = temp_file(&key.to_json().unwrap());
        let loaded = signing_key_from_lookup(
            &no_aws(),
            lookup(&[(SIGNING_KEY_FILE_VAR, path.to_str().unwrap())]),
        )
        .await;
        std::fs::remove_file(&path).unwrap();
        let loaded = loaded.unwrap();
        assert_eq!(loaded.kid(), "file-key");
        assert_eq!(loaded.public_jwk(), key.public_jwk());
    }

    #[tokio::test]
    async fn names_both_variables_when_unconfigured() {
        let err = signing_key_from_lookup(&no_aws(), lookup(&[]))
            .await
            .unwrap_err();
        assert!(matches!(err, SigningKeyError::NotConfigured));
        let msg = err.to_string();
        assert!(
            msg.contains(SIGNING_SECRET_ID_VAR) && msg.contains(SIGNING_KEY_FILE_VAR),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn file_errors_name_the_path_and_never_the_key() {
        let err = signing_key_from_file("/nonexistent/signing-key.json")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/signing-key.json"),
            "{err}"
        );

        let path = temp_file(
            r#"{"kid": "k", "private_key_pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}"#,
        );
        let err = signing_key_from_file(path.to_str().unwrap())
            .await
            .unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(err, SigningKeyError::Key(KeyError::Pem)),
            "{err:?}"
        );
        assert!(!err.to_string().contains("AAAA"));
    }

    #[cfg(not(feature = "secrets"))]
    #[tokio::test]
    async fn secret_id_without_the_feature_is_an_error() {
        let err = signing_key_from_lookup(
            &no_aws(),
            lookup(&[(SIGNING_SECRET_ID_VAR, "s"), (SIGNING_KEY_FILE_VAR, "f")]),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SigningKeyError::SecretsDisabled));
    }
}
