//! Billing periods: calendar-month and calendar-year arithmetic.
//!
//! A period boundary is never computed by stepping from the previous one,
//! which would drift (Jan 31 → Feb 28 → Mar 28). Boundaries sit on a grid
//! anchored at the first paid period's start: the `k`-th boundary is
//! `anchor + k cycles`, computed from the anchor and clamped to the target
//! month's last day, so Jan 31 → Feb 28 → Mar 31 → Apr 30. Time of day and
//! UTC offset are the anchor's.
//!
//! The record stores no anchor, so [`next_period`] recovers the grid from an
//! anchor the caller derives (see `lifecycle::billing_anchor`) and re-anchors
//! at the current period's end when that end is not on the grid (e.g. after
//! the API moved the period).

use super::subscription::BillingCycle;
use time::{Date, Month, OffsetDateTime};

/// `start` plus one cycle: one calendar month clamped to that month's last
/// day (Jan 31 → Feb 28, or Feb 29 in leap years), or one calendar year
/// (Feb 29 → Feb 28). Time of day and offset are kept.
///
/// For successive periods use [`nth_period`] / [`next_period`], which do not
/// drift after a clamped month.
pub fn add_cycle(start: OffsetDateTime, cycle: BillingCycle) -> OffsetDateTime {
    boundary(start, cycle, 1)
}

/// The `k`-th boundary of the grid anchored at `anchor` (`0` is the anchor
/// itself). Saturates at the last representable date, which no real
/// subscription reaches.
pub fn boundary(anchor: OffsetDateTime, cycle: BillingCycle, k: u32) -> OffsetDateTime {
    boundary_at(anchor, cycle, i64::from(k))
}

/// The `n`-th period (0-based) of the grid anchored at `anchor`, as
/// `(start, end)`: both ends are computed from the anchor, so a 31st anchor
/// gives Jan 31 → Feb 28 and then Feb 28 → Mar 31.
pub fn nth_period(
    anchor: OffsetDateTime,
    cycle: BillingCycle,
    n: u32,
) -> (OffsetDateTime, OffsetDateTime) {
    let n = i64::from(n);
    (
        boundary_at(anchor, cycle, n),
        boundary_at(anchor, cycle, n + 1),
    )
}

/// The period that follows the one ending at `current_end`, as
/// `(start, end)` with `start == current_end`.
///
/// When `current_end` is a boundary of the grid anchored at `anchor`, the end
/// is the next boundary of that grid (no drift). Otherwise the grid is lost
/// and the period is re-anchored at `current_end` ([`add_cycle`]).
pub fn next_period(
    anchor: OffsetDateTime,
    cycle: BillingCycle,
    current_end: OffsetDateTime,
) -> (OffsetDateTime, OffsetDateTime) {
    match grid_index(anchor, cycle, current_end) {
        Some(k) => (current_end, boundary_at(anchor, cycle, k + 1)),
        None => (current_end, add_cycle(current_end, cycle)),
    }
}

/// `k` such that `boundary(anchor, k) == at`, if `at` is on the grid.
fn grid_index(anchor: OffsetDateTime, cycle: BillingCycle, at: OffsetDateTime) -> Option<i64> {
    // Compare calendar fields in the anchor's offset; the instant is what counts.
    let local = at.checked_to_offset(anchor.offset())?;
    let k = match cycle {
        BillingCycle::Monthly => month_index(local) - month_index(anchor),
        BillingCycle::Yearly => i64::from(local.year()) - i64::from(anchor.year()),
    };
    (k >= 0 && boundary_at(anchor, cycle, k) == at).then_some(k)
}

fn boundary_at(anchor: OffsetDateTime, cycle: BillingCycle, k: i64) -> OffsetDateTime {
    let months = match cycle {
        BillingCycle::Monthly => k,
        BillingCycle::Yearly => k.saturating_mul(12),
    };
    shift_months(anchor, months).unwrap_or_else(|| anchor.replace_date(Date::MAX))
}

/// Months since year 0, January = 0.
fn month_index(at: OffsetDateTime) -> i64 {
    i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1
}

/// `anchor` moved by `months` calendar months, its day clamped to the target
/// month's length; `None` outside the representable range.
fn shift_months(anchor: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let index = month_index(anchor).checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::January.nth_next(u8::try_from(index.rem_euclid(12)).ok()?);
    let day = anchor.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(anchor.replace_date(date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    use BillingCycle::{Monthly, Yearly};

    #[test]
    fn monthly_clamps_to_the_last_day_of_the_month() {
        assert_eq!(
            add_cycle(datetime!(2026-01-31 10:00 UTC), Monthly),
            datetime!(2026-02-28 10:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2026-03-31 10:00 UTC), Monthly),
            datetime!(2026-04-30 10:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2026-05-31 10:00 UTC), Monthly),
            datetime!(2026-06-30 10:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2026-01-15 10:00 UTC), Monthly),
            datetime!(2026-02-15 10:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2026-01-30 10:00 UTC), Monthly),
            datetime!(2026-02-28 10:00 UTC)
        );
    }

    #[test]
    fn monthly_respects_leap_years() {
        assert_eq!(
            add_cycle(datetime!(2028-01-31 00:00 UTC), Monthly),
            datetime!(2028-02-29 00:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2028-01-29 00:00 UTC), Monthly),
            datetime!(2028-02-29 00:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2028-02-29 00:00 UTC), Monthly),
            datetime!(2028-03-29 00:00 UTC)
        );
        // Century rule: 2100 is not a leap year, 2000 was.
        assert_eq!(
            add_cycle(datetime!(2100-01-31 00:00 UTC), Monthly),
            datetime!(2100-02-28 00:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2000-01-31 00:00 UTC), Monthly),
            datetime!(2000-02-29 00:00 UTC)
        );
    }

    #[test]
    fn december_rolls_into_next_year() {
        assert_eq!(
            add_cycle(datetime!(2026-12-31 23:59 UTC), Monthly),
            datetime!(2027-01-31 23:59 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2026-12-01 08:00 UTC), Monthly),
            datetime!(2027-01-01 08:00 UTC)
        );
        assert_eq!(
            nth_period(datetime!(2026-11-30 00:00 UTC), Monthly, 1),
            (
                datetime!(2026-12-30 00:00 UTC),
                datetime!(2027-01-30 00:00 UTC)
            )
        );
    }

    #[test]
    fn yearly_adds_a_calendar_year_and_clamps_feb_29() {
        assert_eq!(
            add_cycle(datetime!(2026-03-15 12:00 UTC), Yearly),
            datetime!(2027-03-15 12:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2028-02-29 12:00 UTC), Yearly),
            datetime!(2029-02-28 12:00 UTC)
        );
        assert_eq!(
            add_cycle(datetime!(2027-02-28 12:00 UTC), Yearly),
            datetime!(2028-02-28 12:00 UTC)
        );
    }

    #[test]
    fn time_of_day_and_offset_are_kept() {
        let start = datetime!(2026-01-31 23:30:15.5 -05:00);
        let end = add_cycle(start, Monthly);
        assert_eq!(end, datetime!(2026-02-28 23:30:15.5 -05:00));
        assert_eq!(end.offset(), start.offset());
        // In UTC this is already Feb 1 / Mar 1: the month is the anchor's local one.
        assert_eq!(start.to_offset(time::UtcOffset::UTC).day(), 1);
    }

    #[test]
    fn anchored_periods_do_not_drift_after_a_short_month() {
        let anchor = datetime!(2026-01-31 09:00 UTC);
        let ends: Vec<_> = (0..4).map(|n| nth_period(anchor, Monthly, n).1).collect();
        assert_eq!(
            ends,
            [
                datetime!(2026-02-28 09:00 UTC),
                datetime!(2026-03-31 09:00 UTC),
                datetime!(2026-04-30 09:00 UTC),
                datetime!(2026-05-31 09:00 UTC)
            ]
        );
        assert_eq!(
            nth_period(anchor, Monthly, 1),
            (
                datetime!(2026-02-28 09:00 UTC),
                datetime!(2026-03-31 09:00 UTC)
            )
        );
        assert_eq!(nth_period(anchor, Monthly, 0).0, anchor);
        // Stepping instead would drift: documents why the grid exists.
        assert_eq!(
            add_cycle(add_cycle(anchor, Monthly), Monthly),
            datetime!(2026-03-28 09:00 UTC)
        );
    }

    #[test]
    fn yearly_anchor_on_feb_29_returns_to_feb_29_in_leap_years() {
        let anchor = datetime!(2028-02-29 00:00 UTC);
        assert_eq!(boundary(anchor, Yearly, 1), datetime!(2029-02-28 00:00 UTC));
        assert_eq!(boundary(anchor, Yearly, 3), datetime!(2031-02-28 00:00 UTC));
        assert_eq!(boundary(anchor, Yearly, 4), datetime!(2032-02-29 00:00 UTC));
        assert_eq!(
            nth_period(anchor, Yearly, 3),
            (
                datetime!(2031-02-28 00:00 UTC),
                datetime!(2032-02-29 00:00 UTC)
            )
        );
    }

    #[test]
    fn next_period_follows_the_grid() {
        let anchor = datetime!(2026-01-31 09:00 UTC);
        let (start, end) = next_period(anchor, Monthly, datetime!(2026-02-28 09:00 UTC));
        assert_eq!(
            (start, end),
            (
                datetime!(2026-02-28 09:00 UTC),
                datetime!(2026-03-31 09:00 UTC)
            )
        );
        assert_eq!(
            next_period(anchor, Monthly, anchor).1,
            datetime!(2026-02-28 09:00 UTC)
        );
        assert_eq!(
            next_period(anchor, Monthly, datetime!(2026-12-31 09:00 UTC)).1,
            datetime!(2027-01-31 09:00 UTC)
        );

        let leap = datetime!(2028-02-29 00:00 UTC);
        assert_eq!(
            next_period(leap, Yearly, datetime!(2031-02-28 00:00 UTC)).1,
            datetime!(2032-02-29 00:00 UTC)
        );
    }

    #[test]
    fn next_period_compares_instants_not_offsets() {
        let anchor = datetime!(2026-01-31 23:00 -02:00);
        // The same instant as Feb 28 23:00 -02:00, written in UTC.
        let end_in_utc = datetime!(2026-03-01 01:00 UTC);
        assert_eq!(
            next_period(anchor, Monthly, end_in_utc).1,
            datetime!(2026-03-31 23:00 -02:00)
        );
    }

    #[test]
    fn next_period_re_anchors_off_the_grid() {
        let anchor = datetime!(2026-01-31 09:00 UTC);
        // Not a boundary: a different day, a different time, or before the anchor.
        assert_eq!(
            next_period(anchor, Monthly, datetime!(2026-02-15 09:00 UTC)).1,
            datetime!(2026-03-15 09:00 UTC)
        );
        assert_eq!(
            next_period(anchor, Monthly, datetime!(2026-02-28 10:00 UTC)).1,
            datetime!(2026-03-28 10:00 UTC)
        );
        assert_eq!(
            next_period(anchor, Monthly, datetime!(2025-12-31 09:00 UTC)).1,
            datetime!(2026-01-31 09:00 UTC)
        );
        // A monthly grid does not serve a yearly cycle unless the date lines up.
        assert_eq!(
            next_period(anchor, Yearly, datetime!(2026-02-28 09:00 UTC)).1,
            datetime!(2027-02-28 09:00 UTC)
        );
    }

    #[test]
    fn saturates_instead_of_panicking_at_the_end_of_time() {
        let late = datetime!(9999-12-31 00:00 UTC);
        assert_eq!(add_cycle(late, Monthly).date(), Date::MAX);
        assert_eq!(
            boundary(datetime!(2026-01-01 00:00 UTC), Yearly, u32::MAX).date(),
            Date::MAX
        );
    }
}
