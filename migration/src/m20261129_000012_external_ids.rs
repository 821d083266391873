//! The ids other systems know our customers and contacts by: one per source
//! system and row, unique per source, so an ERP can push its master data
//! again and again and land on the same rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::builders::{table, unique};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000012_external_ids"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table("external_ref")
                    // CUSTOMER or CONTACT.
                    .col(string_len("entity", 16))
                    .col(big_integer("entity_id"))
                    .col(string_len("source", 50))
                    .col(string_len("external_id", 200))
                    .take(),
            )
            .await?;
        manager.create_index(unique("external_ref", &["entity", "source", "external_id"])).await?;
        manager.create_index(unique("external_ref", &["entity", "entity_id", "source"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("external_ref").take()).await
    }
}
