//! Password hashing (argon2id, PHC strings) and the rules a new password
//! must follow.
//!
//! Hashing is deliberately slow (~tens of ms), so it runs on tokio's
//! blocking pool and never stalls the request executor.

use crate::http::ValidationErrors;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

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
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    // The verifier takes its parameters from the hash, so older hashes
    // keep verifying after the defaults change.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
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

    #[tokio::test]
    async fn the_dummy_verification_runs() {
        verify_against_dummy("anything at all".into()).await;
        assert!(!verify_password("anything at all".into(), DUMMY_HASH.into()).await);
    }
}
