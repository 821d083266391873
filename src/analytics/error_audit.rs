//! The error audit: failures counted by category over time, how fast they were
//! resolved, how often deadlines were missed, and recurrences — the same kind
//! of failure hitting a second customer soon after it was fixed for a first,
//! which is how one unlearnt lesson loses two accounts.

use chrono::{Days, NaiveDate};
use entity::enums::TicketCategory;
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection};

use crate::analytics::ratio;
use crate::db::rows::{date, float, int, text};
use crate::db::{Dialect, begin_read};
use crate::{
    error::{AppError, AppResult},
    policy::Resource,
    policy::Viewer,
};

/// A ticket opened this many days after another customer's ticket of the same
/// category was resolved is a recurrence.
pub const RECURRENCE_DAYS: u32 = 90;
/// Most recurrences one audit lists.
pub const MAX_RECURRENCES: u32 = 200;
/// Recurrences are looked for among the newest `PROBES_PER_RECURRENCE ×
/// recurrences` tickets of the window (1,000 for the default 50).
pub const PROBES_PER_RECURRENCE: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month,
    Quarter,
}

/// One category in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryFigure {
    /// First day of the month or quarter.
    pub period: NaiveDate,
    pub category: TicketCategory,
    /// Tickets opened in the period.
    pub tickets: i64,
    /// Of those, resolved (so far).
    pub resolved: i64,
    /// Of those, with a deadline missed (first response or resolution, late or overdue).
    pub breached: i64,
    pub median_resolution_hours: Option<f64>,
    pub p90_resolution_hours: Option<f64>,
}

impl CategoryFigure {
    pub fn breach_rate(&self) -> Option<f64> {
        ratio(self.breached as f64, self.tickets as f64)
    }
}

/// A failure that came back: `second` opened at another customer within
/// [`RECURRENCE_DAYS`] of `first`'s resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    pub first_ticket_id: i64,
    pub second_ticket_id: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorAudit {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub period: Period,
    pub figures: Vec<CategoryFigure>,
    /// The most recent recurrences of the window, newest first.
    pub recurrences: Vec<Recurrence>,
}

/// Hours to a hundredth (36 seconds): SQLite's day arithmetic is a float.
fn hundredths(hours: f64) -> f64 {
    (hours * 100.0).round() / 100.0
}

/// The error audit of the tickets the viewer can see, opened in `[from, to]`.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn audit(
    db: &DatabaseConnection,
    viewer: &Viewer,
    from: NaiveDate,
    to: NaiveDate,
    period: Period,
    recurrences: u32,
) -> AppResult<ErrorAudit> {
    crate::analytics::retention::check_window(from, to)?;
    if recurrences > MAX_RECURRENCES {
        return Err(AppError::bad_input("recurrences", format!("at most {MAX_RECURRENCES} recurrences")));
    }
    let txn = begin_read(db).await?;
    let window = (from, to.checked_add_days(Days::new(1)).unwrap_or(to));
    let figures = category_figures(&txn, viewer, window, period).await?;
    let found = recent_recurrences(&txn, viewer, window, recurrences).await?;
    Ok(ErrorAudit { from, to, period, figures, recurrences: found })
}

/// Per period and category: tickets opened, resolved, past their SLA, and
/// the median and 90th percentile of hours to resolution.
async fn category_figures(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    (from, until): (NaiveDate, NaiveDate),
    period: Period,
) -> AppResult<Vec<CategoryFigure>> {
    let dialect = Dialect::of(db);
    let visible = |column: &str| crate::policy::visible_sql(dialect, viewer, Resource::Tickets, column);
    let (start, end) = (dialect.timestamp(from), dialect.timestamp(until));
    let bucket = match period {
        Period::Month => dialect.month_of("t.created_at"),
        Period::Quarter => dialect.quarter_of("t.created_at"),
    };
    let hours = format!("{} / 3600.0", dialect.seconds_between("t.created_at", "t.resolved_at"));
    let now = dialect.now();
    let breached = crate::rules::sla::breached_flag_sql("t", &now);
    let sql = format!(
        "WITH tk AS ( \
           SELECT {bucket} AS period, t.category, \
             CASE WHEN t.resolved_at IS NOT NULL THEN {hours} END AS hours, \
             {breached} AS breached \
           FROM ticket t WHERE t.archived_at IS NULL AND t.created_at >= {start} AND t.created_at < {end} \
             {visible_t}) \
         {figures}",
        figures = if dialect.postgres() {
            // Nearest-rank percentiles are PostgreSQL's percentile_disc: one sort per group.
            "SELECT period, category, COUNT(*) AS tickets, \
               CAST(SUM(CASE WHEN hours IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS resolved, \
               CAST(SUM(breached) AS BIGINT) AS breached, \
               percentile_disc(0.5) WITHIN GROUP (ORDER BY hours) AS median, \
               percentile_disc(0.9) WITHIN GROUP (ORDER BY hours) AS p90 \
             FROM tk GROUP BY period, category ORDER BY period, category"
        } else {
            "SELECT a.period, a.category, a.tickets, a.resolved, a.breached, q.median, q.p90 FROM ( \
               SELECT period, category, COUNT(*) AS tickets, \
                 CAST(SUM(CASE WHEN hours IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS resolved, \
                 CAST(SUM(breached) AS BIGINT) AS breached \
               FROM tk GROUP BY period, category) a \
             LEFT JOIN ( \
               SELECT period, category, \
                 MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN hours END) AS median, \
                 MAX(CASE WHEN rn = (n * 90 + 99) / 100 THEN hours END) AS p90 \
               FROM (SELECT period, category, hours, \
                   ROW_NUMBER() OVER (PARTITION BY period, category ORDER BY hours) AS rn, \
                   COUNT(*) OVER (PARTITION BY period, category) AS n \
                 FROM tk WHERE hours IS NOT NULL) ranked \
               GROUP BY period, category) q ON q.period = a.period AND q.category = a.category \
             ORDER BY a.period, a.category"
        },
        visible_t = visible("t.customer_id"),
    );
    let mut figures = Vec::new();
    for row in dialect.rows(db, sql).await? {
        let (Some(period), Some(category)) = (date(&row, "period")?, text(&row, "category")?) else { continue };
        let Ok(category) = TicketCategory::try_from_value(&category) else { continue };
        figures.push(CategoryFigure {
            period,
            category,
            tickets: int(&row, "tickets")?,
            resolved: int(&row, "resolved")?,
            breached: int(&row, "breached")?,
            median_resolution_hours: float(&row, "median")?.map(hundredths),
            p90_resolution_hours: float(&row, "p90")?.map(hundredths),
        });
    }
    Ok(figures)
}

/// The most recent recurrences of the window: a ticket whose category
/// another customer's ticket was resolved in shortly before it was opened.
async fn recent_recurrences(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    (from, until): (NaiveDate, NaiveDate),
    recurrences: u32,
) -> AppResult<Vec<Recurrence>> {
    let dialect = Dialect::of(db);
    let visible = crate::policy::visible_sql(dialect, viewer, Resource::Tickets, "b.customer_id");
    let owners = crate::policy::visible_owner_sql(dialect, viewer, Resource::Tickets, "ac.owner_id");
    let (start, end) = (dialect.timestamp(from), dialect.timestamp(until));
    // Newest first, so the walk stops after `recurrences` finds; each probe
    // is one backward index scan of (category, resolved_at).
    let earlier = |columns: &str| {
        format!(
            "SELECT {columns} FROM ticket a {owner_join} WHERE a.category = b.category AND a.customer_id <> b.customer_id \
               AND a.resolved_at IS NOT NULL AND a.resolved_at < b.created_at AND {within} \
               AND a.archived_at IS NULL {visible_a} \
             ORDER BY a.resolved_at DESC, a.id DESC LIMIT 1",
            within = dialect.within_days_before("a.resolved_at", "b.created_at", RECURRENCE_DAYS),
            // By owner, not by a list of customers: SQLite would rebuild that list for every probe.
            owner_join = if owners.is_empty() { "" } else { "JOIN customer ac ON ac.id = a.customer_id" },
            visible_a = owners,
        )
    };
    let sql = format!(
        // The newest tickets of the window are probed, each with one backward
        // index scan: the work is bounded whatever the window's size (an EXISTS
        // would become a semi-join over every ticket, a probe in an ordered
        // query would run for every ticket before the sort).
        "SELECT second_id, first_id FROM ( \
           SELECT b.id AS second_id, b.created_at, ({first}) AS first_id FROM ( \
             SELECT b.id, b.category, b.customer_id, b.created_at FROM ticket b \
             WHERE b.archived_at IS NULL AND b.created_at >= {start} AND b.created_at < {end} {visible_b} \
             ORDER BY b.created_at DESC, b.id DESC LIMIT {scan}) b) probed \
         WHERE first_id IS NOT NULL ORDER BY created_at DESC, second_id DESC LIMIT {recurrences}",
        scan = recurrences.saturating_mul(PROBES_PER_RECURRENCE),
        first = earlier("a.id"),
        visible_b = visible,
    );
    let mut found = Vec::new();
    for row in dialect.rows(db, sql).await? {
        found.push(Recurrence { first_ticket_id: int(&row, "first_id")?, second_ticket_id: int(&row, "second_id")? });
    }
    Ok(found)
}
