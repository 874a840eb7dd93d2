//! Signing and verifying tokens: EdDSA only, `kid` in the header, issuer,
//! audience, expiry, not-before and token type all checked.

use super::claims::{Claims, TokenType};
use super::key_pair::{Jwks, KeyError, SigningKeyPair};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use std::collections::HashMap;
use std::sync::Mutex;

/// Leeway, in seconds, on `exp` and `nbf`.
const LEEWAY_SECS: i64 = 5;
/// Verified tokens remembered per process.
const CACHE_CAPACITY: usize = 1024;

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
        super::jwt_crypto::install();
        Self { key, settings }
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn key(&self) -> &SigningKeyPair {
        &self.key
    }

    /// Signs claims as they are; callers fill `iss`, `aud` and times from
    /// [`TokenSettings`]. Access tokens also carry `user_id` (= `sub`).
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key.kid().to_owned());
        let wire = WireClaims {
            claims,
            user_id: (claims.token_type == TokenType::Access).then_some(claims.sub),
        };
        jsonwebtoken::encode(&header, &wire, self.key.encoding_key())
            .map_err(|e| TokenError::Signing(e.to_string()))
    }
}

/// The claims as signed: simplejwt's `user_id` is added to access tokens
/// so services written for the Django original keep reading the user's id
/// (the platform itself reads `sub`, and ignores `user_id` when verifying).
#[derive(serde::Serialize)]
struct WireClaims<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<uuid::Uuid>,
}

pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    /// Tokens this process already verified, by their exact text. A client
    /// sends the same access token with every request for its lifetime, so
    /// a warm function pays for the Ed25519 check once per token. Hits are
    /// re-checked for expiry, not-before and type.
    verified: Mutex<HashMap<Box<str>, Claims>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TokenVerifier {
    pub fn new(jwks: &Jwks, settings: &TokenSettings) -> Result<Self, KeyError> {
        super::jwt_crypto::install();
        // Pinned to EdDSA: `alg: none` and HS256-with-the-public-key tricks
        // fail before any signature check.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS as u64;
        Ok(Self {
            keys: jwks.decoding_keys()?,
            validation,
            verified: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, token: &str) -> Option<Claims> {
        let cache = self.verified.lock().ok()?;
        cache.get(token).cloned()
    }

    fn remember(&self, token: &str, claims: &Claims) {
        let Ok(mut cache) = self.verified.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAPACITY {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            cache.retain(|_, c| c.exp + LEEWAY_SECS > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(token.into(), claims.clone());
    }

    /// Verifies a token and that it is of the expected type.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        if let Some(claims) = self.cached(token) {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            if claims.exp + LEEWAY_SECS <= now {
                return Err(TokenError::Expired);
            }
            if claims.nbf > now + LEEWAY_SECS {
                return Err(TokenError::Invalid);
            }
            if claims.token_type != expected {
                return Err(TokenError::WrongType(expected));
            }
            return Ok(claims);
        }
        let claims = self.verify_uncached(token)?;
        self.remember(token, &claims);
        if claims.token_type != expected {
            return Err(TokenError::WrongType(expected));
        }
        Ok(claims)
    }

    /// Full verification: header, signature and registered claims.
    pub fn verify_uncached(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenError::Invalid)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::FlatPermissions;
    use uuid::Uuid;

    fn setup() -> (TokenSigner, TokenVerifier, Claims) {
        let settings = TokenSettings::default();
        let key = SigningKeyPair::generate("k1");
        let verifier = TokenVerifier::new(
            &Jwks {
                keys: vec![key.public_jwk()],
            },
            &settings,
        )
        .unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: Uuid::new_v4(),
            email: "a@b.io".into(),
            tenant_id: Uuid::new_v4(),
            tenant_slug: "acme".into(),
            table: None,
            is_super_admin: false,
            plan: None,
            email_verified: false,
            permissions: FlatPermissions::default(),
            enabled_modules: vec![],
            team_ids: vec![],
            roles: vec![],
            token_type: TokenType::Access,
            jti: Uuid::new_v4(),
            fam: Uuid::new_v4(),
            iat: now,
            iat_ms: None,
            nbf: now,
            exp: now + 60,
            iss: settings.issuer.clone(),
            aud: settings.audience.clone(),
        };
        (TokenSigner::new(key, settings), verifier, claims)
    }

    #[test]
    fn repeated_verification_gives_the_same_claims_and_still_checks_the_type() {
        let (signer, verifier, claims) = setup();
        let token = signer.sign(&claims).unwrap();
        assert_eq!(verifier.verify(&token, TokenType::Access).unwrap(), claims);
        assert_eq!(verifier.verify(&token, TokenType::Access).unwrap(), claims);
        assert_eq!(
            verifier.verify(&token, TokenType::Refresh),
            Err(TokenError::WrongType(TokenType::Refresh))
        );
        // A different string never hits the cache.
        let tampered = format!("{token}x");
        assert_eq!(
            verifier.verify(&tampered, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn remembered_tokens_still_expire() {
        let (signer, verifier, mut claims) = setup();
        let token = signer.sign(&claims).unwrap();
        verifier.verify(&token, TokenType::Access).unwrap();
        // Age the remembered entry past its expiry.
        claims.exp = time::OffsetDateTime::now_utc().unix_timestamp() - 60;
        verifier
            .verified
            .lock()
            .unwrap()
            .insert(token.clone().into(), claims);
        assert_eq!(
            verifier.verify(&token, TokenType::Access),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn failures_are_not_remembered() {
        let (signer, verifier, mut claims) = setup();
        claims.aud = "someone-else".into();
        let token = signer.sign(&claims).unwrap();
        assert!(verifier.verify(&token, TokenType::Access).is_err());
        assert!(verifier.verified.lock().unwrap().is_empty());
    }

    fn payload(token: &str) -> serde_json::Value {
        use base64::Engine;
        let body = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn access_tokens_carry_user_id_as_simplejwt_did() {
        let (signer, verifier, mut claims) = setup();
        let access = payload(&signer.sign(&claims).unwrap());
        assert_eq!(access["user_id"], serde_json::json!(claims.sub));
        assert_eq!(access["sub"], access["user_id"]);
        claims.token_type = TokenType::Refresh;
        let refresh = signer.sign(&claims).unwrap();
        assert!(payload(&refresh).get("user_id").is_none());
        assert_eq!(
            verifier.verify(&refresh, TokenType::Refresh).unwrap(),
            claims
        );
    }
}
