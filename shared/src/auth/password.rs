//! Password hashing (argon2id, PHC strings) and the rules a new password
//! must follow.
//!
//! Hashing is deliberately slow (~tens of ms), so it runs on tokio's
//! blocking pool and never stalls the request executor.
//!
//! Hashes imported from the Django original also verify: Django's
//! `pbkdf2_sha256$<iterations>$<salt>$<base64>` and
//! `argon2$argon2id$v=19$...` (see [`HashScheme`]); login replaces them
//! with the platform's argon2id ([`needs_rehash`]). An unusable Django
//! password (`!...`) never verifies.

use crate::http::ValidationErrors;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// OWASP's minimum argon2id parameters: 19 MiB, 2 passes, 1 lane.
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_PARALLELISM: u32 = 1;

pub const PASSWORD_MIN_CHARS: usize = 10;
/// Bounds the hashing work one request can ask for.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A hash of random bytes nobody knows, with the parameters above (a unit
/// test checks they match). Precomputed so the first unknown-email login
/// after a cold start costs one verification, like any other.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$DkHm+Amb0YgvyUANDcfM4w$1Y0Da97+PtYqtTxb2DdAZmhYzmOIVaoj6Pdkq04yOMQ";

/// The most PBKDF2 iterations a stored hash may ask for (Django 5.2 uses
/// 1,000,000). A hash asking for more is a mismatch, so a forged or
/// corrupted item cannot make one login burn unbounded CPU.
pub const PBKDF2_MAX_ITERATIONS: u32 = 1_200_000;

/// How long a failed login takes at least, from the credential read: an
/// unknown email (one argon2id check of a dummy hash) and a wrong password
/// whatever the account's hash all answer after it, so the time does not
/// tell an unknown email from an account whose imported hash is slower to
/// check than argon2id. It covers a PBKDF2 check at the iteration cap on a
/// 1024 MB Lambda (about 0.8 s); successful logins are not padded.
pub const FAILED_LOGIN_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits until [`FAILED_LOGIN_TIME`] has passed since `started`.
pub async fn pad_failed_login(started: tokio::time::Instant) {
    tokio::time::sleep_until(started + FAILED_LOGIN_TIME).await;
}

/// The most memory (KiB) an imported argon2 hash may ask for (Django's
/// default is 102,400): more is a mismatch rather than a Lambda out of memory.
pub const ARGON2_MAX_MEMORY_KIB: u32 = 262_144;

/// Django's prefix for its PBKDF2-SHA256 hasher.
const DJANGO_PBKDF2: &str = "pbkdf2_sha256$";
/// Django's argon2 hasher writes `argon2` followed by the PHC string.
const DJANGO_ARGON2: &str = "argon2$";

/// How a stored hash is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashScheme {
    /// The platform's own: an argon2id PHC string.
    Native,
    /// Django's `pbkdf2_sha256$...`.
    DjangoPbkdf2,
    /// Django's `argon2$argon2id$...` (or `argon2i`).
    DjangoArgon2,
    /// Django's unusable password (`!` followed by random text).
    Unusable,
    /// Anything else (e.g. Django's `bcrypt_sha256$`): never verifies
    /// (unless it is a PHC string of another argon2 variant).
    Unknown,
}

impl HashScheme {
    pub fn of(hash: &str) -> Self {
        if hash.starts_with("$argon2id$") {
            Self::Native
        } else if hash.starts_with(DJANGO_PBKDF2) {
            Self::DjangoPbkdf2
        } else if hash.starts_with(DJANGO_ARGON2) {
            Self::DjangoArgon2
        } else if hash.starts_with('!') {
            Self::Unusable
        } else {
            Self::Unknown
        }
    }
}

/// Whether a hash that just verified should be replaced by a fresh
/// argon2id one (an imported Django hash).
pub fn needs_rehash(hash: &str) -> bool {
    HashScheme::of(hash) != HashScheme::Native
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password could not be hashed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Task(String),
}

fn argon2() -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt; returns the PHC string.
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand_core::OsRng);
        let hasher = argon2().map_err(|e| PasswordError::Hash(e.to_string()))?;
        hasher
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| PasswordError::Task(e.to_string()))?
}

/// True only if `hash` is a valid PHC string for `password`. A malformed
/// hash or a failed task is a mismatch, never a panic.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Burns one verification's worth of time, so a login for an unknown email
/// takes as long as one with a wrong password.
pub async fn verify_against_dummy(password: String) {
    let _ = verify_password(password, DUMMY_HASH.to_owned()).await;
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    match HashScheme::of(hash) {
        HashScheme::DjangoPbkdf2 => verify_django_pbkdf2(password, hash),
        HashScheme::DjangoArgon2 => verify_argon2(
            password,
            hash.get("argon2".len()..).unwrap_or_default(),
            true,
        ),
        HashScheme::Unusable => {
            // As long as a wrong password takes, and still a mismatch.
            let _ = verify_argon2(password, DUMMY_HASH, false);
            false
        }
        HashScheme::Native => verify_argon2(password, hash, false),
        // A PHC string of another argon2 variant still verifies; anything
        // else (e.g. Django's bcrypt) takes as long as a wrong password.
        HashScheme::Unknown if is_argon2_phc(hash) => verify_argon2(password, hash, true),
        HashScheme::Unknown => {
            let _ = verify_argon2(password, DUMMY_HASH, false);
            false
        }
    }
}

fn is_argon2_phc(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|p| p.algorithm.as_str().starts_with("argon2"))
}

fn verify_argon2(password: &str, phc: &str, capped: bool) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if capped {
        match Params::try_from(&parsed) {
            Ok(p) if p.m_cost() <= ARGON2_MAX_MEMORY_KIB => {}
            _ => return false,
        }
    }
    // The verifier takes its parameters from the hash, so older hashes
    // keep verifying after the defaults change.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Django's `PBKDF2PasswordHasher`: HMAC-SHA256, the salt's UTF-8 bytes,
/// a 32-byte key in standard base64 with padding.
fn verify_django_pbkdf2(password: &str, hash: &str) -> bool {
    let mut parts = hash.splitn(4, '$');
    let (Some(_), Some(iterations), Some(salt), Some(expected)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    if iterations == 0 || iterations > PBKDF2_MAX_ITERATIONS {
        return false;
    }
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(expected) else {
        return false;
    };
    let Some(derived) = pbkdf2_sha256(password.as_bytes(), salt.as_bytes(), iterations) else {
        return false;
    };
    // Lengths are not secret; the bytes are compared in constant time.
    expected.len() == derived.len() && bool::from(derived.ct_eq(&expected))
}

/// PBKDF2-HMAC-SHA256 with one output block (32 bytes, Django's length).
fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Option<[u8; 32]> {
    let keyed = Hmac::<Sha256>::new_from_slice(password).ok()?;
    let mut mac = keyed.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = keyed.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (o, b) in out.iter_mut().zip(u.iter()) {
            *o ^= b;
        }
    }
    Some(out)
}

/// Adds the errors a new password earns (Django's validator messages):
/// length, all-digits, equal to the email or its local part, and a
/// confirmation that differs (on `confirm_field`).
pub fn check_new_password(
    errors: &mut ValidationErrors,
    field: &str,
    confirm_field: &str,
    password: &str,
    confirm: &str,
    email: &str,
) {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        errors.add(
            field,
            format!("This password is too short. It must contain at least {PASSWORD_MIN_CHARS} characters."),
        );
    }
    if chars > PASSWORD_MAX_CHARS {
        errors
            .add(field, format!("This password is too long. It must contain at most {PASSWORD_MAX_CHARS} characters."));
    }
    if !password.is_empty() && password.chars().all(char::is_numeric) {
        errors.add(field, "This password is entirely numeric.");
    }
    if too_similar_to_email(password, email) {
        errors.add(field, "The password is too similar to the email.");
    }
    if password != confirm {
        errors.add(confirm_field, "The two password fields didn't match.");
    }
}

fn too_similar_to_email(password: &str, email: &str) -> bool {
    let email = email.trim().to_lowercase();
    if email.is_empty() || password.is_empty() {
        return false;
    }
    let password = password.to_lowercase();
    let local = email
        .rsplit_once('@')
        .map_or(email.as_str(), |(local, _)| local);
    password == email || (!local.is_empty() && password == local)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "Jane.Doe@Example.com";

    fn check(password: &str, confirm: &str) -> Vec<(String, Vec<String>)> {
        let mut errors = ValidationErrors::new();
        check_new_password(
            &mut errors,
            "password",
            "password2",
            password,
            confirm,
            EMAIL,
        );
        errors
            .fields()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect()
    }

    fn messages(password: &str) -> Vec<String> {
        check(password, password)
            .into_iter()
            .flat_map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn a_good_password_passes() {
        assert!(check("correct horse battery", "correct horse battery").is_empty());
    }

    #[test]
    fn too_short() {
        assert_eq!(
            messages("abcdefgh9"),
            vec!["This password is too short. It must contain at least 10 characters."]
        );
        assert!(messages("abcdefgh90").is_empty());
        // Characters, not bytes: ten two-byte characters are enough.
        assert!(messages("ééééééééééx").is_empty());
    }

    #[test]
    fn too_long() {
        assert!(messages(&"a1".repeat(64)).is_empty());
        assert_eq!(
            messages(&"a".repeat(129)),
            vec!["This password is too long. It must contain at most 128 characters."]
        );
    }

    #[test]
    fn entirely_numeric() {
        assert_eq!(
            messages("12345678901"),
            vec!["This password is entirely numeric."]
        );
        assert!(messages("1234567890a").is_empty());
    }

    #[test]
    fn similar_to_the_email() {
        let similar = vec!["The password is too similar to the email.".to_owned()];
        assert_eq!(messages("jane.doe@example.com"), similar);
        assert_eq!(messages("JANE.DOE@EXAMPLE.COM"), similar);
        assert_eq!(
            messages("jane.DOE"),
            vec![
                "This password is too short. It must contain at least 10 characters.".to_owned(),
                similar[0].clone(),
            ]
        );
        let mut errors = ValidationErrors::new();
        check_new_password(
            &mut errors,
            "p",
            "p2",
            "longlocalpart",
            "longlocalpart",
            "LongLocalPart@x.io",
        );
        assert_eq!(
            errors,
            ValidationErrors::field("p", "The password is too similar to the email.")
        );
        assert!(messages("jane.doe.example").is_empty());
    }

    #[test]
    fn confirmation_must_match() {
        assert_eq!(
            check("correct horse battery", "correct horse batterY"),
            vec![(
                "password2".to_owned(),
                vec!["The two password fields didn't match.".to_owned()]
            )]
        );
    }

    #[test]
    fn every_failing_rule_is_reported() {
        let errors = check("123", "1234");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].0, "password");
        assert_eq!(errors[0].1.len(), 2);
        assert_eq!(errors[1].0, "password2");
    }

    #[test]
    fn dummy_hash_uses_the_current_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM)
        );
    }

    #[tokio::test]
    async fn hash_and_verify_round_trip() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("correct horse batterY".into(), hash.clone()).await);
        assert!(!verify_password(String::new(), hash.clone()).await);
        // Salted: the same password hashes differently.
        assert_ne!(
            hash_password("correct horse battery".into()).await.unwrap(),
            hash
        );
    }

    #[tokio::test]
    async fn malformed_hashes_never_verify() {
        for hash in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$bcrypt$abc",
            "$argon2id$v=19$m=x",
        ] {
            assert!(
                !verify_password("whatever".into(), hash.into()).await,
                "{hash:?}"
            );
        }
    }

    // Computed with Python's hashlib.pbkdf2_hmac("sha256", password, salt,
    // iterations), encoded as Django's PBKDF2PasswordHasher does.
    const DJANGO_720K: &str =
        "pbkdf2_sha256$720000$Xg1vD9bq2mRtZ0aL$F/FcHiPTAX27Yydpbx1nQmcPfBldZoZ5nz6wWwDSLAY=";
    const DJANGO_1000: &str =
        "pbkdf2_sha256$1000$saltysalt$b+50WVO269wpvn+0dHukmAMw1HT0StBr/XV4/w5iyg4=";
    const DJANGO_EMPTY: &str =
        "pbkdf2_sha256$1000$emptysalt$Th/GgYSDV3N4Zpkx3TpFlR/PPyCUSrZ7QQFwKxyd/oo=";
    const DJANGO_UNICODE: &str =
        "pbkdf2_sha256$1000$u7Nq$Srw/rCwtDiv5gLqlyVJCG2/ktM8gamt1xWgdGBhZg2g=";

    #[tokio::test]
    async fn django_pbkdf2_hashes_verify() {
        assert!(verify_password("correct horse battery".into(), DJANGO_720K.into()).await);
        assert!(!verify_password("correct horse batterY".into(), DJANGO_720K.into()).await);
        assert!(verify_password("django-pass-1234".into(), DJANGO_1000.into()).await);
        assert!(!verify_password("django-pass-123".into(), DJANGO_1000.into()).await);
        assert!(verify_password(String::new(), DJANGO_EMPTY.into()).await);
        assert!(verify_password("pässwörd-ünicode".into(), DJANGO_UNICODE.into()).await);
        assert_eq!(HashScheme::of(DJANGO_1000), HashScheme::DjangoPbkdf2);
        assert!(needs_rehash(DJANGO_1000));
    }

    #[tokio::test]
    async fn malformed_or_oversized_django_pbkdf2_hashes_never_verify() {
        let pw = "django-pass-1234";
        for hash in [
            // Iterations above the cap, zero, or not a number.
            "pbkdf2_sha256$1200001$saltysalt$b+50WVO269wpvn+0dHukmAMw1HT0StBr/XV4/w5iyg4=",
            "pbkdf2_sha256$0$saltysalt$b+50WVO269wpvn+0dHukmAMw1HT0StBr/XV4/w5iyg4=",
            "pbkdf2_sha256$x$saltysalt$b+50WVO269wpvn+0dHukmAMw1HT0StBr/XV4/w5iyg4=",
            // Another salt, a truncated key, not base64, missing parts.
            "pbkdf2_sha256$1000$saltysalT$b+50WVO269wpvn+0dHukmAMw1HT0StBr/XV4/w5iyg4=",
            "pbkdf2_sha256$1000$saltysalt$b+50WVO269wpvn+0dHukmAMw1HT0StBr/XV4/w5i",
            "pbkdf2_sha256$1000$saltysalt$***",
            "pbkdf2_sha256$1000$saltysalt",
            "pbkdf2_sha256$",
        ] {
            assert!(!verify_password(pw.into(), hash.into()).await, "{hash:?}");
        }
    }

    #[tokio::test]
    async fn django_argon2_hashes_verify() {
        // Django's Argon2PasswordHasher writes "argon2" + argon2-cffi's
        // PHC string (its defaults: m=102400, t=2, p=8).
        let salt = SaltString::encode_b64(b"django-argon2-salt").unwrap();
        let params = Params::new(102_400, 2, 8, None).unwrap();
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let django = format!("argon2{phc}");
        assert!(django.starts_with("argon2$argon2id$v=19$m=102400,t=2,p=8$"));
        assert_eq!(HashScheme::of(&django), HashScheme::DjangoArgon2);
        assert!(verify_password("correct horse battery".into(), django.clone()).await);
        assert!(!verify_password("correct horse batterY".into(), django).await);
        assert!(needs_rehash("argon2$argon2id$v=19$m=102400,t=2,p=8$x$y"));
        // Beyond the memory cap: a mismatch, nothing allocated.
        assert!(
            !verify_password(
                "x".into(),
                "argon2$argon2id$v=19$m=4194304,t=2,p=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into()
            )
            .await
        );
    }

    #[tokio::test]
    async fn unusable_and_unknown_hashes_never_verify() {
        for hash in [
            "!",
            "!Yx8vD9bq2mRtZ0aLXg1vD9bq2mRtZ0aLXg1vD9bq",
            "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuuK1uVj0m3XZcX3wG1N1t2a0u7D5Q9aEW",
        ] {
            assert!(
                !verify_password(String::new(), hash.into()).await,
                "{hash:?}"
            );
            assert!(!verify_password("!".into(), hash.into()).await, "{hash:?}");
        }
        assert_eq!(HashScheme::of("!abc"), HashScheme::Unusable);
        assert_eq!(HashScheme::of("bcrypt_sha256$x"), HashScheme::Unknown);
        assert!(!needs_rehash(DUMMY_HASH));
    }

    #[tokio::test]
    async fn other_argon2_variants_verify_and_are_upgraded() {
        // Django before 1.11 wrote argon2i; the platform never did.
        let salt = SaltString::encode_b64(b"older-django-salt").unwrap();
        let params = Params::new(512, 2, 2, None).unwrap();
        let phc = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        for hash in [phc.clone(), format!("argon2{phc}")] {
            assert!(verify_password("correct horse battery".into(), hash.clone()).await);
            assert!(!verify_password("correct horse batterY".into(), hash.clone()).await);
            assert!(needs_rehash(&hash));
        }
    }

    #[tokio::test]
    async fn the_dummy_verification_runs() {
        verify_against_dummy("anything at all".into()).await;
        assert!(!verify_password("anything at all".into(), DUMMY_HASH.into()).await);
    }
}
