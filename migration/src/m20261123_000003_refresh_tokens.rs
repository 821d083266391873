//! Refresh tokens of password logins: stored hashed, rotated on use, revoked by
//! family when a used one comes back (a sign it was stolen).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::builders::{fk, index, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table("refresh_token")
                    .col(big_integer("user_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(string_len("family", 64))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(big_integer_null("replaced_by_id"))
                    .foreign_key(&mut fk("refresh_token", "user_id", "app_user"))
                    .take(),
            )
            .await?;
        manager.create_index(index("refresh_token", &["user_id"])).await?;
        manager.create_index(index("refresh_token", &["family"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("refresh_token").take()).await
    }
}
