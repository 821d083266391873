//! What decided a change's visibility when it was made: the customer's owner
//! and that owner's team after the change, and before it for a change that
//! moved the customer (a reassignment, or its owner moving to another team).
//! The change feed decides each reader's view of a customer change from this
//! record, so later changes to other users' teams do not rewrite history.
//!
//! Rows written before this migration are filled from the customers and
//! users as they are now, which is what the feed read them as until now.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer_null;

use crate::builders::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000013_change_visibility"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in ["owner_id", "owner_team_id", "previous_team_id"] {
            manager.alter_table(Table::alter().table("change_log").add_column(big_integer_null(column)).take()).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE change_log SET owner_id = (SELECT c.owner_id FROM customer c WHERE c.id = change_log.customer_id) \
             WHERE entity_type = 'CUSTOMER'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE change_log SET owner_team_id = (SELECT u.team_id FROM app_user u WHERE u.id = change_log.owner_id) \
             WHERE entity_type = 'CUSTOMER'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE change_log SET previous_team_id = \
               (SELECT u.team_id FROM app_user u WHERE u.id = change_log.previous_owner_id) \
             WHERE entity_type = 'CUSTOMER' AND previous_owner_id IS NOT NULL",
        )
        .await?;
        manager.create_index(index("change_log", &["owner_id", "position"])).await?;
        manager.create_index(index("change_log", &["owner_team_id", "position"])).await?;
        manager.create_index(index("change_log", &["previous_team_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "ix_change_log_owner_id_position",
            "ix_change_log_owner_team_id_position",
            "ix_change_log_previous_team_id",
        ] {
            manager.drop_index(Index::drop().name(name).table("change_log").to_owned()).await?;
        }
        for column in ["owner_id", "owner_team_id", "previous_team_id"] {
            manager.alter_table(Table::alter().table("change_log").drop_column(column).take()).await?;
        }
        Ok(())
    }
}
