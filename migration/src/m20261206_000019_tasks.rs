//! Tasks: work on a customer with an owner and a due date, created by hand,
//! by a playbook (once per trigger occurrence) or from a communication's
//! follow-up date (once per communication).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::builders::{fk, index, table, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Partial indexes, written the same on both databases.
const PARTIAL: [(&str, &str); 3] = [
    // A communication's follow-up becomes one task, whichever instance sweeps first.
    ("CREATE UNIQUE INDEX ux_task_follow_up ON task (communication_id)", "source = 'FOLLOW_UP'"),
    // Open work per customer, in due order: `openTasks` and the health signal.
    ("CREATE INDEX ix_task_open_by_customer ON task (customer_id, due_on, id)", "status = 'OPEN'"),
    // Open work in due order, for the overdue sweep.
    ("CREATE INDEX ix_task_open_due ON task (due_on, id)", "status = 'OPEN'"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table("task")
                    .col(big_integer("customer_id"))
                    .col(big_integer_null("contact_id"))
                    .col(big_integer_null("ticket_id"))
                    .col(big_integer_null("commitment_id"))
                    .col(big_integer_null("communication_id"))
                    .col(text("title"))
                    .col(text_null("notes"))
                    .col(big_integer("owner_id"))
                    .col(date("due_on"))
                    .col(string_len("priority", 32))
                    .col(string_len("status", 32))
                    .col(string_len("source", 32))
                    // No foreign key: playbooks live in their own table, and a task outlives its rule.
                    .col(big_integer_null("playbook_id"))
                    .col(string_len_null("occurrence_key", 200))
                    .col(big_integer_null("created_by"))
                    .col(big_integer_null("closed_by"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .col(integer("version").default(1))
                    .foreign_key(&mut fk("task", "customer_id", "customer"))
                    .foreign_key(&mut fk("task", "contact_id", "contact"))
                    .foreign_key(&mut fk("task", "ticket_id", "ticket"))
                    .foreign_key(&mut fk("task", "commitment_id", "commitment"))
                    .foreign_key(&mut fk("task", "communication_id", "communication"))
                    .foreign_key(&mut fk("task", "owner_id", "app_user"))
                    .foreign_key(&mut fk("task", "created_by", "app_user"))
                    .foreign_key(&mut fk("task", "closed_by", "app_user"))
                    .take(),
            )
            .await?;
        manager.create_index(index("task", &["owner_id", "status", "due_on", "id"])).await?;
        manager.create_index(index("task", &["customer_id", "due_on", "id"])).await?;
        manager.create_index(index("task", &["due_on", "id"])).await?;
        manager.create_index(index("task", &["created_at", "id"])).await?;
        manager.create_index(index("task", &["updated_at", "id"])).await?;
        manager.create_index(unique("task", &["playbook_id", "occurrence_key"])).await?;
        let db = manager.get_connection();
        for (create, condition) in PARTIAL {
            db.execute_unprepared(&format!("{create} WHERE {condition}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("task").take()).await
    }
}
