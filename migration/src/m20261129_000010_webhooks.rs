//! Webhooks: endpoints, the outbox of events (written in the transaction of
//! the change they announce), one delivery per event and endpoint, and every
//! attempt at a delivery.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, integer, integer_null, string_len, string_len_null, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::builders::{fk, index, table, unique};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000010_webhooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                table("webhook_endpoint")
                    .col(text("url"))
                    .col(text_null("description"))
                    // Space-separated event types; empty means every type.
                    .col(text("event_types"))
                    .col(string_len("secret", 100))
                    // The secret before the last rotation, still signing until `previous_secret_until`.
                    .col(string_len_null("previous_secret", 100))
                    .col(timestamp_with_time_zone_null("previous_secret_until"))
                    .col(boolean("active"))
                    .col(big_integer("created_by"))
                    .col(integer("version"))
                    .foreign_key(&mut fk("webhook_endpoint", "created_by", "app_user"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                table("webhook_event")
                    .col(string_len("event_type", 40))
                    // What the event is about, and which occurrence: events found by a
                    // sweep (a breached SLA, an overdue promise) are unique on the three.
                    .col(big_integer("subject_id"))
                    .col(string_len_null("occurrence", 80))
                    .col(text("payload"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                table("webhook_delivery")
                    .col(big_integer("endpoint_id"))
                    .col(big_integer("event_id"))
                    // PENDING, SUCCEEDED or FAILED.
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("last_attempt_at"))
                    .col(integer_null("last_status_code"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .foreign_key(&mut fk("webhook_delivery", "endpoint_id", "webhook_endpoint"))
                    .foreign_key(&mut fk("webhook_delivery", "event_id", "webhook_event"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                table("webhook_attempt")
                    .col(big_integer("delivery_id"))
                    .col(integer("number"))
                    .col(timestamp_with_time_zone("attempted_at"))
                    .col(big_integer("duration_ms"))
                    .col(integer_null("status_code"))
                    .col(text_null("error"))
                    .col(boolean("succeeded"))
                    .foreign_key(&mut fk("webhook_attempt", "delivery_id", "webhook_delivery"))
                    .take(),
            )
            .await?;
        for stmt in [
            unique("webhook_event", &["event_type", "subject_id", "occurrence"]),
            index("webhook_delivery", &["status", "next_attempt_at"]),
            index("webhook_delivery", &["endpoint_id", "id"]),
            index("webhook_delivery", &["event_id"]),
            index("webhook_attempt", &["delivery_id", "number"]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["webhook_attempt", "webhook_delivery", "webhook_event", "webhook_endpoint"] {
            manager.drop_table(Table::drop().table(name).take()).await?;
        }
        Ok(())
    }
}
