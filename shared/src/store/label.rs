/// Names one operation of a [`super::Transaction`], so that a failed
/// condition can be told apart from the others: which claim was taken,
/// which record changed meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// An audit entry (never fails: fresh key).
    Audit,
    /// A user's sign-in credential (the email claim, updated in place).
    Credential,
    /// A custom-domain claim.
    Domain,
    /// An email claim.
    Email,
    /// An invitation.
    Invitation,
    /// The claim on an invited email within a tenant.
    Invitee,
    /// An invitation's token.
    InviteToken,
    /// An invoice.
    Invoice,
    /// The platform-wide reference from an invoice to its tenant.
    InvoiceRef,
    /// A member-count or usage bound: the last active administrator.
    LastAdmin,
    /// A member-count or usage bound: the plan's user limit.
    Limit,
    /// A role or team name claim.
    Name,
    /// Another record held unchanged while this change is written.
    Other,
    /// A plan.
    Plan,
    /// A module's own record (a lead, an activity).
    Record,
    /// A refresh-token family.
    Family,
    /// A password-reset token.
    ResetToken,
    /// An email-verification token.
    VerifyToken,
    /// A revocation record.
    Revocation,
    /// A role.
    Role,
    /// The admin role's name claim when provisioning a tenant.
    RoleName,
    /// An invoice-number sequence.
    Sequence,
    /// A tenant or plan slug claim.
    Slug,
    /// A tenant's subscription.
    Subscription,
    /// The platform-wide reference from a subscription to its tenant.
    SubscriptionRef,
    /// A team.
    Team,
    /// A tenant's profile.
    Tenant,
    /// A user.
    User,
    /// A tenant's usage counters.
    Usage,
}
