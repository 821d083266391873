//! What the analytics read fast: each customer's trailing-12-month revenue and
//! gross profit and its computed segment (kept by the segment recompute), the
//! revenue rollups (`crate::rollups`), and the indexes the reports scan by.
//!
//! The rollups are derived data, rebuilt from `revenue_entry` at will, so
//! unlike the domain tables they carry no id or timestamps: their key is
//! their identity.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer};

use crate::builders::index;

/// A rollup keyed by month first: a report reads one month of it, and the
/// figures sit in the key's index (PostgreSQL: `INCLUDE`, an index-only scan;
/// SQLite: `WITHOUT ROWID`, the table is the index), so it never visits rows.
fn rollup(postgres: bool, name: &str, key: &str) -> String {
    let columns = format!(
        "{key} BIGINT NOT NULL, month DATE NOT NULL, revenue_cents BIGINT NOT NULL, gross_profit_cents BIGINT NOT NULL"
    );
    if postgres {
        format!(
            "CREATE TABLE {name} ({columns}, PRIMARY KEY (month, {key}) INCLUDE (revenue_cents, gross_profit_cents))"
        )
    } else {
        format!("CREATE TABLE {name} ({columns}, PRIMARY KEY (month, {key})) WITHOUT ROWID")
    }
}

const INDEXES: [(&str, &[&str]); 7] = [
    // Index-only scans of revenue by month for the reports.
    ("revenue_entry", &["month", "customer_id", "revenue_cents", "gross_profit_cents"]),
    ("churn_event", &["customer_id", "occurred_on", "id"]),
    ("ticket", &["category", "created_at"]),
    // The error audit's recurrences: the last resolution of a category before a date.
    ("ticket", &["category", "resolved_at"]),
    ("ticket", &["customer_id", "created_at"]),
    ("customer", &["segment_rank", "id"]),
    ("customer", &["revenue_t12m_cents", "id"]),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            big_integer("revenue_t12m_cents").default(0).take(),
            big_integer("gross_profit_t12m_cents").default(0).take(),
            // 6: no segment; sorts after BLEEDING (5), never NULL so keyset paging sees every row.
            integer("segment_rank").default(6).take(),
        ] {
            manager.alter_table(Table::alter().table("customer").add_column(column).take()).await?;
        }
        for (table, columns) in INDEXES {
            manager.create_index(index(table, columns)).await?;
        }
        let postgres = manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres;
        let db = manager.get_connection();
        db.execute_unprepared(&rollup(postgres, "revenue_t12", "customer_id")).await?;
        db.execute_unprepared(&rollup(postgres, "revenue_by_owner", "owner_id")).await?;
        crate::rollups::rebuild_revenue(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["revenue_t12", "revenue_by_owner"] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        for (table, columns) in INDEXES {
            let name = format!("ix_{table}_{}", columns.join("_"));
            manager.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        for column in ["revenue_t12m_cents", "gross_profit_t12m_cents", "segment_rank"] {
            manager.alter_table(Table::alter().table("customer").drop_column(column).take()).await?;
        }
        Ok(())
    }
}
