//! jsonwebtoken's cryptography, Ed25519 only. Tokens are EdDSA; the crate's
//! own RustCrypto provider also links RSA, ECDSA and HMAC, about 400 KiB of
//! every binary that verifies a token. Any other algorithm is refused here,
//! after [`super::token`] has already refused it by name.

use ed25519_dalek::ed25519::signature::{self, Signer, Verifier};
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use std::sync::{Mutex, Once, PoisonError};

static ED25519_ONLY: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    // No JWK conversions: the public key set is built by `key_pair`.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes [`ED25519_ONLY`] the process's provider. Called by every
/// constructor of a signer or verifier, before jsonwebtoken's first use (its
/// first use without a provider would fix a panicking default).
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only if a provider is already installed: the same one.
        let _ = ED25519_ONLY.install_default();
    });
}

fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Ed25519Signer(signing_key(key.as_bytes())?)))
}

/// The last signing key parsed, with its PKCS#8 document. jsonwebtoken asks
/// for a signer per token, and parsing derives the public key: a scalar
/// multiplication, as dear as the signature. A process signs with one key.
static LAST_PARSED: Mutex<Option<(Box<[u8]>, SigningKey)>> = Mutex::new(None);

fn signing_key(der: &[u8]) -> Result<SigningKey> {
    // A poisoned lock only means a panic elsewhere; the cached pair is whole.
    let mut last = LAST_PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((parsed, key)) = last.as_ref() {
        if **parsed == *der {
            return Ok(key.clone());
        }
    }
    let key = SigningKey::from_pkcs8_der(der).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    *last = Some((der.into(), key.clone()));
    Ok(key)
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(Ed25519Verifier(key)))
}

struct Ed25519Signer(SigningKey);

impl Signer<Vec<u8>> for Ed25519Signer {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

impl JwtSigner for Ed25519Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct Ed25519Verifier(VerifyingKey);

impl Verifier<Vec<u8>> for Ed25519Verifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        self.0.verify(message, &Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for Ed25519Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SigningKeyPair;

    #[test]
    fn signs_and_verifies_ed25519_only() {
        install();
        let pair = SigningKeyPair::generate("k1");
        let signed = jsonwebtoken::crypto::sign(b"message", pair.encoding_key(), Algorithm::EdDSA)
            .expect("EdDSA signs");
        let public = DecodingKey::from_ed_components(&pair.public_jwk().x).expect("a public key");
        assert!(
            jsonwebtoken::crypto::verify(&signed, b"message", &public, Algorithm::EdDSA)
                .expect("EdDSA verifies")
        );
        assert!(
            !jsonwebtoken::crypto::verify(&signed, b"other", &public, Algorithm::EdDSA)
                .expect("a wrong signature is an answer, not an error")
        );

        // A second key is parsed, not served from the first one's cache.
        let other = SigningKeyPair::generate("k2");
        let signed_by_other =
            jsonwebtoken::crypto::sign(b"message", other.encoding_key(), Algorithm::EdDSA)
                .expect("EdDSA signs");
        assert!(!jsonwebtoken::crypto::verify(
            &signed_by_other,
            b"message",
            &public,
            Algorithm::EdDSA
        )
        .expect("an answer"));
        let again = jsonwebtoken::crypto::sign(b"message", pair.encoding_key(), Algorithm::EdDSA)
            .expect("EdDSA signs");
        assert_eq!(again, signed, "Ed25519 signatures are deterministic");

        let secret = EncodingKey::from_secret(b"secret");
        for algorithm in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
            let refused = jsonwebtoken::crypto::sign(b"message", &secret, algorithm)
                .expect_err("only EdDSA is provided");
            assert_eq!(refused.kind(), &ErrorKind::InvalidAlgorithm);
        }
        let refused = jsonwebtoken::crypto::verify(&signed, b"message", &public, Algorithm::HS256)
            .expect_err("only EdDSA is provided");
        assert_eq!(refused.kind(), &ErrorKind::InvalidAlgorithm);
    }
}
