//! Indexes shaped for the hot nested reads: a page of customers with each
//! one's current contacts by name, latest communications and open tickets,
//! and the page's `totalCount`. Each is partial on the rows those reads can
//! return (not archived; for tickets, still open), so it stays small and a
//! per-customer `LIMIT` reads a handful of entries already in order.
//!
//! The predicates repeat literals the queries also write as literals
//! (`archived_at IS NULL`, the open statuses): a planner can only use a
//! partial index when the query's condition implies the index's, which a bound
//! parameter never does.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000006_hot_path_indexes"
    }
}

/// (name, table, key, predicate). Expression keys are written the same on
/// SQLite and PostgreSQL.
const INDEXES: [(&str, &str, &str, &str); 4] = [
    ("ix_contact_current_by_name", "contact", "customer_id, lower(name), id", "archived_at IS NULL"),
    ("ix_communication_latest", "communication", "customer_id, occurred_at DESC, id DESC", "archived_at IS NULL"),
    (
        "ix_ticket_open_by_customer",
        "ticket",
        "customer_id, created_at, id",
        "archived_at IS NULL AND status IN ('OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'REOPENED')",
    ),
    // Counts by status (and by owner, for a rep's or a team's scope) read this index alone.
    ("ix_customer_live_status_owner", "customer", "status, owner_id", "archived_at IS NULL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, table, key, predicate) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {table} ({key}) WHERE {predicate}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, ..) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
