//! The invitation's link: a fresh token, its item, and the message.

use shared::auth::OneTimeToken;
use shared::email::template::INVITATION;
use shared::email::Mailer;
use shared::invitations::{ACCEPT_PATH, TOKEN_TTL_SECS};
use shared::keys;
use shared::records::{InvitationRecord, InviteTokenRecord};
use shared::store::{Condition, Label, Transaction};
use time::OffsetDateTime;

/// A token for `invitation`, not yet stored.
pub(crate) struct Link {
    token: OneTimeToken,
    record: InviteTokenRecord,
}

impl Link {
    /// A token valid for seven days from `now`.
    pub(crate) fn new(invitation: &InvitationRecord, now: OffsetDateTime) -> Self {
        let record = InviteTokenRecord {
            tenant_id: invitation.tenant_id,
            invitation_id: invitation.id,
            email: invitation.email.clone(),
            created_at: now,
            expires_at: now.unix_timestamp() + TOKEN_TTL_SECS,
        };
        Self {
            token: OneTimeToken::generate(),
            record,
        }
    }

    pub(crate) fn hash(&self) -> &str {
        self.token.hash()
    }

    pub(crate) fn expires_at(&self) -> i64 {
        self.record.expires_at
    }

    /// Adds the token item to `tx` (label `invite_token`).
    pub(crate) fn store_in(&self, tx: &mut Transaction<'_>) {
        tx.put_platform(
            &keys::invite_token(self.token.hash()),
            &self.record,
            Condition::NotExists,
            Label::InviteToken,
        );
    }

    /// Mails the link. Best effort: a failure is logged (with the request
    /// id), never returned; the invitation stands and can be resent.
    /// Returns whether the message was handed over.
    pub(crate) async fn send(&self, mailer: &Mailer, organisation: &str, inviter: &str) -> bool {
        let to = &self.record.email;
        let link = mailer.link(ACCEPT_PATH, self.token.secret());
        let days = (TOKEN_TTL_SECS / (24 * 60 * 60)).to_string();
        let values = [
            ("link", link.as_str()),
            ("email", to.as_str()),
            ("organisation", organisation),
            ("inviter", inviter),
            ("valid_days", days.as_str()),
        ];
        let sent = match INVITATION.render(to, &values) {
            Ok(message) => mailer.deliver(&message).await,
            Err(e) => {
                tracing::error!(error = %e, "invitation email could not be rendered");
                false
            }
        };
        tracing::info!(invitation_id = %self.record.invitation_id, sent, "invitation link issued");
        sent
    }
}
