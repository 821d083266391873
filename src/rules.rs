//! The domain rules every figure shares, each defined once, below both the
//! services and the reports: what a live customer is, what "the last 12
//! months" are, where a customer's history starts. SQL conditions are
//! rendered from here, never re-spelled.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Account health: its signals, their weights, its levels.
pub mod health;
/// Customer segments: their thresholds.
pub mod segments;
/// Duplicates: what makes two rows likely one.
pub mod duplicates;
/// Ticket SLAs: deadlines, and what a breach is.
pub mod sla;

/// Statuses of a live customer: one the company still serves.
pub const LIVE_STATUSES: [&str; 2] = ["ACTIVE", "WON_BACK"];

/// Whether a customer is live: ACTIVE or WON_BACK, and not archived. Lost,
/// archived and prospective customers take no segment slot and are on no
/// at-risk list.
pub fn is_live(status: &str, archived: bool) -> bool {
    !archived && LIVE_STATUSES.contains(&status)
}

/// [`is_live`] as a SQL condition on the customer table aliased `alias`.
pub fn live_customer_sql(alias: &str) -> String {
    format!("{alias}.archived_at IS NULL AND {alias}.status IN ('ACTIVE', 'WON_BACK')")
}

/// A key contact, whose departure is a churn signal: an executive, or
/// influence or relationship strength of 4 or more (the three expressions of a contact).
pub fn champion_sql(level: &str, influence: &str, strength: &str) -> String {
    format!("({level} = 'EXECUTIVE' OR {influence} >= 4 OR {strength} >= 4)")
}

/// [`champion_sql`] on a contact's values (a missing influence or strength is not 4 or more).
pub fn is_champion(level: &str, influence: Option<i64>, strength: Option<i64>) -> bool {
    level == "EXECUTIVE" || influence.is_some_and(|i| i >= 4) || strength.is_some_and(|s| s >= 4)
}

/// A commitment (aliased `o`) broken by `day`: not fulfilled, not archived, due before that day.
pub fn overdue_commitment_sql(o: &str, day: &str) -> String {
    format!("{o}.fulfilled_on IS NULL AND {o}.archived_at IS NULL AND {o}.due_on < {day}")
}

/// [`overdue_commitment_sql`] as it stood on a past `day`, for a commitment
/// there then (`alive`: created by then, not archived by then): due before
/// that day and not fulfilled before it.
pub fn commitment_overdue_on(alive: bool, due_on: NaiveDate, fulfilled_on: Option<NaiveDate>, day: NaiveDate) -> bool {
    alive && due_on < day && fulfilled_on.is_none_or(|done| done >= day)
}

/// [`overdue_task_sql`] as it stood at a past instant: created by then, due
/// before `day`, and open then (still open, or closed after `at`).
pub fn task_overdue_at(
    created_at: DateTime<Utc>,
    due_on: NaiveDate,
    open: bool,
    closed_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> bool {
    created_at <= at && due_on < at.date_naive() && (open || closed_at.is_some_and(|closed| closed > at))
}

/// A task (aliased `w`) overdue on `day`: open and due before that day
/// (`crate::service::tasks::is_overdue` on a loaded row).
pub fn overdue_task_sql(w: &str, day: &str) -> String {
    format!("{w}.status = 'OPEN' AND {w}.due_on < {day}")
}

/// A run of whole months, by their first days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Months {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Months {
    /// The first day after the run.
    pub fn end_exclusive(self) -> NaiveDate {
        add_months(self.last, 1)
    }

    /// The last day of the run.
    pub fn last_day(self) -> NaiveDate {
        self.end_exclusive().pred_opt().unwrap_or(self.last)
    }
}

/// "The last 12 months" as of `today`: the 12 complete months before the
/// current one (on 2026-12-04, December 2025 to November 2026). The month in
/// progress never counts, so a figure does not sag through the month and jump
/// on its first day. Used by segments, health, the account status,
/// `Customer.revenueLast12Months` and every report's default window.
pub fn last_12_complete_months(today: NaiveDate) -> Months {
    let current = month_start(today);
    Months { first: add_months(current, -12), last: add_months(current, -1) }
}

/// The default window of a report whose days are inclusive (`[from, to]`):
/// the last 12 complete months, from the first day of the first to the last
/// day of the last.
pub fn default_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let months = last_12_complete_months(today);
    (months.first, months.last_day())
}

/// The first day of `date`'s month.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// The last day of `date`'s month.
pub fn month_end(date: NaiveDate) -> NaiveDate {
    add_months(month_start(date), 1).pred_opt().unwrap_or(date)
}

/// `date` moved by whole months, clamped to the end of shorter months.
pub fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    use chrono::Months as M;
    if months >= 0 {
        date.checked_add_months(M::new(months.unsigned_abs())).unwrap_or(date)
    } else {
        date.checked_sub_months(M::new(months.unsigned_abs())).unwrap_or(date)
    }
}

/// Where a customer's history starts when `customer_since` is not set: the
/// first month in which it had revenue. As SQL on the customer aliased
/// `alias`: its own date, else that month (NULL when it never bought). A book
/// whose revenue history starts inside a report's window therefore counts
/// its customers as gained in that month.
pub fn customer_start_sql(alias: &str) -> String {
    format!(
        "COALESCE({alias}.customer_since, (SELECT MIN(fr.month) FROM revenue_entry fr \
           WHERE fr.customer_id = {alias}.id AND fr.revenue_cents > 0))"
    )
}

/// Cents written as an amount with two decimals: `1234.50`, `-0.05`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `1234.5` or `-12.34` in the currency's units, to cents.
pub fn parse_cents(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an amount (digits, and at most two decimals after a point)");
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if units.is_empty() || fraction.len() > 2 || !units.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let cents = units.checked_mul(100).and_then(|c| c.checked_add(fraction)).ok_or_else(bad)?;
    Ok(if negative { -cents } else { cents })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn the_last_12_months_are_the_complete_ones_before_this_month() {
        let months = last_12_complete_months(d(2026, 12, 4));
        assert_eq!(months, Months { first: d(2025, 12, 1), last: d(2026, 11, 1) });
        assert_eq!(months.last_day(), d(2026, 11, 30));
        // On the first day of a month the month before is complete.
        assert_eq!(last_12_complete_months(d(2026, 1, 1)), Months { first: d(2025, 1, 1), last: d(2025, 12, 1) });
    }

    #[test]
    fn month_arithmetic_clamps_to_the_month_end() {
        assert_eq!(add_months(d(2024, 1, 31), 1), d(2024, 2, 29));
        assert_eq!(add_months(d(2024, 3, 15), -12), d(2023, 3, 15));
        assert_eq!(month_end(d(2023, 2, 10)), d(2023, 2, 28));
        assert_eq!(month_start(d(2023, 2, 10)), d(2023, 2, 1));
    }

    #[test]
    fn live_means_served_and_not_archived() {
        assert!(is_live("ACTIVE", false));
        assert!(is_live("WON_BACK", false));
        assert!(!is_live("LOST", false));
        assert!(!is_live("PROSPECT", false));
        assert!(!is_live("ACTIVE", true));
    }
}
