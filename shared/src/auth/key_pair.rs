//! Ed25519 signing keys and the public key set (JWKS) that verifies them.
//!
//! The private key travels as JSON `{"kid": "...", "private_key_pem": "..."}`
//! (Secrets Manager in AWS, an ignored file locally). Verifiers get only the
//! public keys, as a JWKS document, so several keys can be active during a
//! rotation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("signing key is not an Ed25519 PKCS#8 PEM key")]
    Pem,
    #[error("public key set has no usable Ed25519 key")]
    EmptyKeySet,
    #[error("public key {0} is invalid")]
    PublicKey(String),
}

/// The private key as stored.
#[derive(Serialize, Deserialize)]
pub struct StoredSigningKey {
    pub kid: String,
    pub private_key_pem: String,
}

/// A key that signs tokens.
#[derive(Clone)]
pub struct SigningKeyPair {
    kid: String,
    encoding: EncodingKey,
    public_x: String,
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKeyPair {
    /// A fresh random key; `kid` names it in token headers.
    pub fn generate(kid: impl Into<String>) -> Self {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        Self::from_signing_key(kid.into(), &key)
            .unwrap_or_else(|_| unreachable!("fresh keys encode"))
    }

    fn from_signing_key(kid: String, key: &SigningKey) -> Result<Self, KeyError> {
        let der = key.to_pkcs8_der().map_err(|_| KeyError::Pem)?;
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public_x: URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
        })
    }

    /// Reads the stored JSON form.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let stored: StoredSigningKey = serde_json::from_str(json)?;
        let key = SigningKey::from_pkcs8_pem(&stored.private_key_pem).map_err(|_| KeyError::Pem)?;
        Self::from_signing_key(stored.kid, &key)
    }

    /// The stored JSON form (contains the private key).
    pub fn to_json(&self) -> Result<String, KeyError> {
        let key = SigningKey::from_pkcs8_der(&self.der()?).map_err(|_| KeyError::Pem)?;
        let pem = key
            .to_pkcs8_pem(Default::default())
            .map_err(|_| KeyError::Pem)?;
        Ok(serde_json::to_string(&StoredSigningKey {
            kid: self.kid.clone(),
            private_key_pem: pem.to_string(),
        })?)
    }

    fn der(&self) -> Result<Vec<u8>, KeyError> {
        Ok(self.encoding.as_bytes().to_vec())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public half as a JWK.
    pub fn public_jwk(&self) -> PublicJwk {
        PublicJwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            alg: Some("EdDSA".into()),
            r#use: Some("sig".into()),
            kid: self.kid.clone(),
            x: self.public_x.clone(),
        }
    }
}

/// One public key in JWKS form (RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub r#use: Option<String>,
    pub kid: String,
    pub x: String,
}

/// A JWKS document: the keys that verify tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

impl Jwks {
    pub fn parse(json: &str) -> Result<Self, KeyError> {
        Ok(serde_json::from_str(json)?)
    }

    /// Decoding keys by `kid`; non-Ed25519 entries are refused outright.
    pub(crate) fn decoding_keys(&self) -> Result<HashMap<String, DecodingKey>, KeyError> {
        let mut out = HashMap::new();
        for k in &self.keys {
            if k.kty != "OKP" || k.crv != "Ed25519" {
                return Err(KeyError::PublicKey(k.kid.clone()));
            }
            let bytes = URL_SAFE_NO_PAD
                .decode(&k.x)
                .map_err(|_| KeyError::PublicKey(k.kid.clone()))?;
            if bytes.len() != 32 {
                return Err(KeyError::PublicKey(k.kid.clone()));
            }
            let key = DecodingKey::from_ed_components(&k.x)
                .map_err(|_| KeyError::PublicKey(k.kid.clone()))?;
            out.insert(k.kid.clone(), key);
        }
        if out.is_empty() {
            return Err(KeyError::EmptyKeySet);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips() {
        let k = SigningKeyPair::generate("k1");
        let json = k.to_json().unwrap();
        assert!(json.contains("BEGIN PRIVATE KEY"));
        let back = SigningKeyPair::from_json(&json).unwrap();
        assert_eq!(back.kid(), "k1");
        assert_eq!(back.public_jwk(), k.public_jwk());
    }

    #[test]
    fn jwks_refuses_foreign_key_types() {
        let mut jwk = SigningKeyPair::generate("k1").public_jwk();
        jwk.kty = "RSA".into();
        assert!(Jwks { keys: vec![jwk] }.decoding_keys().is_err());
        assert!(matches!(
            Jwks::default().decoding_keys(),
            Err(KeyError::EmptyKeySet)
        ));
    }
}
