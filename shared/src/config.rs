//! Settings read from the environment once per cold start. Every variable
//! is listed in the README's configuration table.

use crate::auth::{Jwks, TokenSettings};
use crate::http::{HttpConfig, DEFAULT_BODY_LIMIT};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Settings every function shares.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    /// Endpoint override, for DynamoDB Local.
    pub dynamodb_endpoint: Option<String>,
    /// Key that signs pagination cursors.
    pub cursor_secret: Vec<u8>,
    pub http: HttpConfig,
    pub tokens: TokenSettings,
    /// Running on a developer machine: enables development defaults.
    pub local_dev: bool,
    /// ISO 4217 code new plans are priced in unless they name one
    /// (`DEFAULT_CURRENCY`, default `USD`).
    pub default_currency: String,
    /// Days an invoice may stay unpaid before the subscription is past due,
    /// and again past due before its modules go (`BILLING_GRACE_DAYS`,
    /// default 7); days past due before it expires
    /// (`BILLING_EXPIRE_AFTER_DAYS`, default 14).
    pub billing: crate::billing::BillingPolicy,
    /// How often a warm function rereads a tenant's revocation state
    /// (`REVOCATION_CHECK_SECONDS`, default 30; 0: on every request).
    pub revocation: crate::revocation::Settings,
}

/// A variable of the process environment, an empty value counting as
/// unset: the lookup every `from_env` passes to its `from_lookup`.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Fixed secret for local development only; refused outside `LOCAL_DEV`.
const DEV_CURSOR_SECRET: &str = "local-development-cursor-secret";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_var)
    }

    /// Reads settings through `get`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let local_dev = matches!(get("LOCAL_DEV").as_deref(), Some("1" | "true"));
        let table_name = get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let cursor_secret = match get("CURSOR_SECRET") {
            Some(s) if s.len() >= 16 => s.into_bytes(),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "CURSOR_SECRET",
                    reason: "needs at least 16 characters".into(),
                })
            }
            None if local_dev => DEV_CURSOR_SECRET.as_bytes().to_vec(),
            None => return Err(ConfigError::Missing("CURSOR_SECRET")),
        };
        let body_limit = parse_or(&get, "MAX_BODY_BYTES", DEFAULT_BODY_LIMIT)?;
        let cors_origins = get("CORS_ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_else(|| vec!["*".to_owned()]);
        let defaults = TokenSettings::default();
        let tokens = TokenSettings {
            issuer: get("JWT_ISSUER").unwrap_or(defaults.issuer),
            audience: get("JWT_AUDIENCE").unwrap_or(defaults.audience),
            access_ttl_secs: parse_or(&get, "ACCESS_TOKEN_TTL_SECONDS", defaults.access_ttl_secs)?,
            refresh_ttl_secs: parse_or(
                &get,
                "REFRESH_TOKEN_TTL_SECONDS",
                defaults.refresh_ttl_secs,
            )?,
        };
        let default_currency = get("DEFAULT_CURRENCY").unwrap_or_else(|| "USD".to_owned());
        if !is_currency_code(&default_currency) {
            return Err(ConfigError::Invalid {
                name: "DEFAULT_CURRENCY",
                reason: "expected 3 uppercase letters (ISO 4217)".into(),
            });
        }
        let policy = crate::billing::BillingPolicy::default();
        let billing = crate::billing::BillingPolicy {
            grace_days: parse_or(&get, "BILLING_GRACE_DAYS", policy.grace_days)?,
            expire_after_days: parse_or(
                &get,
                "BILLING_EXPIRE_AFTER_DAYS",
                policy.expire_after_days,
            )?,
        };
        let revocation = crate::revocation::Settings {
            check_interval: std::time::Duration::from_secs(parse_or(
                &get,
                crate::revocation::CHECK_SECONDS_VAR,
                crate::revocation::DEFAULT_CHECK_SECONDS,
            )?),
            token_lifetime: std::time::Duration::from_secs(
                u64::try_from(tokens.access_ttl_secs).unwrap_or(0),
            ),
        };
        Ok(Self {
            revocation,
            billing,
            default_currency,
            table_name,
            dynamodb_endpoint: get("DYNAMODB_ENDPOINT"),
            cursor_secret,
            http: HttpConfig {
                body_limit,
                cors_origins,
            },
            tokens,
            local_dev,
        })
    }
}

/// Three uppercase ASCII letters, the shape of an ISO 4217 code.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
        None => Ok(default),
    }
}

/// The public keys that verify tokens: `JWT_PUBLIC_KEYS` (a JWKS JSON
/// document) or, for local development, `JWT_PUBLIC_KEYS_FILE`.
pub fn public_keys_from_env() -> Result<Jwks, ConfigError> {
    public_keys_from_lookup(env_var)
}

pub fn public_keys_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Jwks, ConfigError> {
    let json = match (get("JWT_PUBLIC_KEYS"), get("JWT_PUBLIC_KEYS_FILE")) {
        (Some(json), _) => json,
        (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
            name: "JWT_PUBLIC_KEYS_FILE",
            reason: format!("{path}: {e}"),
        })?,
        (None, None) => return Err(ConfigError::Missing("JWT_PUBLIC_KEYS")),
    };
    Jwks::parse(&json).map_err(|e| ConfigError::Invalid {
        name: "JWT_PUBLIC_KEYS",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::lookup;

    #[test]
    fn requires_a_cursor_secret_outside_local_dev() {
        let err = Config::from_lookup(lookup(&[("TABLE_NAME", "t")])).unwrap_err();
        assert!(matches!(err, ConfigError::Missing("CURSOR_SECRET")));
        let cfg = Config::from_lookup(lookup(&[("TABLE_NAME", "t"), ("LOCAL_DEV", "1")])).unwrap();
        assert!(cfg.local_dev);
        assert_eq!(cfg.cors_origins_for_test(), vec!["*"]);
    }

    #[test]
    fn reads_every_setting() {
        let cfg = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "main"),
            ("CURSOR_SECRET", "0123456789abcdef0123"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example, https://b.example",
            ),
            ("MAX_BODY_BYTES", "1000"),
            ("ACCESS_TOKEN_TTL_SECONDS", "60"),
            ("REVOCATION_CHECK_SECONDS", "0"),
        ]))
        .unwrap();
        assert_eq!(cfg.revocation.check_interval, std::time::Duration::ZERO);
        assert_eq!(
            cfg.revocation.token_lifetime,
            std::time::Duration::from_secs(60)
        );
        assert_eq!(cfg.table_name, "main");
        assert_eq!(
            cfg.dynamodb_endpoint.as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            cfg.http.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(cfg.http.body_limit, 1000);
        assert_eq!(cfg.tokens.access_ttl_secs, 60);
        assert_eq!(cfg.tokens.refresh_ttl_secs, 7 * 24 * 3600);
    }

    #[test]
    fn names_the_bad_variable() {
        let err = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("LOCAL_DEV", "1"),
            ("MAX_BODY_BYTES", "lots"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("MAX_BODY_BYTES is invalid"),
            "{err}"
        );
    }

    impl Config {
        fn cors_origins_for_test(&self) -> Vec<&str> {
            self.http.cors_origins.iter().map(String::as_str).collect()
        }
    }
}
