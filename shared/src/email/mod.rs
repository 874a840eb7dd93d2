//! Sending email: the message ([`Email`]), the delivery seam
//! ([`EmailSender`]) and its two implementations, an SES sender
//! ([`SesSender`], behind the `email` feature) for deployments and an
//! outbox ([`OutboxSender`]) that writes each message as a JSON file for
//! local development and tests. [`Mailer`] is what request handlers hold:
//! a sender plus the frontend's base URL that links point at.
//!
//! Delivery is best effort by design: [`Mailer::deliver`] logs a failed
//! send (inside the request's span, so with its request id) and returns
//! nothing, so an action that has been committed (a reset token stored)
//! is never answered as failed because the mail server was unavailable.
//! The user may simply ask again.
//!
//! Which sender runs is chosen once at start-up from the environment
//! ([`EmailSettings::from_env`], [`sender`]): `EMAIL_OUTBOX_DIR` set
//! selects the outbox, otherwise SES, which needs `EMAIL_FROM`.

mod outbox;
#[cfg(feature = "email")]
mod ses;
pub mod template;

pub use outbox::{links_in, OutboxMessage, OutboxSender};
#[cfg(feature = "email")]
pub use ses::{client as ses_client, SesSender};
pub use template::{Template, TemplateError};

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// One message: plain-text and HTML bodies of the same content.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Email {
    // The bodies may hold secrets (a reset link): never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("the outbox could not be written: {0}")]
    Outbox(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the mail service refused or failed the message: {0}")]
    Service(String),
}

/// The future [`EmailSender::send`] returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), EmailError>> + Send + 'a>>;

/// Delivers one message. Object-safe, so state holds an
/// `Arc<dyn EmailSender>` and tests substitute their own.
pub trait EmailSender: Send + Sync {
    fn send<'a>(&'a self, email: &'a Email) -> SendFuture<'a>;
}

/// Settings read at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    /// `EMAIL_OUTBOX_DIR`: write messages here instead of sending them.
    pub outbox_dir: Option<PathBuf>,
    /// `EMAIL_FROM`: the sender address (an SES verified identity, or an
    /// address of a verified domain). Required for SES.
    pub from: Option<String>,
    /// `SES_ENDPOINT`: endpoint override, for local emulators.
    pub ses_endpoint: Option<String>,
    /// `FRONTEND_URL`: links in messages point here (no trailing slash).
    pub frontend_url: String,
}

pub const OUTBOX_DIR_VAR: &str = "EMAIL_OUTBOX_DIR";
pub const FROM_VAR: &str = "EMAIL_FROM";
pub const SES_ENDPOINT_VAR: &str = "SES_ENDPOINT";
pub const FRONTEND_URL_VAR: &str = "FRONTEND_URL";
/// The frontend `make dev` assumes when `FRONTEND_URL` is not set.
pub const DEV_FRONTEND_URL: &str = "http://localhost:3000";

/// The time a public request naming an address (a password reset, a
/// verification link by email) spends on its message, whether or not it
/// sends one: a response must not tell by its timing that an account
/// exists. Well above an SES `SendEmail` in the same region (tens of
/// milliseconds); a send slower than this still shows.
pub const UNIFORM_SEND_TIME: std::time::Duration = std::time::Duration::from_millis(400);

/// Waits until [`UNIFORM_SEND_TIME`] has passed since `started` (taken
/// just before the message, if any, was sent).
pub async fn pad_send_time(started: tokio::time::Instant) {
    tokio::time::sleep_until(started + UNIFORM_SEND_TIME).await;
}

#[derive(Debug, thiserror::Error)]
pub enum EmailConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(
        "EMAIL_OUTBOX_DIR is not set and this build lacks the `email` feature of `shared` (SES)"
    )]
    SesDisabled,
}

impl EmailSettings {
    /// From the process environment (empty values count as unset).
    pub fn from_env() -> Result<Self, EmailConfigError> {
        Self::from_lookup(crate::config::env_var)
    }

    /// Through `get`, so tests need not touch the environment.
    /// `FRONTEND_URL` may be left out only with `LOCAL_DEV`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, EmailConfigError> {
        let local_dev = matches!(get("LOCAL_DEV").as_deref(), Some("1" | "true"));
        let frontend_url = match get(FRONTEND_URL_VAR) {
            Some(url) => url,
            None if local_dev => DEV_FRONTEND_URL.to_owned(),
            None => return Err(EmailConfigError::Missing(FRONTEND_URL_VAR)),
        };
        if !(frontend_url.starts_with("https://") || frontend_url.starts_with("http://"))
            || frontend_url.chars().any(char::is_whitespace)
        {
            return Err(EmailConfigError::Invalid {
                name: FRONTEND_URL_VAR,
                reason: "expected an http(s) URL".into(),
            });
        }
        let settings = Self {
            outbox_dir: get(OUTBOX_DIR_VAR).map(PathBuf::from),
            from: get(FROM_VAR),
            ses_endpoint: get(SES_ENDPOINT_VAR),
            frontend_url: frontend_url.trim_end_matches('/').to_owned(),
        };
        if settings.outbox_dir.is_none() && settings.from.is_none() {
            return Err(EmailConfigError::Missing(FROM_VAR));
        }
        Ok(settings)
    }
}

/// The sender the settings select: the outbox when `EMAIL_OUTBOX_DIR` is
/// set, otherwise SES (from `EMAIL_FROM`).
pub fn sender(
    settings: &EmailSettings,
    aws: &aws_types::SdkConfig,
) -> Result<Arc<dyn EmailSender>, EmailConfigError> {
    if let Some(dir) = &settings.outbox_dir {
        return Ok(Arc::new(OutboxSender::new(dir.clone())));
    }
    ses_sender(settings, aws)
}

#[cfg(feature = "email")]
fn ses_sender(
    settings: &EmailSettings,
    aws: &aws_types::SdkConfig,
) -> Result<Arc<dyn EmailSender>, EmailConfigError> {
    let from = settings
        .from
        .clone()
        .ok_or(EmailConfigError::Missing(FROM_VAR))?;
    Ok(Arc::new(SesSender::on_first_use(
        aws.clone(),
        settings.ses_endpoint.clone(),
        from,
    )))
}

#[cfg(not(feature = "email"))]
fn ses_sender(
    _settings: &EmailSettings,
    _aws: &aws_types::SdkConfig,
) -> Result<Arc<dyn EmailSender>, EmailConfigError> {
    Err(EmailConfigError::SesDisabled)
}

/// A sender and where links point: what a handler that sends mail holds.
#[derive(Clone)]
pub struct Mailer {
    sender: Arc<dyn EmailSender>,
    frontend_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("frontend_url", &self.frontend_url)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// `frontend_url` without a trailing slash (one is removed).
    pub fn new(sender: Arc<dyn EmailSender>, frontend_url: impl Into<String>) -> Self {
        let frontend_url: String = frontend_url.into();
        Self {
            sender,
            frontend_url: frontend_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The mailer the environment describes (see [`sender`]).
    pub fn from_settings(
        settings: &EmailSettings,
        aws: &aws_types::SdkConfig,
    ) -> Result<Self, EmailConfigError> {
        Ok(Self::new(sender(settings, aws)?, &settings.frontend_url))
    }

    /// `{FRONTEND_URL}{path}?token={token}`; `token` must be URL-safe
    /// (base64url is).
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.frontend_url)
    }

    /// Sends `email`; a failure is logged, never returned: the caller's
    /// action stands (see the module documentation). Returns whether the
    /// message was handed over.
    pub async fn deliver(&self, email: &Email) -> bool {
        match self.sender.send(email).await {
            Ok(()) => {
                tracing::info!(subject = %email.subject, "email sent");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, subject = %email.subject, "email could not be sent; the request goes on");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::lookup;

    #[test]
    fn the_outbox_wins_and_ses_needs_a_sender_address() {
        let s = EmailSettings::from_lookup(lookup(&[
            ("LOCAL_DEV", "1"),
            (OUTBOX_DIR_VAR, "/tmp/mail"),
        ]))
        .unwrap();
        assert_eq!(s.outbox_dir, Some(PathBuf::from("/tmp/mail")));
        assert_eq!(s.frontend_url, DEV_FRONTEND_URL);

        let err = EmailSettings::from_lookup(lookup(&[(FRONTEND_URL_VAR, "https://app.example")]))
            .unwrap_err();
        assert!(matches!(err, EmailConfigError::Missing(FROM_VAR)), "{err}");

        let s = EmailSettings::from_lookup(lookup(&[
            (FRONTEND_URL_VAR, "https://app.example/"),
            (FROM_VAR, "no-reply@example.com"),
        ]))
        .unwrap();
        assert_eq!(s.frontend_url, "https://app.example");
        assert_eq!(s.outbox_dir, None);
    }

    #[test]
    fn the_frontend_url_is_required_outside_local_dev_and_must_be_http() {
        let err = EmailSettings::from_lookup(lookup(&[(FROM_VAR, "a@b.io")])).unwrap_err();
        assert!(matches!(err, EmailConfigError::Missing(FRONTEND_URL_VAR)));
        let err = EmailSettings::from_lookup(lookup(&[
            (FROM_VAR, "a@b.io"),
            (FRONTEND_URL_VAR, "javascript:alert(1)"),
        ]))
        .unwrap_err();
        assert!(matches!(err, EmailConfigError::Invalid { .. }));
    }

    #[test]
    fn links_join_the_frontend_url_and_the_token() {
        let mailer = Mailer::new(
            Arc::new(OutboxSender::new(std::env::temp_dir())),
            "https://app.example/",
        );
        assert_eq!(
            mailer.link("/reset-password", "abc_-"),
            "https://app.example/reset-password?token=abc_-"
        );
    }

    #[test]
    fn debug_never_shows_the_bodies() {
        let email = Email {
            to: "a@b.io".into(),
            subject: "s".into(),
            text: "secret-link".into(),
            html: "secret-link".into(),
        };
        assert!(!format!("{email:?}").contains("secret"));
    }
}
