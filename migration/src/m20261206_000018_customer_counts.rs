//! Kept counts of live customers per owner and status (`customer_count`), so
//! that the customer list's `totalCount` for the common filters (status,
//! owner, team, and the viewer's own scope, which is by owner) sums a few
//! rows instead of counting the book.
//!
//! Triggers on `customer` keep them, so every writer moves them in its own
//! transaction: mutations, upserts by external id, the import, merges, and
//! rows loaded by plain SQL. A change appends a row of differences (never an
//! update of a shared row, so concurrent writers neither wait on each other
//! nor deadlock); the count of a key is the sum of its rows. `rapport rollups
//! check` compares the sums with `COUNT(*)`, `rebuild` recomputes them, and
//! the sweep folds each key's rows back into one (`crate::rollups::fold_customer_counts`).
//!
//! PostgreSQL: statement triggers with transition tables, one grouped row of
//! differences per statement however many customers it writes. SQLite: row
//! triggers (it has no statement triggers), one row per customer changed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: &[&str] = &[
    "CREATE TABLE customer_count (owner_id BIGINT NOT NULL, status VARCHAR(32) NOT NULL, customers BIGINT NOT NULL)",
    "CREATE INDEX ix_customer_count_status_owner ON customer_count (status, owner_id) INCLUDE (customers)",
    "CREATE FUNCTION customer_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'INSERT' THEN
         INSERT INTO customer_count (owner_id, status, customers)
         SELECT owner_id, status, COUNT(*) FROM new_rows WHERE archived_at IS NULL GROUP BY owner_id, status;
       ELSIF TG_OP = 'DELETE' THEN
         INSERT INTO customer_count (owner_id, status, customers)
         SELECT owner_id, status, -COUNT(*) FROM old_rows WHERE archived_at IS NULL GROUP BY owner_id, status;
       ELSE
         INSERT INTO customer_count (owner_id, status, customers)
         SELECT owner_id, status, SUM(n) FROM (
           SELECT owner_id, status, 1 AS n FROM new_rows WHERE archived_at IS NULL
           UNION ALL SELECT owner_id, status, -1 FROM old_rows WHERE archived_at IS NULL) d
         GROUP BY owner_id, status HAVING SUM(n) <> 0;
       END IF;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER customer_count_insert AFTER INSERT ON customer REFERENCING NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION customer_count_moved()",
    "CREATE TRIGGER customer_count_update AFTER UPDATE ON customer REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION customer_count_moved()",
    "CREATE TRIGGER customer_count_delete AFTER DELETE ON customer REFERENCING OLD TABLE AS old_rows
     FOR EACH STATEMENT EXECUTE FUNCTION customer_count_moved()",
];

const SQLITE: &[&str] = &[
    "CREATE TABLE customer_count (owner_id INTEGER NOT NULL, status VARCHAR(32) NOT NULL, customers INTEGER NOT NULL)",
    "CREATE INDEX ix_customer_count_status_owner ON customer_count (status, owner_id, customers)",
    "CREATE TRIGGER customer_count_insert AFTER INSERT ON customer WHEN new.archived_at IS NULL
     BEGIN
       INSERT INTO customer_count (owner_id, status, customers) VALUES (new.owner_id, new.status, 1);
     END",
    "CREATE TRIGGER customer_count_delete AFTER DELETE ON customer WHEN old.archived_at IS NULL
     BEGIN
       INSERT INTO customer_count (owner_id, status, customers) VALUES (old.owner_id, old.status, -1);
     END",
    "CREATE TRIGGER customer_count_update AFTER UPDATE OF owner_id, status, archived_at ON customer
     WHEN old.owner_id IS NOT new.owner_id OR old.status IS NOT new.status
       OR (old.archived_at IS NULL) <> (new.archived_at IS NULL)
     BEGIN
       INSERT INTO customer_count (owner_id, status, customers)
       SELECT old.owner_id, old.status, -1 WHERE old.archived_at IS NULL;
       INSERT INTO customer_count (owner_id, status, customers)
       SELECT new.owner_id, new.status, 1 WHERE new.archived_at IS NULL;
     END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = if manager.get_database_backend() == DatabaseBackend::Postgres { POSTGRES } else { SQLITE };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        db.execute_unprepared(&format!(
            "INSERT INTO customer_count (owner_id, status, customers) {}",
            crate::rollups::expected_customer_counts()
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for name in ["customer_count_insert", "customer_count_update", "customer_count_delete"] {
            let on = if manager.get_database_backend() == DatabaseBackend::Postgres { " ON customer" } else { "" };
            db.execute_unprepared(&format!("DROP TRIGGER {name}{on}")).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION customer_count_moved()").await?;
        }
        db.execute_unprepared("DROP TABLE customer_count").await?;
        Ok(())
    }
}
