//! Invoice numbers, the invoice status machine and the invoice the lifecycle
//! asks the caller to create.

use super::BillingError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

/// Digits the sequence is zero-padded to; longer sequences keep every digit.
pub const SEQUENCE_WIDTH: usize = 6;

/// `INV-<year>-<sequence>`, the sequence zero-padded to six digits:
/// `invoice_number(2026, 42) == "INV-2026-000042"`. Sequences above 999999
/// keep all their digits, so numbers stay unique (they then no longer sort
/// as text, which is why the sequence, not the text, orders invoices).
/// Years are expected to have four digits, as [`parse_invoice_number`]
/// accepts only those.
pub fn invoice_number(year: i32, sequence: u64) -> String {
    format!("INV-{year}-{sequence:0width$}", width = SEQUENCE_WIDTH)
}

/// A parsed invoice number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvoiceNumber {
    pub year: i32,
    pub sequence: u64,
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&invoice_number(self.year, self.sequence))
    }
}

impl FromStr for InvoiceNumber {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_invoice_number(s)
    }
}

/// Parses and validates an invoice number. Only the canonical form
/// [`invoice_number`] produces is accepted (upper-case prefix, a four-digit
/// year from 1000, at least six sequence digits and no extra leading zero),
/// so a number round-trips and two spellings never name one invoice.
pub fn parse_invoice_number(s: &str) -> Result<InvoiceNumber, BillingError> {
    let invalid = || BillingError::InvalidInvoiceNumber(s.to_owned());
    let rest = s.strip_prefix("INV-").ok_or_else(invalid)?;
    let (year, sequence) = rest.split_once('-').ok_or_else(invalid)?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || !digits(year) || year.starts_with('0') {
        return Err(invalid());
    }
    if sequence.len() < SEQUENCE_WIDTH
        || !digits(sequence)
        || (sequence.len() > SEQUENCE_WIDTH && sequence.starts_with('0'))
    {
        return Err(invalid());
    }
    let year = year.parse().map_err(|_| invalid())?;
    // Overflowing u64 is the only way this fails.
    let sequence = sequence.parse().map_err(|_| invalid())?;
    Ok(InvoiceNumber { year, sequence })
}

/// Where an invoice stands. `pending` and `failed` are open (money is still
/// owed); `paid` and `void` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Pending,
    Paid,
    /// A charge attempt failed; it may still be paid, e.g. by retrying.
    Failed,
    /// Cancelled by an administrator; nothing is owed.
    Void,
}

impl InvoiceStatus {
    /// The serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Failed => "failed",
            Self::Void => "void",
        }
    }

    /// Money is still owed: the lifecycle counts grace and expiry from it.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Failed)
    }

    /// No transition leaves this status.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Paid | Self::Void)
    }

    /// `pending → paid | failed | void`, `failed → paid | void`; nothing
    /// else, including staying put (a repeated webhook is the caller's to
    /// recognise, not a transition).
    pub const fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Pending, Self::Paid | Self::Failed | Self::Void)
                | (Self::Failed, Self::Paid | Self::Void)
        )
    }

    /// `next` if the move is allowed, else a typed error naming both ends.
    pub fn transition(self, next: Self) -> Result<Self, BillingError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(BillingError::InvoiceTransition {
                from: self,
                to: next,
            })
        }
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invoice the lifecycle decided to issue. The caller assigns its id and
/// number (from its counter) and stores it as `pending` in the same
/// conditional write as the subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDraft {
    pub subscription_id: Uuid,
    pub tenant_id: Uuid,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub amount: Decimal,
    pub currency: String,
    pub issued_at: OffsetDateTime,
    pub due_date: OffsetDateTime,
    /// Modules stay until then while it is unpaid (`BillingPolicy::modules_until`).
    pub modules_until: OffsetDateTime,
}

impl InvoiceDraft {
    /// The draft as the open invoice the next lifecycle call must be given.
    pub fn open(&self, id: Uuid) -> OpenInvoice {
        OpenInvoice {
            id,
            period_start: self.period_start,
            period_end: self.period_end,
            due_date: self.due_date,
            status: InvoiceStatus::Pending,
            modules_until: Some(self.modules_until),
        }
    }
}

/// The subscription's unpaid invoice, as the lifecycle needs it. Invoices
/// that are `paid` or `void` are ignored, as if none were given. A copy is
/// kept on the subscription record, so the scheduler decides from one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenInvoice {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due_date: OffsetDateTime,
    pub status: InvoiceStatus,
    /// While unpaid, modules are granted until then; fixed at issue from
    /// the policy of the day. Absent on invoices issued before it existed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub modules_until: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use InvoiceStatus::{Failed, Paid, Pending, Void};

    #[test]
    fn numbers_are_zero_padded_to_six_digits() {
        assert_eq!(invoice_number(2026, 42), "INV-2026-000042");
        assert_eq!(invoice_number(2026, 0), "INV-2026-000000");
        assert_eq!(invoice_number(2026, 999_999), "INV-2026-999999");
        assert_eq!(
            InvoiceNumber {
                year: 2027,
                sequence: 7
            }
            .to_string(),
            "INV-2027-000007"
        );
    }

    #[test]
    fn long_sequences_keep_every_digit() {
        assert_eq!(invoice_number(2026, 1_000_000), "INV-2026-1000000");
        assert_eq!(
            invoice_number(2026, u64::MAX),
            format!("INV-2026-{}", u64::MAX)
        );
    }

    #[test]
    fn numbers_round_trip() {
        for (year, sequence) in [
            (2026, 42),
            (2026, 0),
            (1999, 999_999),
            (2030, 1_000_000),
            (9999, u64::MAX),
        ] {
            let text = invoice_number(year, sequence);
            assert_eq!(
                parse_invoice_number(&text),
                Ok(InvoiceNumber { year, sequence }),
                "{text}"
            );
            assert_eq!(
                text.parse::<InvoiceNumber>().map(|n| n.to_string()),
                Ok(text)
            );
        }
    }

    #[test]
    fn non_canonical_numbers_are_rejected() {
        for bad in [
            "",
            "INV-2026-42",
            "INV-2026-00042",
            "inv-2026-000042",
            "INV2026-000042",
            "INV-26-000042",
            "INV-02026-000042",
            "INV-0999-000042",
            "INV-2026-0000042",
            "INV-2026-00004a",
            "INV-2026-+00042",
            "INV-2026-000042-1",
            "INV--2026-000042",
            " INV-2026-000042",
            "INV-2026-000042 ",
            "INV-2026-99999999999999999999",
        ] {
            assert_eq!(
                parse_invoice_number(bad),
                Err(BillingError::InvalidInvoiceNumber(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_error_names_the_expected_format() {
        let message = parse_invoice_number("INV-1")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(message.contains("\"INV-1\""), "{message}");
        assert!(message.contains("INV-2026-000042"), "{message}");
    }

    #[test]
    fn allowed_transitions_are_exactly_the_documented_ones() {
        let all = [Pending, Paid, Failed, Void];
        let allowed = [
            (Pending, Paid),
            (Pending, Failed),
            (Pending, Void),
            (Failed, Paid),
            (Failed, Void),
        ];
        for from in all {
            for to in all {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} → {to}");
                match from.transition(to) {
                    Ok(next) => assert!(expected && next == to, "{from} → {to}"),
                    Err(e) => {
                        assert!(!expected, "{from} → {to}");
                        assert_eq!(e, BillingError::InvoiceTransition { from, to });
                    }
                }
            }
        }
    }

    #[test]
    fn paid_and_void_are_final_pending_and_failed_are_open() {
        assert!(Paid.is_final() && Void.is_final());
        assert!(!Pending.is_final() && !Failed.is_final());
        for status in [Pending, Paid, Failed, Void] {
            assert_eq!(status.is_open(), !status.is_final(), "{status}");
        }
        assert_eq!(
            Paid.transition(Void).map(|_| ()).unwrap_err().to_string(),
            "an invoice cannot go from paid to void"
        );
    }

    #[test]
    fn status_serializes_in_snake_case() {
        for status in [Pending, Paid, Failed, Void] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(
                serde_json::from_str::<InvoiceStatus>(&json).unwrap(),
                status
            );
        }
        assert!(serde_json::from_str::<InvoiceStatus>("\"Paid\"").is_err());
    }

    #[test]
    fn a_draft_opens_as_pending() {
        let at = time::macros::datetime!(2026-03-01 00:00 UTC);
        let draft = InvoiceDraft {
            subscription_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            period_start: at,
            period_end: at + time::Duration::days(31),
            amount: Decimal::new(2999, 2),
            currency: "USD".into(),
            issued_at: at,
            due_date: at + time::Duration::days(7),
            modules_until: at + time::Duration::days(14),
        };
        let id = Uuid::from_u128(7);
        let open = draft.open(id);
        assert_eq!(
            (open.id, open.status, open.due_date),
            (id, Pending, draft.due_date)
        );
        assert_eq!(
            (open.period_start, open.period_end),
            (draft.period_start, draft.period_end)
        );
    }
}
