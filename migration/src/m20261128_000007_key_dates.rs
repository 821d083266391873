//! Key dates users record on a customer or one of its contacts (a project
//! start, a contract renewal), once or every year, for the care-date list.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, date, string_len, text_null, timestamp_with_time_zone_null,
};

use crate::builders::{fk, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000007_key_dates"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table("key_date")
                    .col(big_integer("customer_id"))
                    .col(big_integer_null("contact_id"))
                    .col(string_len("kind", 32))
                    .col(text_null("note"))
                    .col(date("on_date"))
                    .col(boolean("recurring"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .foreign_key(&mut fk("key_date", "customer_id", "customer"))
                    .foreign_key(&mut fk("key_date", "contact_id", "contact"))
                    .take(),
            )
            .await?;
        manager.create_index(index("key_date", &["customer_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("key_date").take()).await
    }
}
