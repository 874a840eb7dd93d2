//! Opaque, signed pagination cursors.
//!
//! A cursor carries DynamoDB's `LastEvaluatedKey` plus a binding naming the
//! tenant and the query it was minted for, all signed with HMAC-SHA256. A
//! cursor that was altered, or minted for another tenant or another query,
//! fails verification and the request is refused with 400.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

type HmacSha256 = Hmac<Sha256>;

/// The last evaluated key of a page: attribute name → string value.
/// Every key attribute of the table is a string.
pub type PageKey = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid cursor")]
pub struct InvalidCursor;

#[derive(Clone)]
pub struct CursorSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for CursorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSigner(..)")
    }
}

/// Which way a cursor pages from its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    #[serde(rename = "n")]
    Next,
    #[serde(rename = "p")]
    Previous,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// What the cursor is bound to: tenant and query.
    b: String,
    /// The position: the key of the item the page starts after (or, going
    /// back, before).
    k: PageKey,
    d: Direction,
}

impl CursorSigner {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// Encodes a position for the query named by `binding`.
    pub fn encode(&self, binding: &str, key: &PageKey, direction: Direction) -> String {
        let payload = Payload {
            b: binding.to_owned(),
            k: key.clone(),
            d: direction,
        };
        // Serialising a struct of strings cannot fail.
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&json);
        let sig = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Decodes a cursor, refusing it unless its signature is valid and it
    /// was minted for exactly `binding`.
    pub fn decode(
        &self,
        binding: &str,
        cursor: &str,
    ) -> Result<(PageKey, Direction), InvalidCursor> {
        let (body, sig) = cursor.split_once('.').ok_or(InvalidCursor)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| InvalidCursor)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| InvalidCursor)?;
        let mut mac = self.mac();
        mac.update(&json);
        // Constant-time comparison.
        mac.verify_slice(&sig).map_err(|_| InvalidCursor)?;
        let payload: Payload = serde_json::from_slice(&json).map_err(|_| InvalidCursor)?;
        if payload.b != binding {
            return Err(InvalidCursor);
        }
        Ok((payload.k, payload.d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageKey {
        BTreeMap::from([
            ("PK".to_owned(), "TENANT#a".to_owned()),
            ("SK".to_owned(), "USER#1".to_owned()),
        ])
    }

    #[test]
    fn round_trips() {
        let s = CursorSigner::new(b"secret".to_vec());
        let c = s.encode("TENANT#a|users", &key(), Direction::Next);
        assert_eq!(s.decode("TENANT#a|users", &c), Ok((key(), Direction::Next)));
        let c = s.encode("TENANT#a|users", &key(), Direction::Previous);
        assert_eq!(
            s.decode("TENANT#a|users", &c),
            Ok((key(), Direction::Previous))
        );
    }

    #[test]
    fn refuses_another_binding() {
        let s = CursorSigner::new(b"secret".to_vec());
        let c = s.encode("TENANT#a|users", &key(), Direction::Next);
        assert_eq!(s.decode("TENANT#b|users", &c), Err(InvalidCursor));
        assert_eq!(s.decode("TENANT#a|roles", &c), Err(InvalidCursor));
    }

    #[test]
    fn refuses_tampering() {
        let s = CursorSigner::new(b"secret".to_vec());
        let c = s.encode("b", &key(), Direction::Next);
        let (body, sig) = c.split_once('.').unwrap();
        let mut forged: Payload =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
        forged.k.insert("SK".into(), "USER#2".into());
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            s.decode("b", &format!("{forged_body}.{sig}")),
            Err(InvalidCursor)
        );
        assert_eq!(s.decode("b", "garbage"), Err(InvalidCursor));
        assert_eq!(s.decode("b", "a.b"), Err(InvalidCursor));
        assert_eq!(s.decode("b", ""), Err(InvalidCursor));
    }

    #[test]
    fn refuses_a_cursor_signed_with_another_secret() {
        let c = CursorSigner::new(b"one".to_vec()).encode("b", &key(), Direction::Next);
        assert_eq!(
            CursorSigner::new(b"two".to_vec()).decode("b", &c),
            Err(InvalidCursor)
        );
    }
}
