//! Customers a report left out, and why: a report that silently counts fewer
//! customers than the viewer has looks like good news. Each report answers
//! its own exclusions with these reasons, counted over the customers the
//! viewer may see.

crate::names::named! {
    /// Why a customer is not in a report's figures.
    pub enum Exclusion {
        /// Archived: the record was withdrawn; it counts nowhere.
        Archived = "ARCHIVED",
        /// Lost (by its churn events, on the report's date): it takes no segment slot.
        Lost = "LOST",
        /// Not a customer (yet) on the report's date: a PROSPECT, or started after it.
        NotACustomer = "NOT_A_CUSTOMER",
        /// Neither `customerSince` nor any revenue: where its history starts is unknown.
        NoStartDate = "NO_START_DATE",
        /// No revenue in the report's months.
        NoRevenueInWindow = "NO_REVENUE_IN_WINDOW",
        /// Never bought anything, so it cannot have stopped buying.
        NeverBought = "NEVER_BOUGHT",
    }
}

/// How many customers a report left out for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Excluded {
    pub reason: Exclusion,
    pub count: i64,
}

/// Reads `(reason, n)` rows into exclusions, dropping zeros and unknown reasons, in reason order.
pub fn read(rows: &[sea_orm::QueryResult]) -> crate::error::AppResult<Vec<Excluded>> {
    let mut excluded = Vec::new();
    for row in rows {
        let reason = crate::db::rows::text(row, "reason")?.as_deref().and_then(Exclusion::parse);
        let count = crate::db::rows::int(row, "n")?;
        if let Some(reason) = reason.filter(|_| count > 0) {
            excluded.push(Excluded { reason, count });
        }
    }
    excluded.sort_by_key(|e| e.reason);
    Ok(excluded)
}

/// Counts the viewer's customers by the reason `reason_sql` gives each (a SQL
/// expression on the customer aliased `c`, NULL for those the report counts).
pub async fn count(
    db: &impl sea_orm::ConnectionTrait,
    dialect: crate::db::Dialect,
    viewer: &crate::policy::Viewer,
    reason_sql: &str,
) -> crate::error::AppResult<Vec<Excluded>> {
    let visible = crate::policy::visible_sql(dialect, viewer, crate::policy::Resource::Customers, "c.id");
    let sql = format!(
        "SELECT reason, COUNT(*) AS n FROM (SELECT {reason_sql} AS reason FROM customer c WHERE 1 = 1 {visible}) x \
         WHERE reason IS NOT NULL GROUP BY reason"
    );
    read(&dialect.rows(db, sql).await?)
}
