//! The limits of the credential-checking and public endpoints, over the
//! fixed-window counters of `shared::throttle`.
//!
//! Failed logins are counted per (email, source IP) and, with a higher cap,
//! per email over all IPs: an attacker's guesses from one address do not
//! lock the owner out from another.

use shared::http::ApiError;
use shared::report::ErrorChain;
use shared::store::Store;
pub use shared::throttle::{
    give_back, longer_wait, reserve, reserve_each, Limit, SourceIp, SplitLimit, UNKNOWN_IP,
};

/// Failed logins (and wrong old passwords at password change) per email
/// from one source IP: 5 per 15 minutes.
pub const LOGIN_PER_EMAIL_AND_IP: Limit = Limit {
    bucket: "login-ip",
    max: 5,
    window_secs: 15 * 60,
};

/// Failed logins per email from all IPs together: 100 per hour. High
/// enough that no single address can reach it under the per-IP limit.
pub const LOGIN_PER_EMAIL: Limit = Limit {
    bucket: "login-email",
    max: 100,
    window_secs: 60 * 60,
};

/// Registration attempts per source IP: 10 per hour (each hashes a
/// password and may create a tenant).
pub const REGISTRATIONS_PER_IP: Limit = Limit {
    bucket: "register-ip",
    max: 10,
    window_secs: 60 * 60,
};

/// Password-change attempts per source IP: 20 per hour.
pub const PASSWORD_CHANGES_PER_IP: Limit = Limit {
    bucket: "password-ip",
    max: 20,
    window_secs: 60 * 60,
};

/// Password-reset requests per source IP: 20 per hour (each may send a
/// message).
pub const PASSWORD_RESETS_PER_IP: Limit = Limit {
    bucket: "reset-ip",
    max: 20,
    window_secs: 60 * 60,
};

/// Password-reset requests per email, from all IPs: 5 per hour, so nobody
/// can flood a mailbox with reset messages.
pub const PASSWORD_RESETS_PER_EMAIL: Limit = Limit {
    bucket: "reset-email",
    max: 5,
    window_secs: 60 * 60,
};

/// Password-reset confirmations per source IP: 20 per hour (a valid token
/// costs an argon2 hash).
pub const PASSWORD_RESET_CONFIRMS_PER_IP: Limit = Limit {
    bucket: "reset-confirm-ip",
    max: 20,
    window_secs: 60 * 60,
};

/// Email-verification attempts (a link's token) per source IP: 20 per
/// hour, so nobody can probe tokens at any rate worth having.
pub const EMAIL_VERIFICATIONS_PER_IP: Limit = Limit {
    bucket: "verify-ip",
    max: 20,
    window_secs: 60 * 60,
};

/// Requests for a new verification link per source IP: 20 per hour (each
/// may send a message).
pub const VERIFICATION_RESENDS_PER_IP: Limit = Limit {
    bucket: "verify-resend-ip",
    max: 20,
    window_secs: 60 * 60,
};

/// Requests for a new verification link by a signed-in user: 3 per hour.
pub const VERIFICATION_RESENDS_PER_USER: Limit = Limit {
    bucket: "verify-resend-user",
    max: 3,
    window_secs: 60 * 60,
};

/// Requests for a new verification link naming an email, from all IPs:
/// 3 per hour, so nobody can flood a mailbox.
pub const VERIFICATION_RESENDS_PER_EMAIL: Limit = Limit {
    bucket: "verify-resend-email",
    max: 3,
    window_secs: 60 * 60,
};

/// Both login limits, counted in one item per email and hour: one write
/// takes a slot of each.
pub const LOGIN: SplitLimit = SplitLimit::new(LOGIN_PER_EMAIL, LOGIN_PER_EMAIL_AND_IP);

/// A password check's slots: one per (email, IP), one per email.
#[derive(Debug)]
pub struct LoginAttempt(shared::throttle::SplitSlot);

/// Reserves a password check for `email` from `ip` under both login
/// limits, in one write that takes both slots or neither. A kept
/// reservation is a counted failure.
pub async fn reserve_login(
    store: &Store,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<LoginAttempt, ApiError> {
    shared::throttle::reserve_split(store, &LOGIN, email, ip, now)
        .await
        .map(LoginAttempt)
}

/// Forgets the failed logins counted for `email` in the current windows:
/// from `ip`, and from all IPs together (a completed password reset
/// proves the mailbox, as a right password proves the account). Best
/// effort: a failure only leaves a counter standing until its window ends.
pub async fn clear_login(store: &Store, email: &str, ip: &str, now: i64) {
    if let Err(e) = shared::throttle::clear_split(store, &LOGIN, email, ip, now).await {
        tracing::warn!(error = %ErrorChain(&e), "could not clear a login counter");
    }
}

impl LoginAttempt {
    /// No password was checked (another limit refused the request): both
    /// slots are given back. Best effort, as [`Self::succeeded`].
    pub async fn not_counted(self, store: &Store) {
        if let Err(e) = self.0.give_back(store).await {
            tracing::warn!(error = %ErrorChain(&e), "could not release a login slot");
        }
    }

    /// The password was right: the failures from this IP for this email
    /// are forgiven (the owner proved the password from here), and this
    /// attempt's email-wide slot is given back; failures from other IPs
    /// stay counted. Best effort: a failure here only leaves a slot taken.
    pub async fn succeeded(self, store: &Store) {
        if let Err(e) = self.0.release_and_clear_part(store).await {
            tracing::warn!(error = %ErrorChain(&e), "could not release a login slot");
        }
    }
}
