//! One account's timeline: everything that happened to a customer, newest
//! first, from every table that records it, in one statement per page (a
//! `UNION ALL` of one branch per kind, ordered by time and paged by a keyset
//! on (time, kind, row id)).
//!
//! Times are microseconds since 1970 (UTC): exact on PostgreSQL, to the
//! millisecond on SQLite (whose date functions stop there). A day-only fact
//! (a churn event, a survey answer, a kept commitment, a health change) sits at
//! the start of its day, UTC.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

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

/// Whether the window shows `kind` to the viewer: one of its kinds (all when
/// none is named), and ticket events only with the tickets scope.
fn shown(viewer: &Viewer, window: &Window, kind: TimelineKind) -> bool {
    (window.kinds.is_empty() || window.kinds.contains(&kind))
        && (kind != TimelineKind::TicketEvent || policy::ensure_can_read(viewer, Resource::Tickets).is_ok())
}

/// Whether the window shows the viewer any kind at all.
fn any_kind(viewer: &Viewer, window: &Window) -> bool {
    TimelineKind::ALL.iter().any(|kind| shown(viewer, window, *kind))
}

/// The union of the chosen branches with the window's conditions on it:
/// (SQL of `u`, conditions), or `None` when no kind is left. The bound values
/// are [`bound`]'s.
fn union(dialect: Dialect, viewer: &Viewer, window: &Window) -> Option<(String, Vec<String>)> {
    let visible = |column: &str| policy::visible_sql(dialect, viewer, Resource::Customers, column);
    let chosen: Vec<String> = branches(dialect, visible)
        .into_iter()
        .filter(|(kind, _)| shown(viewer, window, *kind))
        .map(|(_, sql)| sql)
        .collect();
    if chosen.is_empty() {
        return None;
    }
    let mut conditions = Vec::new();
    let mut n = 1;
    if window.from.is_some() {
        n += 1;
        conditions.push(format!("u.t >= {}", dialect.param(n)));
    }
    if window.to.is_some() {
        n += 1;
        conditions.push(format!("u.t < {}", dialect.param(n)));
    }
    Some((chosen.join(" UNION ALL "), conditions))
}

/// The values bound to a statement of the customer's timeline, in the order
/// of its parameters: the customer, the window's days, the cursor.
fn bound(customer_id: i64, window: &Window, after: Option<Key>) -> Vec<sea_orm::Value> {
    let day_start = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_micros()).unwrap_or(0);
    let mut values: Vec<sea_orm::Value> = vec![customer_id.into()];
    values.extend(window.from.map(|from| day_start(from).into()));
    // To the end of the day: before the start of the next.
    values.extend(window.to.map(|to| to.succ_opt().map_or(i64::MAX, day_start).into()));
    if let Some((t, rank, id)) = after {
        values.extend([t.into(), rank.into(), id.into()]);
    }
    values
}

fn filter(conditions: &[String]) -> String {
    if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) }
}

/// What the text of a statement of this module depends on.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Shape {
    postgres: bool,
    scope: policy::CustomerScope,
    tickets: bool,
    /// The kinds named, one bit each: the text does not depend on their order or repeats.
    kinds: u16,
    from: bool,
    to: bool,
    after: bool,
    first: u64,
    with_customer: bool,
}

impl Shape {
    fn of(dialect: Dialect, viewer: &Viewer, window: &Window, first: u64, after: bool, with_customer: bool) -> Self {
        Self {
            postgres: dialect.postgres(),
            scope: policy::customer_scope(viewer, Resource::Customers),
            tickets: policy::ensure_can_read(viewer, Resource::Tickets).is_ok(),
            kinds: window.kinds.iter().fold(0, |mask, kind| mask | 1 << kind.rank()),
            from: window.from.is_some(),
            to: window.to.is_some(),
            after,
            first,
            with_customer,
        }
    }
}

/// The statement text of `shape`, written by `write` the first time. Writing
/// one takes some sixty small allocations, more than its rows take to read.
/// The shapes are bounded (a scope per team or rep, 1,024 sets of kinds, 101
/// page sizes) but could be many on a large book; the cache starts again
/// should it ever hold more than `MOST`.
fn statement(shape: Shape, write: impl FnOnce() -> Option<String>) -> Option<Arc<str>> {
    type Texts = Mutex<HashMap<Shape, Option<Arc<str>>>>;
    static TEXTS: LazyLock<Texts> = LazyLock::new(Texts::default);
    const MOST: usize = 4096;
    if let Some(text) = TEXTS.lock().unwrap_or_else(PoisonError::into_inner).get(&shape) {
        return text.clone();
    }
    let text: Option<Arc<str>> = write().map(Arc::from);
    let mut texts = TEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if texts.len() >= MOST {
        texts.clear();
    }
    texts.insert(shape, text.clone());
    text
}

/// The text of a page after a cursor (when `after`), newest first: up to
/// `first + 1` entries, as `timeline_at, timeline_rank, timeline_id,
/// timeline_summary`; `None` when no kind is left.
fn page_text(dialect: Dialect, viewer: &Viewer, window: &Window, first: u64, after: bool) -> Option<String> {
    let (union, mut conditions) = union(dialect, viewer, window)?;
    if after {
        let n = 1 + usize::from(window.from.is_some()) + usize::from(window.to.is_some());
        let p = |k| dialect.param(n + k);
        conditions.push(format!(
            "(u.t < {t} OR (u.t = {t} AND (u.rank < {r} OR (u.rank = {r} AND u.id < {i}))))",
            t = p(1),
            r = p(2),
            i = p(3)
        ));
    }
    Some(format!(
        "SELECT u.t AS timeline_at, u.rank AS timeline_rank, u.id AS timeline_id, u.summary AS timeline_summary \
         FROM ({union}) u {} ORDER BY u.t DESC, u.rank DESC, u.id DESC LIMIT {}",
        filter(&conditions),
        first + 1
    ))
}

/// The entries of a page's rows, newest first (a row without an entry, the
/// customer's own row when it has none, is passed over), and whether more
/// than `first` came. The rows are put in order here: a page read with its
/// customer comes back in no particular order, which spares the database a
/// second sort of the page it has just sorted.
fn entries(rows: &[sea_orm::QueryResult], first: u64) -> AppResult<(Vec<Entry>, bool)> {
    let first = usize::try_from(first).unwrap_or(usize::MAX);
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(rank) = row.try_get::<Option<i64>>("", "timeline_rank")? else { continue };
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
    entries.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.key));
    let more = entries.len() > first;
    entries.truncate(first);
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
    let shape = Shape::of(dialect, viewer, window, first, after.is_some(), false);
    let Some(sql) = statement(shape, || page_text(dialect, viewer, window, first, after.is_some())) else {
        return Ok((Vec::new(), false));
    };
    entries(&dialect.rows_with(db, sql.to_string(), bound(customer_id, window, after)).await?, first)
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
    let dialect = Dialect::of(db);
    let shape = Shape::of(dialect, viewer, window, first, false, true);
    let sql = statement(shape, || Some(with_customer_text(dialect, viewer, window, first))).unwrap_or_default();
    let values = if any_kind(viewer, window) { bound(customer_id, window, None) } else { vec![customer_id.into()] };
    let rows = dialect.rows_with(db, sql.to_string(), values).await?;
    let is_customer = |row: &&sea_orm::QueryResult| row.try_get_by_index::<Option<i64>>(0).ok().flatten().is_some();
    let Some(row) = rows.iter().find(is_customer) else { return Ok(None) };
    // The customer's columns come first, in the entity's order.
    let customer = <customer::Model as ByPosition>::decode(row)?;
    let (entries, more) = if rows.len() > 1 { entries(&rows, first)? } else { (Vec::new(), false) };
    Ok(Some(WithCustomer { customer, entries, more }))
}

/// The text of [`with_customer`]: the customer's row alone when the window
/// holds no kind the viewer may read.
fn with_customer_text(dialect: Dialect, viewer: &Viewer, window: &Window, first: u64) -> String {
    use sea_orm::{IdenStatic, Iterable};
    let columns: Vec<String> = customer::Column::iter().map(|c| format!("c.{}", c.as_str())).collect();
    let visible = policy::visible_sql(dialect, viewer, Resource::Customers, "c.id");
    let customer_row = |more: &str| {
        format!("SELECT {}{more} FROM customer c WHERE c.id = {} {visible}", columns.join(", "), dialect.param(1))
    };
    match page_text(dialect, viewer, window, first, false) {
        // The page keeps to visible customers by itself: a customer the viewer cannot see has no rows at all.
        // In no order: [`entries`] orders the page's rows.
        Some(page) => format!(
            "{} UNION ALL SELECT {}, p.* FROM ({page}) p",
            customer_row(", NULL AS timeline_at, NULL AS timeline_rank, NULL AS timeline_id, NULL AS timeline_summary"),
            vec!["NULL"; columns.len()].join(", ")
        ),
        None => customer_row(""),
    }
}

/// How many entries the window holds (a second statement, only when asked).
pub async fn count(db: &impl ConnectionTrait, viewer: &Viewer, customer_id: i64, window: &Window) -> AppResult<u64> {
    let dialect = Dialect::of(db);
    let Some((union, conditions)) = union(dialect, viewer, window) else { return Ok(0) };
    let sql = format!("SELECT COUNT(*) AS n FROM ({union}) u {}", filter(&conditions));
    let rows = dialect.rows_with(db, sql, bound(customer_id, window, None)).await?;
    Ok(rows.first().map(|row| int(row, "n")).transpose()?.unwrap_or(0).max(0) as u64)
}
