//! Playbooks (rules that turn a trigger into a task) and the daily history of
//! each customer's health (a row only on the days the score or level changed).

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
                table("playbook")
                    .col(string_len("name", 200))
                    .col(string_len("trigger_kind", 32))
                    .col(string_len_null("trigger_level", 16))
                    .col(integer_null("trigger_days"))
                    .col(string_len("task_title", 300))
                    .col(integer("task_due_in_days"))
                    .col(string_len("task_priority", 32))
                    .col(string_len("assignee", 32))
                    .col(big_integer_null("assignee_user_id"))
                    .col(timestamp_with_time_zone_null("paused_at"))
                    .col(big_integer("created_by"))
                    .col(integer("version").default(1))
                    .foreign_key(&mut fk("playbook", "assignee_user_id", "app_user"))
                    .foreign_key(&mut fk("playbook", "created_by", "app_user"))
                    .take(),
            )
            .await?;
        manager.create_index(index("playbook", &["trigger_kind"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("customer_health_history")
                    .col(big_integer("customer_id"))
                    .col(date("day"))
                    .col(integer("score"))
                    .col(string_len("level", 16))
                    .primary_key(Index::create().col("customer_id").col("day"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_health_history_customer_id")
                            .from("customer_health_history", "customer_id")
                            .to("customer", "id")
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        // Level changes by day, for the playbooks' health-drop trigger.
        manager.create_index(index("customer_health_history", &["day", "customer_id"])).await?;
        // The history starts with the snapshot as it stands, so the first change after it is a change.
        let day = if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            "CAST(computed_at AS DATE)"
        } else {
            "substr(computed_at, 1, 10)"
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO customer_health_history (customer_id, day, score, level) \
                 SELECT customer_id, {day}, score, level FROM customer_health"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("customer_health_history").take()).await?;
        manager.drop_table(Table::drop().table("playbook").take()).await
    }
}
