//! The change feed: one row per created, updated or archived row of the
//! synced tables, numbered in commit order.
//!
//! Positions come from the one-row `change_clock`: a writing transaction
//! increments it just before it commits, and the row lock it takes there is
//! held until the commit. Two writers therefore take their positions in the
//! order they commit, so a reader that has seen position `n` has seen every
//! position below it, on PostgreSQL's concurrent transactions as on SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, integer, string_len, timestamp_with_time_zone};

use crate::builders::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000009_change_feed"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("change_clock")
                    .col(integer("id").primary_key())
                    .col(big_integer("position"))
                    .take(),
            )
            .await?;
        manager.get_connection().execute_unprepared("INSERT INTO change_clock (id, position) VALUES (1, 0)").await?;
        manager
            .create_table(
                Table::create()
                    .table("change_log")
                    .col(big_integer("position").primary_key())
                    .col(string_len("entity_type", 32))
                    .col(big_integer("entity_id"))
                    .col(string_len("operation", 16))
                    // The customer the row belongs to (its `from` end for a link).
                    .col(big_integer("customer_id"))
                    // A link's `to` end.
                    .col(big_integer_null("other_customer_id"))
                    // A customer's owner before a reassignment.
                    .col(big_integer_null("previous_owner_id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .take(),
            )
            .await?;
        manager.create_index(index("change_log", &["customer_id", "position"])).await?;
        manager.create_index(index("change_log", &["previous_owner_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("change_log").take()).await?;
        manager.drop_table(Table::drop().table("change_clock").take()).await
    }
}
