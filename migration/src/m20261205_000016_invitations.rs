//! Invitations: how a user created over the API sets a first password
//! without anyone touching the server. Only the token's SHA-256 is stored.

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
                table("invitation")
                    .col(big_integer("user_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(big_integer("created_by"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("accepted_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk("invitation", "user_id", "app_user"))
                    .foreign_key(&mut fk("invitation", "created_by", "app_user"))
                    .take(),
            )
            .await?;
        manager.create_index(index("invitation", &["user_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("invitation").take()).await
    }
}
