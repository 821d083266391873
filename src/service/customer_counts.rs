//! How many customers a list holds. Always exact; for the common lists it is
//! read from the counts kept per owner and status (`customer_count`, kept by
//! triggers in the writers' own transactions, see the migration that made
//! it), a few rows summed instead of the whole book counted.
//!
//! The kept counts serve a filter of statuses, owner and team over live
//! customers, under any viewer (the access rules are by owner too). The
//! customer list counts any other filter (tier, segment, region, search,
//! dates, parent, archived included) with `COUNT(*)` over the rows it reads
//! (`crate::service::customers::count`).

use entity::enums::CustomerStatus;
use sea_orm::{
    ActiveEnum, ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use crate::{
    error::AppResult,
    policy::{self, Viewer},
};

/// How many live customers with one of `statuses` (any when empty), owned by
/// `owner_id` and by a member of `team_id` where given, the viewer sees: the
/// sum of their keys' rows.
pub async fn kept(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    statuses: &[CustomerStatus],
    owner_id: Option<i64>,
    team_id: Option<i64>,
) -> AppResult<u64> {
    let owner = || Expr::col((Alias::new("customer_count"), Alias::new("owner_id")));
    let mut query = Query::select();
    query
        .expr_as(Expr::cust("CAST(COALESCE(SUM(customers), 0) AS BIGINT)"), Alias::new("n"))
        .from(Alias::new("customer_count"))
        .cond_where(policy::visible_owned(viewer, owner()));
    if !statuses.is_empty() {
        let statuses = statuses.iter().map(|s| s.to_value());
        query.and_where(Expr::col((Alias::new("customer_count"), Alias::new("status"))).is_in(statuses));
    }
    if let Some(owner_id) = owner_id {
        query.and_where(owner().eq(owner_id));
    }
    if let Some(team) = team_id {
        query.cond_where(policy::team_owned(team, owner()));
    }
    let row = db.query_one_raw(db.get_database_backend().build(&query)).await?;
    let n = row.map_or(Ok(0), |r| crate::db::rows::int(&r, "n"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Folds the kept counts' rows of differences, one row per key again, in a
/// transaction of its own: a job runs it, so a count sums a few rows however
/// many writes came before.
pub async fn fold(db: &sea_orm::DatabaseConnection) -> AppResult<()> {
    let txn = crate::db::write(db).await?;
    migration::rollups::fold_customer_counts(&txn).await?;
    txn.commit().await?;
    Ok(())
}
