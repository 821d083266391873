//! Duplicates and merges.
//!
//! A merged customer or contact stays, archived, with the row it was merged
//! into (`merged_into_id`), so its global id and external ids still resolve.
//!
//! Duplicate detection keeps derived rows only: each live row's blocking keys
//! (`match_key`: its normalised name and pieces of it, e-mails, phones,
//! identifiers, external ids), the scored pairs of rows that share a key
//! (`duplicate_pair`), and how far in the change feed both are current
//! (`match_state`). All three can be rebuilt from the rows at any time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::builders::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["customer", "contact"] {
            manager
                .alter_table(Table::alter().table(table).add_column(big_integer_null("merged_into_id")).take())
                .await?;
            manager.create_index(index(table, &["merged_into_id"])).await?;
        }
        // A MERGED change names the row merged into.
        manager
            .alter_table(Table::alter().table("change_log").add_column(big_integer_null("merged_into_id")).take())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("match_key")
                    .col(big_pk_auto("id"))
                    .col(string_len("entity", 16))
                    .col(big_integer("row_id"))
                    .col(text("key"))
                    .take(),
            )
            .await?;
        // The rows sharing a key, and a row's own keys.
        manager.create_index(index("match_key", &["entity", "key", "row_id"])).await?;
        manager.create_index(index("match_key", &["entity", "row_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("duplicate_pair")
                    .col(big_pk_auto("id"))
                    .col(string_len("entity", 16))
                    .col(big_integer("low_id"))
                    .col(big_integer("high_id"))
                    // From 0 to 1000: the score in thousandths, so pages can be cut at a score exactly.
                    .col(integer("score_milli"))
                    // The reasons in words, as a JSON array of strings.
                    .col(text("reasons"))
                    .take(),
            )
            .await?;
        manager.create_index(unique("duplicate_pair", &["entity", "low_id", "high_id"])).await?;
        manager.create_index(index("duplicate_pair", &["entity", "high_id"])).await?;
        // The list, best first.
        manager.create_index(index("duplicate_pair", &["entity", "score_milli", "low_id", "high_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("match_state")
                    .col(string_len("entity", 16).primary_key())
                    // The change-feed position the keys and pairs are current to; -1: never built.
                    .col(big_integer("position"))
                    .take(),
            )
            .await?;
        let insert = Query::insert()
            .into_table("match_state")
            .columns(["entity", "position"])
            .values_panic(["CUSTOMER".into(), (-1i64).into()])
            .values_panic(["CONTACT".into(), (-1i64).into()])
            .to_owned();
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["match_state", "duplicate_pair", "match_key"] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        manager.alter_table(Table::alter().table("change_log").drop_column("merged_into_id").take()).await?;
        for table in ["customer", "contact"] {
            manager
                .drop_index(Index::drop().name(format!("ix_{table}_merged_into_id")).table(table).to_owned())
                .await?;
            manager.alter_table(Table::alter().table(table).drop_column("merged_into_id").take()).await?;
        }
        Ok(())
    }
}
