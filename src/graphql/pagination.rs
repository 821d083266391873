//! Relay cursor connections over any SeaORM query, with keyset pagination:
//! the cursor is the row id, and the sort value is read from that row in SQL,
//! so pages stay stable under inserts and any sort column works.

use async_graphql::{
    Context, SimpleObject,
    connection::{Connection, Edge, EmptyFields},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait, Func, QueryStatementBuilder},
};

use crate::error::{AppError, AppResult};

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 100;

/// Extra fields of every connection.
#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// Number of rows that match the filter, ignoring pagination.
    pub total_count: u64,
}

pub type Conn<N> = Connection<String, N, ConnectionTotals, EmptyFields>;

/// The four Relay arguments.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        Self { first, after, last, before }
    }

    /// (page size, backwards?)
    fn window(&self) -> AppResult<(usize, bool)> {
        let check = |field: &str, n: i32| {
            usize::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_PAGE_SIZE)
                .ok_or_else(|| AppError::bad_input(field, format!("{field} must be between 0 and {MAX_PAGE_SIZE}")))
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(AppError::bad_input("last", "pass either first or last, not both")),
            (Some(first), None) => Ok((check("first", first)?, false)),
            (None, Some(last)) => Ok((check("last", last)?, true)),
            (None, None) => Ok((DEFAULT_PAGE_SIZE, self.before.is_some() && self.after.is_none())),
        }
    }
}

pub fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{id}"))
}

fn decode_cursor(field: &str, cursor: &str) -> AppResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.strip_prefix("c:").and_then(|id| id.parse().ok()))
        .ok_or_else(|| AppError::bad_input(field, format!("{field} is not a valid cursor")))
}

/// How a list is sorted: a column, then the id to break ties.
pub struct Sort<C> {
    pub column: C,
    pub id: C,
    pub descending: bool,
    /// Compare `lower(column)`, so names sort the same on every backend and collation.
    pub fold_case: bool,
}

impl<C: ColumnTrait> Sort<C> {
    pub fn new(column: C, id: C, descending: bool) -> Self {
        Self { column, id, descending, fold_case: false }
    }

    /// A case-insensitive sort on a text column (backed by a `lower(column)` index).
    pub fn text(column: C, id: C, descending: bool) -> Self {
        Self { column, id, descending, fold_case: true }
    }

    fn key(&self) -> Expr {
        let column = Expr::col(self.column.as_column_ref());
        if self.fold_case { Func::lower(column).into() } else { column }
    }
}

/// Rows strictly after (or before) the cursor row in sort order.
fn beyond<E: EntityTrait>(sort: &Sort<E::Column>, cursor: i64, forward: bool) -> Condition {
    let value_at_cursor = E::find().select_only().expr(sort.key()).filter(sort.id.eq(cursor)).into_query();
    let cursor_value = || Expr::SubQuery(None, Box::new(value_at_cursor.clone().into_sub_query_statement()));
    let column = || sort.key();
    let id = Expr::col(sort.id.as_column_ref());
    let ascending = forward != sort.descending;
    let (past, id_past) = if ascending {
        (column().gt(cursor_value()), id.gt(cursor))
    } else {
        (column().lt(cursor_value()), id.lt(cursor))
    };
    Condition::any().add(past).add(Condition::all().add(column().eq(cursor_value())).add(id_past))
}

/// Whether the client selected `totalCount`, so the count query runs only when asked.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Runs one page of `select` and wraps it into a connection of `N`.
pub async fn connection<E, N>(
    ctx: &Context<'_>,
    db: &DatabaseConnection,
    select: Select<E>,
    sort: Sort<E::Column>,
    args: PageArgs,
    id_of: impl Fn(&E::Model) -> i64,
    wrap: impl FnOnce(Vec<E::Model>) -> Vec<N>,
) -> AppResult<Conn<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: async_graphql::OutputType,
{
    let (size, backwards) = args.window()?;
    let after = args.after.as_deref().map(|c| decode_cursor("after", c)).transpose()?;
    let before = args.before.as_deref().map(|c| decode_cursor("before", c)).transpose()?;
    let total_count = if wants_total(ctx) { select.clone().count(db).await? } else { 0 };

    let mut query = select;
    if let Some(after) = after {
        query = query.filter(beyond::<E>(&sort, after, true));
    }
    if let Some(before) = before {
        query = query.filter(beyond::<E>(&sort, before, false));
    }
    let order = if sort.descending != backwards { Order::Desc } else { Order::Asc };
    let mut rows =
        query.order_by(sort.key(), order.clone()).order_by(sort.id, order).limit(size as u64 + 1).all(db).await?;
    let has_more = rows.len() > size;
    rows.truncate(size);
    if backwards {
        rows.reverse();
    }
    let (has_previous, has_next) = if backwards { (has_more, before.is_some()) } else { (after.is_some(), has_more) };
    let cursors: Vec<String> = rows.iter().map(|row| encode_cursor(id_of(row))).collect();
    let mut conn = Connection::with_additional_fields(has_previous, has_next, ConnectionTotals { total_count });
    conn.edges.extend(cursors.into_iter().zip(wrap(rows)).map(|(cursor, node)| Edge::new(cursor, node)));
    Ok(conn)
}
