//! Revenue by the million (an import's whole file): the rows are staged in a
//! temporary table of the write's transaction as they are read, then
//! resolved, written, rolled up, audited and fed to the change feed by a few
//! set-based statements over all of them, instead of a dozen statements per
//! batch. The rules are those of a push ([`super::upsert_in`]): the customers
//! are those the viewer may push revenue for, they are locked before their
//! figures are read, a month pushed again with the same figures is left as it
//! is, the rollups move by the differences ([`rollups::apply_from`]), and
//! every row written is a change for the feed. The audit is an import's: an
//! entry per row that changed stored figures, with the old and new ones (the
//! caller adds one for the file with its counts), where a push writes one
//! entry per call listing every row.
//!
//! What the staging does not check, the import's own check did before the
//! write began: one row per customer and month, and months that have begun
//! (the import refuses a file that changed since it was checked).

use chrono::NaiveDate;
use entity::customer;
use sea_orm::{ConnectionTrait, Statement, Value, sea_query::Query};

use super::Tally;
use crate::{
    db::Dialect,
    error::{AppError, AppResult, RowError},
    policy::{self, Viewer},
    service::{
        changes::ChangeEntity,
        now, rollups,
        write::{Effect, Write},
    },
};

/// A month of revenue for a customer a source knows by its external id; `line` names it in refusals.
#[derive(Debug, Clone)]
pub struct ExternalRevenue {
    pub line: u64,
    pub customer_external_id: String,
    pub month: NaiveDate,
    pub revenue_cents: i64,
    pub gross_profit_cents: i64,
}

/// The rows as read.
const ROWS: &str = "staged_revenue";
/// The rows that change something, with the customer, its owner and the stored figures.
const PLAN: &str = "staged_revenue_plan";
/// Rows per statement while staging (one JSON text).
const CHUNK: usize = 2000;

/// Revenue rows staged in a write's transaction, waiting for [`Staging::finish`].
pub struct Staging {
    rows: usize,
}

impl Staging {
    /// Starts staging in the write's transaction.
    pub async fn open(w: &Write) -> AppResult<Self> {
        w.execute_unprepared(&format!(
            "CREATE TEMPORARY TABLE {ROWS} (line BIGINT, customer_ref TEXT, month DATE, \
               revenue_cents BIGINT, gross_profit_cents BIGINT)"
        ))
        .await?;
        Ok(Self { rows: 0 })
    }

    /// Stages rows.
    pub async fn add(&mut self, w: &Write, rows: &[ExternalRevenue]) -> AppResult<()> {
        const COLUMNS: [(&str, &str); 5] = [
            ("line", "BIGINT"),
            ("customer_ref", "TEXT"),
            ("month", "DATE"),
            ("revenue_cents", "BIGINT"),
            ("gross_profit_cents", "BIGINT"),
        ];
        let dialect = Dialect::of(&**w);
        for chunk in rows.chunks(CHUNK) {
            let values: Vec<_> = chunk
                .iter()
                .map(|r| {
                    let month = r.month.format("%Y-%m-%d").to_string();
                    (r.line, r.customer_external_id.as_str(), month, r.revenue_cents, r.gross_profit_cents)
                })
                .collect();
            dialect.insert_json_rows(&**w, ROWS, &COLUMNS, &values).await?;
        }
        self.rows += rows.len();
        Ok(())
    }

    /// Writes what was staged from `source`; a row whose customer is unknown
    /// (or not the viewer's to push for) refuses them all, named by its line.
    pub async fn finish(self, w: Write, viewer: &Viewer, source: &str) -> AppResult<(Write, Tally)> {
        let mut w = w;
        let dialect = Dialect::of(&*w);
        let scope = policy::revenue_writable_customers(viewer)?;
        let writable = dialect.subquery(
            &Query::select().column(customer::Column::Id).from(customer::Entity).cond_where(scope).to_owned(),
        );
        if dialect.postgres() {
            // A temporary table has no statistics until analysed; the joins over whole tables hash in memory.
            w.execute_unprepared(&format!("ANALYZE {ROWS}")).await?;
            w.execute_unprepared("SET LOCAL work_mem = '64MB'").await?;
        }
        let known = format!(
            "x.entity = 'CUSTOMER' AND x.source = $1 AND x.external_id = s.customer_ref AND x.entity_id IN ({writable}) \
             AND x.entity_id NOT IN (SELECT m.id FROM customer m WHERE m.merged_into_id IS NOT NULL)"
        );
        refuse_unknown(&w, dialect, &known, source).await?;
        lock(&w, dialect, source).await?;
        w.execute_unprepared(&format!(
            "CREATE TEMPORARY TABLE {PLAN} (line BIGINT, customer_id BIGINT, month DATE, revenue_cents BIGINT, \
               gross_profit_cents BIGINT, owner_id BIGINT, entry_id BIGINT, old_revenue BIGINT, old_profit BIGINT)"
        ))
        .await?;
        w.execute_raw(Statement::from_sql_and_values(
            dialect.0,
            dialect.numbered(&format!(
                "INSERT INTO {PLAN} \
                 SELECT s.line, x.entity_id, s.month, s.revenue_cents, s.gross_profit_cents, \
                   CASE WHEN c.archived_at IS NULL THEN c.owner_id END, e.id, \
                   COALESCE(e.revenue_cents, 0), COALESCE(e.gross_profit_cents, 0) \
                 FROM {ROWS} s JOIN external_ref x ON {known} JOIN customer c ON c.id = x.entity_id \
                 LEFT JOIN revenue_entry e ON e.customer_id = x.entity_id AND e.month = s.month \
                 WHERE e.id IS NULL OR e.revenue_cents <> s.revenue_cents OR e.gross_profit_cents <> s.gross_profit_cents"
            )),
            [source.into()],
        ))
        .await?;
        let counts =
            dialect.rows(&*w, format!("SELECT COUNT(*) AS changed, COUNT(entry_id) AS updated FROM {PLAN}")).await?;
        let count = |column: &str| -> AppResult<usize> {
            let n = counts.first().map_or(Ok(0), |row| crate::db::rows::int(row, column))?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        let (changed, updated) = (count("changed")?, count("updated")?);
        if changed > 0 {
            write(&mut w, dialect).await?;
        }
        w.execute_unprepared(&format!("DROP TABLE {PLAN}")).await?;
        w.execute_unprepared(&format!("DROP TABLE {ROWS}")).await?;
        Ok((
            w,
            Tally { created: changed.saturating_sub(updated), updated, unchanged: self.rows.saturating_sub(changed) },
        ))
    }
}

/// Refuses the staged rows if any names a customer the source does not know
/// (among those the viewer may push for): the first hundred are named.
async fn refuse_unknown(w: &Write, dialect: Dialect, known: &str, source: &str) -> AppResult<()> {
    let unknown = dialect
        .rows_with(
            &**w,
            dialect.numbered(&format!(
                "SELECT s.line AS line, s.customer_ref AS customer_ref FROM {ROWS} s \
                 WHERE NOT EXISTS (SELECT 1 FROM external_ref x WHERE {known}) ORDER BY s.line LIMIT 100"
            )),
            vec![source.into()],
        )
        .await?;
    if unknown.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(unknown.len());
    for row in &unknown {
        let customer = crate::db::rows::text(row, "customer_ref")?.unwrap_or_default();
        rows.push(RowError {
            index: usize::try_from(crate::db::rows::int(row, "line")?).unwrap_or(0),
            field: "customer_external_id".into(),
            message: format!("no customer {customer:?} in source {source:?}"),
        });
    }
    Err(AppError::BadRows { field: "revenue".into(), message: "a customer is unknown".into(), rows })
}

/// Locks the customers before their figures are read (`rollups::lock_customers`), in id order.
async fn lock(w: &Write, dialect: Dialect, source: &str) -> AppResult<()> {
    if !dialect.postgres() {
        return Ok(());
    }
    w.execute_raw(Statement::from_sql_and_values(
        dialect.0,
        format!(
            "SELECT COUNT(*) FROM (SELECT c.id FROM customer c WHERE c.id IN \
               (SELECT x.entity_id FROM external_ref x WHERE x.entity = 'CUSTOMER' AND x.source = $1 \
                  AND x.external_id IN (SELECT DISTINCT customer_ref FROM {ROWS})) \
             ORDER BY c.id FOR UPDATE) locked"
        ),
        [source.into()],
    ))
    .await?;
    Ok(())
}

/// Writes the planned rows, moves the rollups, audits the rows that changed
/// stored figures and notes every row written for the change feed.
async fn write(w: &mut Write, dialect: Dialect) -> AppResult<()> {
    // The customers are locked: no other writer adds or changes their months until the commit.
    let at: Value = now().into();
    w.execute_raw(Statement::from_sql_and_values(
        dialect.0,
        dialect.numbered(&format!(
            "INSERT INTO revenue_entry (customer_id, month, revenue_cents, gross_profit_cents, created_at, updated_at) \
             SELECT customer_id, month, revenue_cents, gross_profit_cents, $1, $1 FROM {PLAN} \
             WHERE entry_id IS NULL ORDER BY customer_id, month"
        )),
        [at.clone()],
    ))
    .await?;
    w.execute_raw(Statement::from_sql_and_values(
        dialect.0,
        dialect.numbered(&format!(
            "UPDATE revenue_entry SET revenue_cents = p.revenue_cents, gross_profit_cents = p.gross_profit_cents, \
               updated_at = $1 FROM {PLAN} p WHERE p.entry_id = revenue_entry.id"
        )),
        [at],
    ))
    .await?;
    rollups::apply_from(
        &**w,
        &format!(
            "SELECT customer_id, owner_id, month, revenue_cents - old_revenue AS revenue_cents, \
               gross_profit_cents - old_profit AS gross_profit_cents FROM {PLAN}"
        ),
    )
    .await?;
    let figures = if dialect.postgres() {
        "CAST(json_build_object('customerId', customer_id, 'month', to_char(month, 'YYYY-MM-DD'), \
           'revenueCents', json_build_array(old_revenue, revenue_cents), \
           'grossProfitCents', json_build_array(old_profit, gross_profit_cents)) AS TEXT)"
    } else {
        "json_object('customerId', customer_id, 'month', month, \
           'revenueCents', json_array(old_revenue, revenue_cents), \
           'grossProfitCents', json_array(old_profit, gross_profit_cents))"
    };
    w.audit_from(
        "upsert",
        "revenue_entry",
        &format!("SELECT entry_id AS entity_id, {figures} AS changes FROM {PLAN} WHERE entry_id IS NOT NULL"),
    )
    .await?;
    w.changes_from(
        ChangeEntity::RevenueEntry,
        &format!(
            "SELECT e.id AS entity_id, CASE WHEN p.entry_id IS NULL THEN 'CREATED' ELSE 'UPDATED' END AS operation, \
               p.customer_id AS customer_id, p.line AS line \
             FROM {PLAN} p JOIN revenue_entry e ON e.customer_id = p.customer_id AND e.month = p.month"
        ),
        "s.line",
    )
    .await?;
    w.after(Effect::Segments);
    Ok(())
}
