//! What the users function (sending, resending, revoking invitations) and
//! the auth function (accepting them) agree on.
//!
//! An invitation is three items: the invitation in the tenant's partition
//! (listed, resent, revoked by the tenant's admins), a claim on its email
//! in the same partition (one pending invitation per address and tenant),
//! and its current token, platform-wide by hash (whoever accepts is not
//! signed in yet). Tokens follow the password-reset scheme
//! (`auth::OneTimeToken`): 32 random bytes in the link, only the SHA-256
//! stored.

use crate::keys;
use crate::records::InvitationRecord;
use crate::store::{Condition, Label, TenantScope, Transaction};

/// How long an invitation's link works: seven days.
pub const TOKEN_TTL_SECS: i64 = 7 * 24 * 60 * 60;

/// The frontend page an invitation link opens.
pub const ACCEPT_PATH: &str = "/accept-invitation";

/// Adds to `tx` the removal of a pending invitation as it was read: the
/// invitation (label `invitation`: fails if it changed meanwhile) and the
/// claim on its email. The token is the caller's: an acceptance consumes
/// it, a revocation deletes it.
pub fn close(tx: &mut Transaction<'_>, scope: &TenantScope, invitation: &InvitationRecord) {
    tx.tenant(scope).delete(
        &keys::invitation(invitation.id),
        Condition::VersionIs(invitation.version),
        Label::Invitation,
    );
    tx.tenant(scope)
        .release(&keys::invitee(&invitation.email), Label::Invitee);
}
