//! Relay cursor connections over any SeaORM query, with keyset pagination:
//! the cursor names a row, and the sort value is read from that row in SQL,
//! so pages stay stable under inserts and any sort column works.
//!
//! Cursors are signed (HMAC-SHA256 over the list, the viewer and the row, with
//! a server key): a client can only hand back cursors the server gave it, so a
//! hand-made cursor cannot find out where an invisible row would sort. A
//! forged or foreign cursor is BAD_USER_INPUT.

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

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    error::{AppError, AppResult},
    graphql::support::context::request,
};

pub use crate::graphql::support::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

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

/// Signs and checks the cursors of one list for one viewer.
pub struct Cursors<'a> {
    secret: &'a [u8],
    list: &'a str,
    viewer: i64,
}

/// Bytes of the MAC kept in a cursor: 96 bits cannot be guessed.
const MAC_BYTES: usize = 12;

impl<'a> Cursors<'a> {
    pub fn new(secret: &'a str, list: &'a str, viewer: i64) -> Self {
        Self { secret: secret.as_bytes(), list, viewer }
    }

    fn mac(&self, id: i64) -> [u8; MAC_BYTES] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret).unwrap_or_else(|_| {
            // HMAC takes keys of any length; this branch cannot run.
            <Hmac<Sha256> as Mac>::new_from_slice(b"-").unwrap_or_else(|_| unreachable!())
        });
        mac.update(format!("{}\n{}\n{id}", self.list, self.viewer).as_bytes());
        let full = mac.finalize().into_bytes();
        let mut short = [0u8; MAC_BYTES];
        short.copy_from_slice(&full[..MAC_BYTES]);
        short
    }

    pub fn encode(&self, id: i64) -> String {
        let mut raw = id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.mac(id));
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(&self, field: &str, cursor: &str) -> AppResult<i64> {
        let invalid = || AppError::bad_input(field, format!("{field} is not a cursor of this list"));
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if raw.len() != 8 + MAC_BYTES {
            return Err(invalid());
        }
        let (id, mac) = raw.split_at(8);
        let id = i64::from_be_bytes(id.try_into().map_err(|_| invalid())?);
        // Constant-time comparison, so the MAC cannot be found byte by byte.
        let expected = self.mac(id);
        let same = expected.iter().zip(mac).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same { Ok(id) } else { Err(invalid()) }
    }
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
    let rc = request(ctx).map_err(|e| AppError::Internal(e.message))?;
    let list = E::default().table_name().to_owned();
    let cursors = Cursors::new(&rc.services.config.cursor_secret, &list, rc.viewer().user_id);
    let after = args.after.as_deref().map(|c| cursors.decode("after", c)).transpose()?;
    let before = args.before.as_deref().map(|c| cursors.decode("before", c)).transpose()?;
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
    let cursors: Vec<String> = rows.iter().map(|row| cursors.encode(id_of(row))).collect();
    let mut conn = Connection::with_additional_fields(has_previous, has_next, ConnectionTotals { total_count });
    conn.edges.extend(cursors.into_iter().zip(wrap(rows)).map(|(cursor, node)| Edge::new(cursor, node)));
    Ok(conn)
}

/// Declares the `orderBy` input of a list: an enum of sortable fields, each
/// mapped to its column (`text` for a case-insensitive name), and an input
/// object with the field and a direction, whose defaults are the list's
/// natural order. Every sortable column has an index ending in `id`.
macro_rules! order_by {
    (
        $(#[$meta:meta])* $input:ident, $field:ident, $column:ty,
        default($default:ident, $direction:ident),
        { $($(#[$vmeta:meta])* $variant:ident => $col:expr $(, $text:ident)?);+ $(;)? }
    ) => {
        /// The fields a list can be sorted by.
        #[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
        pub enum $field {
            $($(#[$vmeta])* $variant,)+
        }

        impl Default for $field {
            fn default() -> Self {
                Self::$default
            }
        }

        $(#[$meta])*
        #[derive(async_graphql::InputObject, Default)]
        pub struct $input {
            /// The field to sort by (default: the list's natural order).
            #[graphql(default)]
            pub field: $field,
            /// Ascending or descending (default: the list's natural direction); ties are
            /// broken by ID in the same direction.
            pub direction: Option<$crate::graphql::support::enums::OrderDirection>,
        }

        impl $input {
            /// The keyset sort of this order.
            pub fn sort(&self, id: $column) -> $crate::graphql::support::pagination::Sort<$column> {
                let direction = self.direction.unwrap_or($crate::graphql::support::enums::OrderDirection::$direction);
                let descending = direction.descending();
                match self.field {
                    $($field::$variant => order_by!(@sort $col, id, descending $(, $text)?),)+
                }
            }
        }
    };
    (@sort $col:expr, $id:expr, $descending:expr, text) => {
        $crate::graphql::support::pagination::Sort::text($col, $id, $descending)
    };
    (@sort $col:expr, $id:expr, $descending:expr) => {
        $crate::graphql::support::pagination::Sort::new($col, $id, $descending)
    };
}
pub(crate) use order_by;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let cursors = Cursors::new("secret", "customer", 7);
        let cursor = cursors.encode(42);
        assert_eq!(cursors.decode("after", &cursor).ok(), Some(42));
        let mut raw = URL_SAFE_NO_PAD.decode(&cursor).unwrap_or_default();
        raw[7] = 43;
        assert!(cursors.decode("after", &URL_SAFE_NO_PAD.encode(&raw)).is_err());
        assert!(Cursors::new("secret", "customer", 8).decode("after", &cursor).is_err());
        assert!(Cursors::new("secret", "contact", 7).decode("after", &cursor).is_err());
        assert!(cursors.decode("after", "Yzo0Mg").is_err());
    }
}
