//! One page of any list, by keyset: the cursor names a row, and the sort
//! value is read from that row in SQL, so pages stay stable under inserts and
//! any sort column works. The list's query comes from its service (the
//! visible rows matching the filter); cursors are the transport's concern
//! (`crate::graphql::support::pagination` signs them).

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select,
    sea_query::{Expr, ExprTrait, Func, QueryStatementBuilder},
};

use crate::error::AppResult;

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

    pub fn key(&self) -> Expr {
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

/// Which rows a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Rows on the page.
    pub size: usize,
    /// Counted from the end (`last`), not the start (`first`).
    pub backwards: bool,
    /// Only rows after this row (by id), in sort order.
    pub after: Option<i64>,
    /// Only rows before this row (by id), in sort order.
    pub before: Option<i64>,
    /// Whether to count every row of the list too.
    pub count: bool,
}

/// One page of rows, in sort order.
#[derive(Debug, Clone)]
pub struct Page<M> {
    pub rows: Vec<M>,
    pub has_previous: bool,
    pub has_next: bool,
    /// Every row of the list, when the window asked for the count (else 0).
    pub total: u64,
}

/// Runs one page of `select`: one statement, two with the count.
pub async fn fetch<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    sort: &Sort<E::Column>,
    window: Window,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let Window { size, backwards, after, before, count } = window;
    let total = if count { select.clone().count(db).await? } else { 0 };
    let mut query = select;
    if let Some(after) = after {
        query = query.filter(beyond::<E>(sort, after, true));
    }
    if let Some(before) = before {
        query = query.filter(beyond::<E>(sort, before, false));
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
    Ok(Page { rows, has_previous, has_next, total })
}

/// One page of a list of customers or contacts: [`fetch`], then the rows
/// count toward the viewer's bulk-read audit (`crate::service::exports`).
pub async fn fetch_counted<E>(
    svc: &crate::service::Services,
    viewer: &crate::policy::Viewer,
    select: Select<E>,
    sort: &Sort<E::Column>,
    window: Window,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let page = fetch(&svc.db, select, sort, window).await?;
    svc.exports.record(&svc.db, viewer, page.rows.len()).await?;
    Ok(page)
}
