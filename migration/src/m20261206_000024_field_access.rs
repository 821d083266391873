//! Field-level permissions: which roles, and which service-account scopes,
//! may read a sensitive field. A field without a row is readable by everyone
//! who can read the record (the behaviour before field permissions existed).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("field_access")
                    .col(string_len("field", 32).primary_key())
                    // Roles that may read it, space-separated (ADMIN always may).
                    .col(text("roles"))
                    // Scopes of which a service account needs one, space-separated.
                    .col(text("scopes"))
                    .col(big_integer("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("field_access").to_owned()).await
    }
}
