//! API tokens of service accounts: named, scoped (never wider than the
//! account), expiring, revocable; only their SHA-256 is stored.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::builders::{fk, index, table};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000011_api_tokens"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table("api_token")
                    .col(big_integer("user_id"))
                    .col(string_len("name", 100))
                    .col(text("scopes"))
                    .col(string_len_uniq("token_hash", 64))
                    // The token's first characters, to tell tokens apart in a list.
                    .col(string_len("prefix", 16))
                    .col(big_integer("created_by"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk("api_token", "user_id", "app_user"))
                    .foreign_key(&mut fk("api_token", "created_by", "app_user"))
                    .take(),
            )
            .await?;
        manager.create_index(index("api_token", &["user_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("api_token").take()).await
    }
}
