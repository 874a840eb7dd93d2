//! Single-use secrets sent by email (password reset): 32 random bytes
//! from the OS, handed out base64url-encoded (no padding, safe in a URL)
//! and stored only as the hex SHA-256 of the bytes, so a copy of the table
//! gives nobody a usable token.

use crate::http::{ApiError, ValidationErrors};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// What every endpoint taking a mailed token answers, on `token`, for one
/// that is unknown, used, superseded or expired: nothing tells which.
pub const INVALID_TOKEN: &str = "Invalid or expired token.";

pub fn invalid_token() -> ApiError {
    ValidationErrors::field("token", INVALID_TOKEN).into()
}

/// Bytes of randomness in a token.
pub const ONE_TIME_TOKEN_BYTES: usize = 32;

/// A fresh token: the secret for the link and the hash for the key.
pub struct OneTimeToken {
    secret: String,
    hash: String,
}

impl std::fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimeToken")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl OneTimeToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; ONE_TIME_TOKEN_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self {
            secret: URL_SAFE_NO_PAD.encode(bytes),
            hash: hex_sha256(&bytes),
        }
    }

    /// What goes into the link, and nowhere else.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// What is stored.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// The hash a presented token is stored under, or `None` when it cannot
/// be one of ours (not base64url, or not 32 bytes).
pub fn one_time_token_hash(presented: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(presented.trim()).ok()?;
    (bytes.len() == ONE_TIME_TOKEN_BYTES).then(|| hex_sha256(&bytes))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hashes_back_to_its_key_and_nothing_else_does() {
        let t = OneTimeToken::generate();
        assert_eq!(t.secret().len(), 43);
        assert!(t
            .secret()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(one_time_token_hash(t.secret()).as_deref(), Some(t.hash()));
        assert_eq!(t.hash().len(), 64);
        assert_ne!(OneTimeToken::generate().hash(), t.hash());
        assert_eq!(one_time_token_hash("not a token"), None);
        assert_eq!(
            one_time_token_hash(&URL_SAFE_NO_PAD.encode([0u8; 16])),
            None
        );
        assert!(!format!("{t:?}").contains(t.secret()));
    }
}
