//! Keeps the revenue rollups (`migration::rollups`) current inside the
//! transaction of every write that changes them: a revenue push adds its
//! differences, a reassignment moves the customers' revenue from one owner to
//! another, archiving takes a customer's revenue off its owner.
//!
//! Each of those writes first locks the customers it concerns
//! ([`lock_customers`], in id order so two writers never wait on each other
//! in a circle), then reads what it adds or moves. Two overlapping pushes of
//! the same months therefore run one after the other on PostgreSQL, and the
//! second reads the first one's figures as its "before": no difference is
//! added twice. SQLite runs one writer at a time anyway. [`check`] compares
//! the rollups with a rebuild (`rapport rollups check`), and [`rebuild`]
//! recomputes them (`rapport rollups rebuild`).

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use crate::error::AppResult;

pub use migration::rollups::rebuild;

/// A change of one customer's revenue for one month.
#[derive(Debug, Clone, Copy)]
pub struct RevenueDelta {
    pub customer_id: i64,
    /// `None` for an archived customer: its revenue counts in no owner's month.
    pub owner_id: Option<i64>,
    pub month: NaiveDate,
    pub revenue_cents: i64,
    pub gross_profit_cents: i64,
}

/// Adds `(key, month, revenue, profit)` increments to a rollup, in chunks.
async fn add(
    db: &impl ConnectionTrait,
    table: &str,
    key: &str,
    rows: HashMap<(i64, NaiveDate), (i64, i64)>,
) -> AppResult<()> {
    let rows: Vec<_> = rows.into_iter().filter(|(_, (r, g))| *r != 0 || *g != 0).collect();
    for chunk in rows.chunks(500) {
        let values = chunk
            .iter()
            .map(|((id, month), (revenue, profit))| {
                format!("({id}, '{}', {revenue}, {profit})", month.format("%Y-%m-%d"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {table} ({key}, month, revenue_cents, gross_profit_cents) VALUES {values} {}",
            adding_to(table, key)
        );
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// The conflict clause that adds increments to a rollup's existing row.
fn adding_to(table: &str, key: &str) -> String {
    format!(
        "ON CONFLICT (month, {key}) DO UPDATE SET \
           revenue_cents = {table}.revenue_cents + excluded.revenue_cents, \
           gross_profit_cents = {table}.gross_profit_cents + excluded.gross_profit_cents"
    )
}

/// Applies revenue changes: each month counts in its customer's 12-month sums
/// of that month and the 11 after, and in its owner's month.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn apply(db: &impl ConnectionTrait, deltas: &[RevenueDelta]) -> AppResult<()> {
    let dialect = crate::db::Dialect::of(db);
    for chunk in deltas.chunks(1000) {
        let values = chunk
            .iter()
            .map(|d| {
                let owner = d.owner_id.map_or_else(|| "CAST(NULL AS BIGINT)".to_owned(), |o| o.to_string());
                let month = dialect.date(d.month);
                format!("({}, {owner}, {month}, {}, {})", d.customer_id, d.revenue_cents, d.gross_profit_cents)
            })
            .collect::<Vec<_>>()
            .join(", ");
        apply_from(
            db,
            &format!(
                "SELECT column1 AS customer_id, column2 AS owner_id, column3 AS month, column4 AS revenue_cents, \
                   column5 AS gross_profit_cents FROM (VALUES {values}) v"
            ),
        )
        .await?;
    }
    Ok(())
}

/// Applies revenue changes given as a relation (a table or a sub-select) of
/// `customer_id, owner_id, month, revenue_cents, gross_profit_cents`, two
/// statements whatever its size: what [`apply`] does for a list, an import
/// does for a whole file. The 12-month sums move by the 12-month sums of the
/// changes (`migration::rollups::trailing_12`, the definition a rebuild uses).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn apply_from(db: &impl ConnectionTrait, deltas: &str) -> AppResult<()> {
    let moved = migration::rollups::trailing_12(db.get_database_backend(), deltas);
    db.execute_unprepared(&format!(
        "INSERT INTO revenue_t12 (customer_id, month, revenue_cents, gross_profit_cents) \
         SELECT customer_id, month, revenue_cents, gross_profit_cents FROM ({moved}) m WHERE 1 = 1 {}",
        adding_to("revenue_t12", "customer_id")
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO revenue_by_owner (owner_id, month, revenue_cents, gross_profit_cents) \
         SELECT d.owner_id, d.month, CAST(SUM(d.revenue_cents) AS BIGINT), CAST(SUM(d.gross_profit_cents) AS BIGINT) \
         FROM ({deltas}) d WHERE d.owner_id IS NOT NULL GROUP BY d.owner_id, d.month \
         HAVING SUM(d.revenue_cents) <> 0 OR SUM(d.gross_profit_cents) <> 0 {}",
        adding_to("revenue_by_owner", "owner_id")
    ))
    .await?;
    Ok(())
}

/// Locks the customers' rows until the transaction ends (PostgreSQL; a
/// SQLite write transaction holds the whole database already), in id order.
pub async fn lock_customers(db: &impl ConnectionTrait, customers: &[i64]) -> AppResult<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    if customers.is_empty() || !crate::db::Dialect::of(db).postgres() {
        return Ok(());
    }
    for chunk in customers.chunks(1000) {
        entity::customer::Entity::find()
            .select_only()
            .column(entity::customer::Column::Id)
            .filter(entity::customer::Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(entity::customer::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(db)
            .await?;
    }
    Ok(())
}

/// Rows where a rollup differs from what `revenue_entry` and `customer` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Drift {
    /// Rows of `revenue_t12` missing, extra or wrong.
    pub trailing_12: i64,
    /// Rows of `revenue_by_owner` missing, extra or wrong.
    pub by_owner: i64,
    /// Owner and status pairs whose kept customer count is wrong.
    pub customer_counts: i64,
}

impl Drift {
    pub fn is_none(&self) -> bool {
        self.trailing_12 == 0 && self.by_owner == 0 && self.customer_counts == 0
    }
}

/// Compares every rollup with what a rebuild would write (rows of nothing
/// are nothing either way); three statements over the whole book.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn check(db: &impl ConnectionTrait) -> AppResult<Drift> {
    let backend = db.get_database_backend();
    let differ = |expected: String, actual: &str, key: &str| {
        let some = "revenue_cents <> 0 OR gross_profit_cents <> 0";
        let columns = format!("{key}, month, revenue_cents, gross_profit_cents");
        format!(
            "SELECT (SELECT COUNT(*) FROM (SELECT {columns} FROM ({expected}) e WHERE {some} \
               EXCEPT SELECT {columns} FROM {actual} WHERE {some}) a) \
             + (SELECT COUNT(*) FROM (SELECT {columns} FROM {actual} WHERE {some} \
               EXCEPT SELECT {columns} FROM ({expected}) e WHERE {some}) b) AS n"
        )
    };
    let count = |sql: String| async move {
        let row = db.query_one_raw(sea_orm::Statement::from_string(backend, sql)).await?;
        row.map_or(Ok(0), |r| crate::db::rows::int(&r, "n"))
    };
    let counts = |expected: &str, kept: &str| {
        format!(
            "SELECT (SELECT COUNT(*) FROM (SELECT * FROM ({expected}) e EXCEPT SELECT * FROM ({kept}) k) a) \
             + (SELECT COUNT(*) FROM (SELECT * FROM ({kept}) k EXCEPT SELECT * FROM ({expected}) e) b) AS n"
        )
    };
    Ok(Drift {
        trailing_12: count(differ(migration::rollups::expected_t12(backend), "revenue_t12", "customer_id")).await?,
        by_owner: count(differ(migration::rollups::expected_by_owner().to_owned(), "revenue_by_owner", "owner_id"))
            .await?,
        customer_counts: count(counts(
            migration::rollups::expected_customer_counts(),
            migration::rollups::kept_customer_counts(),
        ))
        .await?,
    })
}

/// Moves customers' revenue between owners (`to: None` takes it off: call it
/// before archiving). Archived customers count in no owner's revenue, so they are skipped.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn move_customers(db: &impl ConnectionTrait, customers: &[i64], from: i64, to: Option<i64>) -> AppResult<()> {
    if customers.is_empty() {
        return Ok(());
    }
    lock_customers(db, customers).await?;
    let ids = customers.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT r.month AS month, CAST(SUM(r.revenue_cents) AS BIGINT) AS rev, CAST(SUM(r.gross_profit_cents) AS BIGINT) AS gp \
         FROM revenue_entry r JOIN customer c ON c.id = r.customer_id \
         WHERE r.customer_id IN ({ids}) AND c.archived_at IS NULL GROUP BY r.month"
    );
    let rows = db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await?;
    let mut changes: HashMap<(i64, NaiveDate), (i64, i64)> = HashMap::new();
    for row in &rows {
        let Some(month) = crate::db::rows::date(row, "month")? else { continue };
        let (revenue, profit) = (crate::db::rows::int(row, "rev")?, crate::db::rows::int(row, "gp")?);
        *changes.entry((from, month)).or_default() = (-revenue, -profit);
        if let Some(to) = to {
            let entry = changes.entry((to, month)).or_default();
            entry.0 += revenue;
            entry.1 += profit;
        }
    }
    add(db, "revenue_by_owner", "owner_id", changes).await
}
