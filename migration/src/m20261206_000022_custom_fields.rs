//! Custom fields: the fields each company adds to customers, contacts and
//! tickets without a release, and their values.
//!
//! Values live in a table of their own, one row per (field, row), with the
//! value in the column its type sorts by: `text_value` (STRING, ENUM, and DATE
//! as `YYYY-MM-DD`), `number_value` (NUMBER) or `int_value` (MONEY in cents,
//! BOOLEAN as 0 or 1). Plain B-tree indexes on (field, value, row) then serve
//! equality, ranges and sorting for every field on both databases, with no
//! index to create per field; the customers, contacts and tickets rows (and
//! the hot lists that read them) do not change.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::builders::{fk, index, table, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table("custom_field")
                    .col(string_len("entity", 32))
                    .col(string_len("key", 64))
                    .col(text("label"))
                    .col(text_null("description"))
                    .col(string_len("field_type", 32))
                    // ENUM options, as a JSON array of strings.
                    .col(text_null("options"))
                    .col(boolean("required").default(false))
                    .col(boolean("sensitive").default(false))
                    .col(boolean("identifier").default(false))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .col(integer("version").default(1))
                    .take(),
            )
            .await?;
        manager.create_index(unique("custom_field", &["entity", "key"])).await?;
        manager
            .create_table(
                table("custom_value")
                    .col(big_integer("field_id"))
                    .col(string_len("entity", 32))
                    .col(big_integer("row_id"))
                    .col(text_null("text_value"))
                    .col(double_null("number_value"))
                    .col(big_integer_null("int_value"))
                    .foreign_key(&mut fk("custom_value", "field_id", "custom_field"))
                    .take(),
            )
            .await?;
        manager.create_index(unique("custom_value", &["field_id", "row_id"])).await?;
        // A row's values (reading `customFields` for a page).
        manager.create_index(index("custom_value", &["entity", "row_id"])).await?;
        // Filtering and sorting by a field's value.
        manager.create_index(index("custom_value", &["field_id", "text_value", "row_id"])).await?;
        manager.create_index(index("custom_value", &["field_id", "number_value", "row_id"])).await?;
        manager.create_index(index("custom_value", &["field_id", "int_value", "row_id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("custom_value").take()).await?;
        manager.drop_table(Table::drop().table("custom_field").take()).await
    }
}
