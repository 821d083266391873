//! Users get a phone number (the mobile account status shows the owner's), and
//! the group hierarchy has one source: `customer.parent_id`. Links of the old
//! kind SUBSIDIARY_OF become parents (where the customer had none) and are
//! removed, so the two can no longer disagree. Every list that can now be
//! sorted by another column gets its keyset index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;

use crate::builders::index;

/// Sort keys of the lists' `orderBy` that had no index yet.
const SORT_INDEXES: [(&str, [&str; 2]); 5] = [
    ("app_user", ["created_at", "id"]),
    ("team", ["created_at", "id"]),
    ("commitment", ["created_at", "id"]),
    ("survey_response", ["responded_on", "id"]),
    ("supply_priority", ["priority_rank", "id"]),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("app_user").add_column(string_len_null("phone", 50)).take()).await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE customer SET parent_id = ( \
               SELECT l.to_customer_id FROM customer_link l \
               WHERE l.kind = 'SUBSIDIARY_OF' AND l.archived_at IS NULL AND l.from_customer_id = customer.id \
               ORDER BY l.id LIMIT 1) \
             WHERE parent_id IS NULL AND EXISTS ( \
               SELECT 1 FROM customer_link l \
               WHERE l.kind = 'SUBSIDIARY_OF' AND l.archived_at IS NULL AND l.from_customer_id = customer.id)",
        )
        .await?;
        db.execute_unprepared("DELETE FROM customer_link WHERE kind = 'SUBSIDIARY_OF'").await?;
        for (table, columns) in SORT_INDEXES {
            manager.create_index(index(table, &columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in SORT_INDEXES {
            let name = format!("ix_{table}_{}", columns.join("_"));
            manager.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table("app_user").drop_column("phone").take()).await
    }
}
