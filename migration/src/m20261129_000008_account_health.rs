//! Account health: the snapshot the at-risk list ranks (one row per customer,
//! kept by `rapport::service::health`), and the indexes the health signals
//! read per customer.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, boolean, integer, string_len, text, timestamp_with_time_zone};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000008_account_health"
    }
}

/// (name, table, key, predicate or ""). Predicates are literals the signal
/// queries also write as literals, so a planner can use the partial indexes.
const INDEXES: [(&str, &str, &str, &str); 6] = [
    // The at-risk order (score ascending, then revenue descending) of live
    // accounts, for the whole book and per owner: the list's page and count
    // read these alone, never the wide rows with the signals.
    ("ix_customer_health_rank", "customer_health", "score, revenue_t12m_cents DESC, customer_id", "live"),
    ("ix_customer_health_owner", "customer_health", "owner_id, score, revenue_t12m_cents DESC, customer_id", "live"),
    (
        "ix_communication_executive",
        "communication",
        "customer_id, occurred_at",
        "channel = 'EXECUTIVE_MEETING' AND archived_at IS NULL",
    ),
    ("ix_ticket_customer_created", "ticket", "customer_id, created_at", "archived_at IS NULL"),
    ("ix_survey_response_latest", "survey_response", "customer_id, responded_on, id", ""),
    (
        "ix_commitment_open_by_customer",
        "commitment",
        "customer_id, due_on",
        "fulfilled_on IS NULL AND archived_at IS NULL",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customer_health")
                    .col(big_integer("customer_id").primary_key())
                    .col(integer("score"))
                    .col(string_len("level", 16))
                    .col(big_integer("revenue_t12m_cents"))
                    .col(big_integer("owner_id"))
                    .col(boolean("live"))
                    .col(text("signals"))
                    .col(timestamp_with_time_zone("computed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_customer_health_customer_id")
                            .from("customer_health", "customer_id")
                            .to("customer", "id")
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        for (name, table, key, predicate) in INDEXES {
            let condition = if predicate.is_empty() { String::new() } else { format!(" WHERE {predicate}") };
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {table} ({key}){condition}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, table, ..) in INDEXES {
            if table != "customer_health" {
                db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
            }
        }
        manager.drop_table(Table::drop().table("customer_health").take()).await
    }
}
