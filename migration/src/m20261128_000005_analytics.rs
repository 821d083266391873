//! What the analytics read fast: each customer's trailing-12-month revenue and
//! gross profit and its computed segment (kept by the segment recompute), and
//! the indexes the reports scan by.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer};

use crate::builders::index;

const INDEXES: [(&str, &[&str]); 6] = [
    // Index-only scans of revenue by month for the reports.
    ("revenue_entry", &["month", "customer_id", "revenue_cents", "gross_profit_cents"]),
    ("churn_event", &["customer_id", "occurred_on", "id"]),
    ("ticket", &["category", "created_at"]),
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
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
