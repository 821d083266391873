//! Relay cursor connections over the lists' pages (`crate::service::pages`,
//! keyset pagination: the cursor names a row).
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
use sea_orm::{DatabaseConnection, EntityTrait, Select};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    error::{AppError, AppResult},
    graphql::support::context::request,
    service::pages::{self, Page, Window},
};

pub use crate::service::pages::Sort;

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
    /// HMAC-SHA256 keyed with the server's secret, fed with the list and the
    /// viewer: each cursor clones it and adds its position.
    keyed: Hmac<Sha256>,
    /// Whether every edge's cursor is read (`edges { cursor }`); otherwise
    /// only the first and last are (`pageInfo`'s start and end cursors).
    every: bool,
    list: std::marker::PhantomData<&'a str>,
}

/// Bytes of the MAC kept in a cursor: 96 bits cannot be guessed.
const MAC_BYTES: usize = 12;

impl<'a> Cursors<'a> {
    pub fn new(secret: &'a str, list: &'a str, viewer: i64) -> Self {
        let mut keyed = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| {
            // HMAC takes keys of any length; this branch cannot run.
            <Hmac<Sha256> as Mac>::new_from_slice(b"-").unwrap_or_else(|_| unreachable!())
        });
        keyed.update(format!("{list}\n{viewer}\n").as_bytes());
        Self { keyed, every: true, list: std::marker::PhantomData }
    }

    /// Signs only the cursors the selection reads: a page whose edges'
    /// cursors are not selected gets its first and last signed (what
    /// `pageInfo` gives) and the others left empty, as no client sees them.
    pub fn for_selection(mut self, ctx: &Context<'_>) -> Self {
        self.every = ctx.look_ahead().field("edges").field("cursor").exists();
        self
    }

    /// Whether the cursor of the edge at `index` of a page of `len` edges is read.
    pub fn wanted(&self, index: usize, len: usize) -> bool {
        self.every || index == 0 || index + 1 == len
    }

    /// A cursor of a position made of several numbers (a timeline's time, kind and row).
    pub fn encode_parts(&self, parts: &[i64]) -> String {
        let mut raw: Vec<u8> = parts.iter().flat_map(|p| p.to_be_bytes()).collect();
        raw.extend_from_slice(&self.mac_of(&raw));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The `n` numbers of a cursor made by [`Cursors::encode_parts`] for this list and viewer.
    pub fn decode_parts(&self, field: &str, cursor: &str, n: usize) -> AppResult<Vec<i64>> {
        let invalid = || AppError::bad_input(field, format!("{field} is not a cursor of this list"));
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if raw.len() != 8 * n + MAC_BYTES {
            return Err(invalid());
        }
        let (parts, mac) = raw.split_at(8 * n);
        let expected = self.mac_of(parts);
        if expected.iter().zip(mac).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
            return Err(invalid());
        }
        Ok(parts.chunks(8).map(|c| i64::from_be_bytes(c.try_into().unwrap_or([0; 8]))).collect())
    }

    fn mac_of(&self, bytes: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac = self.keyed.clone();
        mac.update(b"parts\n");
        mac.update(bytes);
        short(mac)
    }

    fn mac(&self, id: i64) -> [u8; MAC_BYTES] {
        let mut mac = self.keyed.clone();
        mac.update(id.to_string().as_bytes());
        short(mac)
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

fn short(mac: Hmac<Sha256>) -> [u8; MAC_BYTES] {
    let full = mac.finalize().into_bytes();
    let mut short = [0u8; MAC_BYTES];
    short.copy_from_slice(&full[..MAC_BYTES]);
    short
}

/// The size of a page asked for by `first` on a list paged forward only
/// (default [`DEFAULT_PAGE_SIZE`]); BAD_USER_INPUT outside 0 to [`MAX_PAGE_SIZE`].
pub fn page_size(first: Option<i32>) -> AppResult<u64> {
    first
        .map_or(Ok(DEFAULT_PAGE_SIZE as u64), u64::try_from)
        .ok()
        .filter(|f| *f <= MAX_PAGE_SIZE as u64)
        .ok_or_else(|| AppError::bad_input("first", format!("first must be between 0 and {MAX_PAGE_SIZE}")))
}

/// Whether the client selected `totalCount`, so the count query runs only when asked.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// The page a request asks for, with the cursors of its list: `list` names
/// the list the cursors belong to (a cursor of one list is refused by another).
pub fn window<'a>(
    ctx: &Context<'_>,
    rc: &'a crate::graphql::support::context::RequestContext,
    list: &'a str,
    args: &PageArgs,
) -> AppResult<(Window, Cursors<'a>)> {
    let (size, backwards) = args.window()?;
    let cursors = Cursors::new(&rc.services.config.cursor_secret, list, rc.viewer().user_id).for_selection(ctx);
    let after = args.after.as_deref().map(|c| cursors.decode("after", c)).transpose()?;
    let before = args.before.as_deref().map(|c| cursors.decode("before", c)).transpose()?;
    Ok((Window { size, backwards, after, before, count: wants_total(ctx) }, cursors))
}

/// A page as a connection of `N`, each row with its signed cursor.
pub fn wrap<M, N: async_graphql::OutputType>(
    page: Page<M>,
    cursors: &Cursors<'_>,
    id_of: impl Fn(&M) -> i64,
    wrap: impl FnOnce(Vec<M>) -> Vec<N>,
) -> Conn<N> {
    let len = page.rows.len();
    let edges: Vec<String> = page
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| if cursors.wanted(i, len) { cursors.encode(id_of(row)) } else { String::new() })
        .collect();
    let mut conn = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ConnectionTotals { total_count: page.total },
    );
    conn.edges.extend(edges.into_iter().zip(wrap(page.rows)).map(|(cursor, node)| Edge::new(cursor, node)));
    conn
}

/// Runs one page of `select` (`crate::service::pages`) and wraps it into a connection of `N`.
pub async fn connection<E, N>(
    ctx: &Context<'_>,
    db: &DatabaseConnection,
    select: Select<E>,
    sort: Sort<E::Column>,
    args: PageArgs,
    id_of: impl Fn(&E::Model) -> i64,
    wrap_rows: impl FnOnce(Vec<E::Model>) -> Vec<N>,
) -> AppResult<Conn<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: async_graphql::OutputType,
{
    let rc = request(ctx).map_err(|e| AppError::Internal(e.message))?;
    let list = E::default().table_name().to_owned();
    let (window, cursors) = window(ctx, rc, &list, &args)?;
    let page = pages::fetch(db, select, &sort, window).await?;
    Ok(wrap(page, &cursors, id_of, wrap_rows))
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
            pub fn sort(&self, id: $column) -> $crate::service::pages::Sort<$column> {
                let direction = self.direction.unwrap_or($crate::graphql::support::enums::OrderDirection::$direction);
                let descending = direction.descending();
                match self.field {
                    $($field::$variant => order_by!(@sort $col, id, descending $(, $text)?),)+
                }
            }
        }
    };
    (@sort $col:expr, $id:expr, $descending:expr, text) => {
        $crate::service::pages::Sort::text($col, $id, $descending)
    };
    (@sort $col:expr, $id:expr, $descending:expr) => {
        $crate::service::pages::Sort::new($col, $id, $descending)
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
