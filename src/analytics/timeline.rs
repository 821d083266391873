//! One account's timeline: everything that happened to a customer, newest
//! first, from every table that records it, in one statement per page (a
//! `UNION ALL` of one branch per kind, ordered by time and paged by a keyset
//! on (time, kind, row id)).
//!
//! Times are microseconds since 1970 (UTC): exact on PostgreSQL, to the
//! millisecond on SQLite (whose date functions stop there). A day-only fact
//! (a churn event, a survey answer, a kept commitment, a health change) sits at
//! the start of its day, UTC.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use entity::customer;

use crate::{
    db::{
        Dialect,
        decode::ByPosition,
        rows::{int, text},
    },
    error::AppResult,
    policy::{self, Resource, Viewer},
};

crate::names::named! {
    /// What a timeline entry records. The order is the tie-break between entries of the same instant.
    pub enum TimelineKind {
        Communication = "COMMUNICATION",
        TicketEvent = "TICKET_EVENT",
        CommitmentMade = "COMMITMENT_MADE",
        CommitmentFulfilled = "COMMITMENT_FULFILLED",
        ChurnEvent = "CHURN_EVENT",
        TierChange = "TIER_CHANGE",
        HealthChange = "HEALTH_CHANGE",
        TaskCreated = "TASK_CREATED",
        TaskDone = "TASK_DONE",
        SurveyResponse = "SURVEY_RESPONSE",
    }
}

impl TimelineKind {
    fn rank(self) -> i64 {
        self as i64
    }

    /// The global-ID type of the row an entry comes from.
    pub fn node_type(self) -> &'static str {
        match self {
            Self::Communication => "Communication",
            Self::TicketEvent => "TicketEvent",
            Self::CommitmentMade | Self::CommitmentFulfilled => "Commitment",
            Self::ChurnEvent => "ChurnEvent",
            Self::TierChange => "PartnershipChange",
            Self::HealthChange => "Customer",
            Self::TaskCreated | Self::TaskDone => "Task",
            Self::SurveyResponse => "SurveyResponse",
        }
    }
}

/// A position in the timeline: (microseconds, kind rank, row id).
pub type Key = (i64, i64, i64);

/// One entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
    /// The row it came from (the customer itself for a health change).
    pub id: i64,
    pub summary: String,
    pub key: Key,
}

/// What to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    /// Only these kinds (empty: all).
    pub kinds: Vec<TimelineKind>,
    /// From the start of this day (UTC).
    pub from: Option<NaiveDate>,
    /// To the end of this day (UTC).
    pub to: Option<NaiveDate>,
}

/// `expr` (a timestamp, or a date at the start of its day) as microseconds since 1970.
fn micros(dialect: Dialect, expr: &str, date: bool) -> String {
    if dialect.postgres() {
        let at = if date { format!("CAST({expr} AS TIMESTAMP)") } else { expr.to_owned() };
        format!("CAST(EXTRACT(EPOCH FROM {at}) * 1000000 AS BIGINT)")
    } else {
        format!("(CAST(ROUND((julianday({expr}) - 2440587.5) * 86400000.0) AS INTEGER) * 1000)")
    }
}

/// One branch per kind: (kind, SQL selecting `t, rank, id, summary` of the customer `$1`).
fn branches(dialect: Dialect, visible: impl Fn(&str) -> String) -> Vec<(TimelineKind, String)> {
    let m = |expr: &str, date: bool| micros(dialect, expr, date);
    let txt = |expr: &str| format!("CAST({expr} AS TEXT)");
    let customer = dialect.param(1);
    let of = |alias: &str| format!("{alias}.customer_id = {customer} {}", visible(&format!("{alias}.customer_id")));
    // Typed as the 64-bit integer the row reader asks for first: a 32-bit literal would fail that read and be
    // decoded a second time, on every row of every page.
    let rank = |kind: TimelineKind| format!("CAST({} AS BIGINT)", kind.rank());
    use TimelineKind as K;
    vec![
        (
            K::Communication,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, x.channel || ' ' || x.direction || ': ' || x.summary AS summary \
                 FROM communication x WHERE {of} AND x.archived_at IS NULL",
                t = m("x.occurred_at", false),
                r = rank(K::Communication),
                of = of("x"),
            ),
        ),
        (
            K::TicketEvent,
            format!(
                "SELECT {t} AS t, {r} AS rank, e.id AS id, e.kind || COALESCE(' ' || e.from_value || ' -> ' || e.to_value, '') || ': ' || x.title AS summary \
                 FROM ticket_event e JOIN ticket x ON x.id = e.ticket_id WHERE {of} AND x.archived_at IS NULL",
                t = m("e.created_at", false),
                r = rank(K::TicketEvent),
                of = of("x"),
            ),
        ),
        (
            K::CommitmentMade,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, 'Promised (' || x.kind || '): ' || x.description AS summary FROM commitment x \
                 WHERE {of} AND x.archived_at IS NULL",
                t = m("x.created_at", false),
                r = rank(K::CommitmentMade),
                of = of("x"),
            ),
        ),
        (
            K::CommitmentFulfilled,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, 'Kept (' || x.kind || '): ' || x.description AS summary FROM commitment x \
                 WHERE {of} AND x.archived_at IS NULL AND x.fulfilled_on IS NOT NULL",
                t = m("x.fulfilled_on", true),
                r = rank(K::CommitmentFulfilled),
                of = of("x"),
            ),
        ),
        (
            K::ChurnEvent,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, x.kind || COALESCE(' (' || x.reason || ')', '') || COALESCE(' to ' || x.competitor, '') AS summary \
                 FROM churn_event x WHERE {of}",
                t = m("x.occurred_on", true),
                r = rank(K::ChurnEvent),
                of = of("x"),
            ),
        ),
        (
            K::TierChange,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, 'Tier ' || COALESCE(x.from_tier, 'none') || ' -> ' || x.to_tier AS summary FROM partnership_change x \
                 WHERE {of}",
                t = m("x.created_at", false),
                r = rank(K::TierChange),
                of = of("x"),
            ),
        ),
        (
            K::HealthChange,
            // A change of level: the first row, or a level other than the previous row's.
            format!(
                "SELECT {t} AS t, {r} AS rank, x.customer_id AS id, 'Health ' || x.level || ' (' || {score} || ')' AS summary FROM customer_health_history x \
                 WHERE {of} AND COALESCE((SELECT p.level FROM customer_health_history p WHERE p.customer_id = x.customer_id \
                   AND p.day < x.day ORDER BY p.day DESC LIMIT 1), '') <> x.level",
                t = m("x.day", true),
                r = rank(K::HealthChange),
                score = txt("x.score"),
                of = of("x"),
            ),
        ),
        (
            K::TaskCreated,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, 'Task: ' || x.title AS summary FROM task x WHERE {of}",
                t = m("x.created_at", false),
                r = rank(K::TaskCreated),
                of = of("x"),
            ),
        ),
        (
            K::TaskDone,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, 'Done: ' || x.title AS summary FROM task x WHERE {of} AND x.status = 'DONE' \
                 AND x.closed_at IS NOT NULL",
                t = m("x.closed_at", false),
                r = rank(K::TaskDone),
                of = of("x"),
            ),
        ),
        (
            K::SurveyResponse,
            format!(
                "SELECT {t} AS t, {r} AS rank, x.id AS id, 'Satisfaction ' || {score} || '/10' || COALESCE(': ' || x.comment, '') AS summary \
                 FROM survey_response x WHERE {of}",
                t = m("x.responded_on", true),
                r = rank(K::SurveyResponse),
                score = txt("x.score"),
                of = of("x"),
            ),
        ),
    ]
}

/// The union of the chosen branches with the window's conditions on it:
/// (SQL of `u`, conditions, bound values), or `None` when no kind is left.
fn union(
    dialect: Dialect,
    viewer: &Viewer,
    customer_id: i64,
    window: &Window,
) -> Option<(String, Vec<String>, Vec<sea_orm::Value>)> {
    let visible = |column: &str| policy::visible_sql(dialect, viewer, Resource::Customers, column);
    let tickets = policy::ensure_can_read(viewer, Resource::Tickets).is_ok();
    let chosen: Vec<String> = branches(dialect, visible)
        .into_iter()
        .filter(|(kind, _)| window.kinds.is_empty() || window.kinds.contains(kind))
        .filter(|(kind, _)| *kind != TimelineKind::TicketEvent || tickets)
        .map(|(_, sql)| sql)
        .collect();
    if chosen.is_empty() {
        return None;
    }
    let mut conditions = Vec::new();
    let mut values: Vec<sea_orm::Value> = vec![customer_id.into()];
    let day_start = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_micros()).unwrap_or(0);
    if let Some(from) = window.from {
        values.push(day_start(from).into());
        conditions.push(format!("u.t >= {}", dialect.param(values.len())));
    }
    if let Some(to) = window.to.and_then(|d| d.succ_opt()) {
        values.push(day_start(to).into());
        conditions.push(format!("u.t < {}", dialect.param(values.len())));
    }
    Some((chosen.join(" UNION ALL "), conditions, values))
}

fn filter(conditions: &[String]) -> String {
    if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) }
}

/// The statement of a page after `after` (newest first): up to `first + 1`
/// entries, as `timeline_at, timeline_rank, timeline_id, timeline_summary`,
/// and its bound values (the customer is `$1`); `None` when no kind is left.
fn page_statement(
    dialect: Dialect,
    viewer: &Viewer,
    customer_id: i64,
    window: &Window,
    first: u64,
    after: Option<Key>,
) -> Option<(String, Vec<sea_orm::Value>)> {
    let (union, mut conditions, mut values) = union(dialect, viewer, customer_id, window)?;
    if let Some((t, rank, id)) = after {
        let (pt, pr, pi) = (values.len() + 1, values.len() + 2, values.len() + 3);
        values.extend([t.into(), rank.into(), id.into()]);
        let p = |n| dialect.param(n);
        conditions.push(format!(
            "(u.t < {t} OR (u.t = {t} AND (u.rank < {r} OR (u.rank = {r} AND u.id < {i}))))",
            t = p(pt),
            r = p(pr),
            i = p(pi)
        ));
    }
    let sql = format!(
        "SELECT u.t AS timeline_at, u.rank AS timeline_rank, u.id AS timeline_id, u.summary AS timeline_summary \
         FROM ({union}) u {} ORDER BY u.t DESC, u.rank DESC, u.id DESC LIMIT {}",
        filter(&conditions),
        first + 1
    );
    Some((sql, values))
}

/// The entries of a page's rows (a row without an entry, the customer's own
/// row when it has none, is passed over), and whether more than `first` came.
fn entries(rows: &[sea_orm::QueryResult], first: u64) -> AppResult<(Vec<Entry>, bool)> {
    let first = usize::try_from(first).unwrap_or(usize::MAX);
    let mut entries = Vec::with_capacity(rows.len().min(first));
    let mut more = false;
    for row in rows {
        let Some(rank) = row.try_get::<Option<i64>>("", "timeline_rank")? else { continue };
        if entries.len() == first {
            more = true;
            break;
        }
        let (t, id) = (int(row, "timeline_at")?, int(row, "timeline_id")?);
        let Some(kind) = usize::try_from(rank).ok().and_then(|r| TimelineKind::ALL.get(r)).copied() else { continue };
        entries.push(Entry {
            at: DateTime::from_timestamp_micros(t).unwrap_or_default(),
            kind,
            id,
            summary: text(row, "timeline_summary")?.unwrap_or_default(),
            key: (t, rank, id),
        });
    }
    Ok((entries, more))
}

/// A page of the customer's timeline after `after` (newest first): up to
/// `first` entries, and whether more follow. Ticket events need the tickets
/// scope of a service account; the customer must be visible to the viewer
/// (checked in the statement itself).
pub async fn page(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    customer_id: i64,
    window: &Window,
    first: u64,
    after: Option<Key>,
) -> AppResult<(Vec<Entry>, bool)> {
    let dialect = Dialect::of(db);
    let Some((sql, values)) = page_statement(dialect, viewer, customer_id, window, first, after) else {
        return Ok((Vec::new(), false));
    };
    entries(&dialect.rows_with(db, sql, values).await?, first)
}

/// A customer with the first page of its timeline.
pub struct WithCustomer {
    pub customer: customer::Model,
    pub entries: Vec<Entry>,
    pub more: bool,
}

/// A first page read with its customer, ahead of the field that shows it,
/// and what it was read for.
pub struct ReadAhead {
    pub customer_id: i64,
    pub window: Window,
    pub first: u64,
    pub entries: Vec<Entry>,
    pub more: bool,
}

/// The customer, if the viewer can see it, and the first page of its
/// timeline, in one statement: the customer's row (without an entry) and the
/// page's rows (without a customer), one `UNION ALL`. An account screen asks
/// for both at once, and a second round trip cost as much as the page itself;
/// a join would repeat the customer's columns on every entry, which cost the
/// database more than the second statement saved.
pub async fn with_customer(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    customer_id: i64,
    window: &Window,
    first: u64,
) -> AppResult<Option<WithCustomer>> {
    use sea_orm::{IdenStatic, Iterable};
    let dialect = Dialect::of(db);
    let columns: Vec<String> = customer::Column::iter().map(|c| format!("c.{}", c.as_str())).collect();
    let visible = policy::visible_sql(dialect, viewer, Resource::Customers, "c.id");
    let customer_row = |more: &str| {
        format!("SELECT {}{more} FROM customer c WHERE c.id = {} {visible}", columns.join(", "), dialect.param(1))
    };
    let (sql, values) = match page_statement(dialect, viewer, customer_id, window, first, None) {
        // The page keeps to visible customers by itself: a customer the viewer cannot see has no rows at all.
        Some((page, values)) => (
            format!(
                "{} UNION ALL SELECT {}, p.* FROM ({page}) p \
                 ORDER BY timeline_at DESC, timeline_rank DESC, timeline_id DESC",
                customer_row(
                    ", NULL AS timeline_at, NULL AS timeline_rank, NULL AS timeline_id, NULL AS timeline_summary"
                ),
                vec!["NULL"; columns.len()].join(", ")
            ),
            values,
        ),
        None => (customer_row(""), vec![customer_id.into()]),
    };
    let rows = dialect.rows_with(db, sql, values).await?;
    let is_customer = |row: &&sea_orm::QueryResult| row.try_get_by_index::<Option<i64>>(0).ok().flatten().is_some();
    let Some(row) = rows.iter().find(is_customer) else { return Ok(None) };
    // The customer's columns come first, in the entity's order.
    let customer = <customer::Model as ByPosition>::decode(row)?;
    let (entries, more) = if rows.len() > 1 { entries(&rows, first)? } else { (Vec::new(), false) };
    Ok(Some(WithCustomer { customer, entries, more }))
}

/// How many entries the window holds (a second statement, only when asked).
pub async fn count(db: &impl ConnectionTrait, viewer: &Viewer, customer_id: i64, window: &Window) -> AppResult<u64> {
    let dialect = Dialect::of(db);
    let Some((union, conditions, values)) = union(dialect, viewer, customer_id, window) else { return Ok(0) };
    let sql = format!("SELECT COUNT(*) AS n FROM ({union}) u {}", filter(&conditions));
    let rows = dialect.rows_with(db, sql, values).await?;
    Ok(rows.first().map(|row| int(row, "n")).transpose()?.unwrap_or(0).max(0) as u64)
}
