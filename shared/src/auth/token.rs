//! Signing and verifying tokens: EdDSA only, `kid` in the header, issuer,
//! audience, expiry, not-before and token type all checked.

use super::claims::{Claims, TokenType};
use super::keys::{Jwks, KeyError, SigningKeyPair};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use std::collections::HashMap;

/// Token lifetimes and the names tokens are bound to.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: "saas-platform".into(),
            audience: "saas-platform-api".into(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 7 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed, forged or not ours")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token is not an {0:?} token")]
    WrongType(TokenType),
    #[error("token could not be signed: {0}")]
    Signing(String),
}

pub struct TokenSigner {
    key: SigningKeyPair,
    settings: TokenSettings,
}

impl TokenSigner {
    pub fn new(key: SigningKeyPair, settings: TokenSettings) -> Self {
        Self { key, settings }
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn key(&self) -> &SigningKeyPair {
        &self.key
    }

    /// Signs claims as they are; callers fill `iss`, `aud` and times from
    /// [`TokenSettings`].
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key.kid().to_owned());
        jsonwebtoken::encode(&header, claims, self.key.encoding_key()).map_err(|e| TokenError::Signing(e.to_string()))
    }
}

pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier").field("kids", &self.keys.keys().collect::<Vec<_>>()).finish()
    }
}

impl TokenVerifier {
    pub fn new(jwks: &Jwks, settings: &TokenSettings) -> Result<Self, KeyError> {
        // Pinned to EdDSA: `alg: none` and HS256-with-the-public-key tricks
        // fail before any signature check.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(Self { keys: jwks.decoding_keys()?, validation })
    }

    /// Verifies a token and that it is of the expected type.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid);
        }
        let key = header.kid.as_deref().and_then(|kid| self.keys.get(kid)).ok_or(TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        if data.claims.token_type != expected {
            return Err(TokenError::WrongType(expected));
        }
        Ok(data.claims)
    }
}
