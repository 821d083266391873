//! One account's timeline in the API.

use async_graphql::{Context, Enum, ID, InputType, Result, SimpleObject, Value, connection::Edge};
use chrono::{DateTime, Utc};

use crate::{
    analytics::timeline::{self as analytics, Window},
    error::AppError,
    graphql::support::{
        context::request,
        fast::{self, Fast, Plain},
        ids,
        node::{Node, fetch},
        pagination::{Conn, ConnectionTotals, Cursors, page_size, wants_total},
        scalars::Date,
    },
};

/// What a timeline entry records.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::analytics::timeline::TimelineKind")]
pub enum TimelineKind {
    /// A communication (at when it took place; the node is the `Communication`).
    Communication,
    /// A ticket's history entry: opened, commented, moved, reassigned (needs `tickets:read` for a service account).
    TicketEvent,
    /// A commitment was recorded (the node is the `Commitment`).
    CommitmentMade,
    /// A commitment was kept (on its fulfilment day).
    CommitmentFulfilled,
    /// The customer was lost or won back (the node is the `ChurnEvent`).
    ChurnEvent,
    /// The partnership tier changed (the node is the `PartnershipChange`).
    TierChange,
    /// The health level changed (on the day of the change; the node is the `Customer`).
    HealthChange,
    /// A task was created (the node is the `Task`).
    TaskCreated,
    /// A task was done (at when it was marked DONE).
    TaskDone,
    /// A satisfaction survey was answered (the node is the `SurveyResponse`).
    SurveyResponse,
}

/// One thing that happened to an account.
#[derive(SimpleObject)]
pub struct TimelineEntry {
    /// When (a day-only fact at the start of its day, UTC; to the millisecond on SQLite).
    pub at: DateTime<Utc>,
    /// What it records.
    pub kind: TimelineKind,
    /// One line saying what happened.
    pub summary: String,
    /// The global ID of the row it came from.
    pub node_id: ID,
    /// The row it came from (null if you may not see it).
    pub node: Option<Node>,
}

impl Plain for TimelineEntry {
    fn plain(&self, name: &str, _hidden: Option<crate::policy::HiddenFields>) -> Option<Value> {
        Some(match name {
            "at" => fast::scalar(self.at),
            "kind" => fast::enumerated(self.kind),
            "summary" => fast::text(&self.summary),
            "nodeId" => fast::text(&self.node_id),
            _ => return None,
        })
    }
}

/// The first page a `customer` field's one `timeline` selection asks for
/// (its window and size), so that it is read with the customer in one
/// statement; `None` when there is no such selection, more than one, one
/// under a directive, one after a cursor, or arguments the field itself will refuse.
pub fn first_page_wanted(ctx: &Context<'_>) -> Option<(Window, u64)> {
    let fields = ctx.look_ahead().field("timeline").selection_fields();
    let [field] = fields.as_slice() else { return None };
    if !field.directives().ok()?.is_empty() {
        return None;
    }
    fn parse<T: InputType>(value: Value) -> Option<T> {
        T::parse(Some(value)).ok()
    }
    let (mut first, mut kinds, mut from, mut to) = (None, None, None, None);
    for (name, value) in field.arguments().ok()? {
        match name.as_str() {
            "first" => first = parse(value)?,
            "after" if value == Value::Null => {}
            "kinds" => kinds = parse(value)?,
            "from" => from = parse(value)?,
            "to" => to = parse(value)?,
            _ => return None,
        }
    }
    Some((window(kinds, from, to), page_size(first).ok()?))
}

/// The window of the field's arguments.
fn window(kinds: Option<Vec<TimelineKind>>, from: Option<Date>, to: Option<Date>) -> Window {
    Window {
        kinds: kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
        from: from.map(Into::into),
        to: to.map(Into::into),
    }
}

/// The customer's timeline: newest first, paged by signed cursors.
pub async fn timeline(
    ctx: &Context<'_>,
    customer_id: i64,
    first: Option<i32>,
    after: Option<String>,
    kinds: Option<Vec<TimelineKind>>,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Conn<Fast<TimelineEntry>>> {
    let rc = request(ctx)?;
    let viewer = rc.viewer();
    let first = page_size(first)?;
    let cursors = Cursors::new(&rc.services.config.cursor_secret, "timeline", viewer.user_id).for_selection(ctx);
    let after = match after.as_deref() {
        Some(cursor) => match cursors.decode_parts("after", cursor, 4)?.as_slice() {
            [customer, t, rank, id] if *customer == customer_id => Some((*t, *rank, *id)),
            _ => return Err(AppError::bad_input("after", "after is not a cursor of this list").into()),
        },
        None => None,
    };
    let window = window(kinds, from, to);
    let read_ahead = if after.is_none() { rc.take_timeline(customer_id, &window, first) } else { None };
    let (entries, more) = match read_ahead {
        Some(page) => (page.entries, page.more),
        None => analytics::page(&rc.db, &viewer, customer_id, &window, first, after).await?,
    };
    let total = if wants_total(ctx) { analytics::count(&rc.db, &viewer, customer_id, &window).await? } else { 0 };
    let wanted = ctx.look_ahead();
    let wants_nodes =
        wanted.field("edges").field("node").field("node").exists() || wanted.field("nodes").field("node").exists();
    let node_ids: Vec<ID> = entries.iter().map(|e| ids::encode(e.kind.node_type(), e.id)).collect();
    let mut nodes = if wants_nodes { fetch(rc, &node_ids).await? } else { Vec::new() };
    nodes.resize_with(entries.len(), || None);
    let mut conn = Conn::with_additional_fields(after.is_some(), more, ConnectionTotals { total_count: total });
    let len = entries.len();
    for (i, ((entry, node_id), node)) in entries.into_iter().zip(node_ids).zip(nodes).enumerate() {
        let (t, rank, id) = entry.key;
        let cursor =
            if cursors.wanted(i, len) { cursors.encode_parts(&[customer_id, t, rank, id]) } else { String::new() };
        conn.edges.push(Edge::new(
            cursor,
            Fast(TimelineEntry { at: entry.at, kind: entry.kind.into(), summary: entry.summary, node_id, node }),
        ));
    }
    Ok(conn)
}
