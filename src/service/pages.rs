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

/// How a list is sorted: a column (or a value per row), then the id to break ties.
pub struct Sort<C> {
    pub column: C,
    pub id: C,
    pub descending: bool,
    /// Compare `lower(column)`, so names sort the same on every backend and collation.
    pub fold_case: bool,
    /// Sort by this value of each row instead of the column (a custom field).
    pub value: Option<RowValue>,
}

/// A value each row may lack, as SQL on the row: rows without it sort last in
/// either direction, so a descending sort still opens on the largest values.
#[derive(Clone)]
pub struct RowValue {
    /// 1 where the row has no value, 0 where it has one.
    pub missing: Expr,
    /// The value, never null (a placeholder where missing: `missing` orders those rows).
    pub value: Expr,
    /// The table both read, left-joined to the list's rows (at most one row each), so each row's value is
    /// looked up once, by the join, instead of once per expression.
    pub joined: Option<Joined>,
}

/// A table left-joined to a list's rows: its name, its alias, and the join condition.
#[derive(Clone)]
pub struct Joined {
    pub table: &'static str,
    pub alias: &'static str,
    pub on: String,
}

impl Joined {
    fn apply<E: EntityTrait>(&self, mut select: Select<E>) -> Select<E> {
        use sea_orm::sea_query::{Alias, JoinType};
        QuerySelect::query(&mut select).join_as(
            JoinType::LeftJoin,
            Alias::new(self.table),
            Alias::new(self.alias),
            Expr::cust(self.on.clone()),
        );
        select
    }
}

impl<C: ColumnTrait> Sort<C> {
    pub fn new(column: C, id: C, descending: bool) -> Self {
        Self { column, id, descending, fold_case: false, value: None }
    }

    /// A case-insensitive sort on a text column (backed by a `lower(column)` index).
    pub fn text(column: C, id: C, descending: bool) -> Self {
        Self { column, id, descending, fold_case: true, value: None }
    }

    /// A sort by a value of each row (rows without one last), then by id.
    pub fn by_value(value: RowValue, id: C, descending: bool) -> Self {
        Self { column: id, id, descending, fold_case: false, value: Some(value) }
    }

    /// The list's rows with what the sort reads joined to them.
    fn joined<E: EntityTrait<Column = C>>(&self, select: Select<E>) -> Select<E> {
        match self.value.as_ref().and_then(|v| v.joined.as_ref()) {
            Some(joined) => joined.apply(select),
            None => select,
        }
    }

    /// The keys before the id, each with whether it runs descending.
    fn keys(&self) -> Vec<(Expr, bool)> {
        match &self.value {
            Some(RowValue { missing, value, .. }) => vec![(missing.clone(), false), (value.clone(), self.descending)],
            None => {
                let column = Expr::col(self.column.as_column_ref());
                let key = if self.fold_case { Func::lower(column).into() } else { column };
                vec![(key, self.descending)]
            }
        }
    }
}

/// Rows strictly after (or before) the cursor row in sort order: past it on
/// some key, and level with it on every key before that one.
fn beyond<E: EntityTrait>(sort: &Sort<E::Column>, cursor: i64, forward: bool) -> Condition {
    let at_cursor = |key: &Expr| {
        let query = sort.joined(E::find()).select_only().expr(key.clone()).filter(sort.id.eq(cursor)).into_query();
        Expr::SubQuery(None, Box::new(query.into_sub_query_statement()))
    };
    let mut keys: Vec<(Expr, bool, Expr)> =
        sort.keys().into_iter().map(|(key, descending)| (key.clone(), descending, at_cursor(&key))).collect();
    keys.push((Expr::col(sort.id.as_column_ref()), sort.descending, Expr::val(cursor)));
    let mut any = Condition::any();
    for (i, (key, descending, value)) in keys.iter().enumerate() {
        let past = if forward != *descending { key.clone().gt(value.clone()) } else { key.clone().lt(value.clone()) };
        let mut level = Condition::all();
        for (before, _, value) in &keys[..i] {
            level = level.add(before.clone().eq(value.clone()));
        }
        any = any.add(level.add(past));
    }
    any
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
    let mut query = sort.joined(select);
    if let Some(after) = after {
        query = query.filter(beyond::<E>(sort, after, true));
    }
    if let Some(before) = before {
        query = query.filter(beyond::<E>(sort, before, false));
    }
    let order = |descending: bool| if descending != backwards { Order::Desc } else { Order::Asc };
    for (key, descending) in sort.keys() {
        query = query.order_by(key, order(descending));
    }
    let mut rows = query.order_by(sort.id, order(sort.descending)).limit(size as u64 + 1).all(db).await?;
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
