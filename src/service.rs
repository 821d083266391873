//! Business rules and queries: `(db, viewer, validated input) -> AppResult<Model>`.
//! Nothing here knows about GraphQL; multi-row writes run in one transaction.

pub mod audit;
pub mod churn;
pub mod commitments;
pub mod communications;
pub mod contacts;
pub mod customers;
pub mod exports;
pub mod links;
pub mod partnerships;
pub mod revenue;
pub mod sessions;
pub mod sla;
pub mod supply;
pub mod surveys;
pub mod tickets;
pub mod users;
pub mod validate;

/// The current time, truncated to microseconds so that values read back from
/// PostgreSQL compare equal to the ones written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::{AppError, AppResult};

/// Writes `changes` only if the row still has `expected` as its version, and
/// returns the row as written; the check and the write are one statement, so
/// concurrent writers cannot both win.
pub async fn update_versioned<E: EntityTrait>(
    db: &impl ConnectionTrait,
    changes: E::ActiveModel,
    (id_column, id): (E::Column, i64),
    (version_column, expected): (E::Column, i32),
    entity: &'static str,
) -> AppResult<E::Model> {
    let result =
        E::update_many().set(changes).filter(id_column.eq(id)).filter(version_column.eq(expected)).exec(db).await?;
    if result.rows_affected != 1 {
        return Err(AppError::conflict(format!("{entity} was changed by someone else; reload it and retry")));
    }
    E::find().filter(id_column.eq(id)).one(db).await?.ok_or(AppError::NotFound(entity))
}
