//! Bulk reads per user, counted in the database so that every instance adds
//! to the same count: a user who spreads an export over several instances is
//! audited like one who uses one. One row per user: the start of the current
//! window (Unix seconds), the rows read in it, and whether its export was
//! audited.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, boolean};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000014_export_window"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("export_window")
                    .col(big_integer("user_id").primary_key())
                    .col(big_integer("window_start"))
                    .col(big_integer("rows_read"))
                    .col(boolean("audited"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("export_window").take()).await
    }
}
