//! History for the account-health inputs that kept none: contacts' level,
//! influence and relationship strength, a customer's purchasing fit, and
//! whether a user is active. Kept by triggers on every write, whoever writes;
//! seeded with the values as they stand when this runs (before that, the
//! current values stand in).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::builders::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (history table, source table, key column, kept columns, trigger name)
const HISTORIES: [(&str, &str, &str, &str, &str); 3] = [
    (
        "contact_history",
        "contact",
        "contact_id",
        "org_level, influence, relationship_strength",
        "rapport_contact_history",
    ),
    ("fit_history", "customer", "customer_id", "purchasing_fit", "rapport_fit_history"),
    ("user_activity_history", "app_user", "user_id", "active", "rapport_user_activity_history"),
];

fn statements(backend: DatabaseBackend) -> Vec<String> {
    let mut all = Vec::new();
    for (history, source, key, columns, name) in HISTORIES {
        let new: Vec<String> = columns.split(", ").map(|c| format!("NEW.{c}")).collect();
        let new = new.join(", ");
        let changed: Vec<String> = columns
            .split(", ")
            .map(|c| {
                if backend == DatabaseBackend::Postgres {
                    format!("OLD.{c} IS DISTINCT FROM NEW.{c}")
                } else {
                    format!("OLD.{c} IS NOT NEW.{c}")
                }
            })
            .collect();
        let changed = changed.join(" OR ");
        if backend == DatabaseBackend::Postgres {
            all.push(format!(
                "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN INSERT INTO {history} ({key}, {columns}, valid_from) VALUES (NEW.id, {new}, now()); \
                 RETURN NULL; END $$"
            ));
            all.push(format!(
                "CREATE TRIGGER {name}_insert AFTER INSERT ON {source} FOR EACH ROW EXECUTE FUNCTION {name}()"
            ));
            all.push(format!(
                "CREATE TRIGGER {name}_update AFTER UPDATE OF {columns} ON {source} FOR EACH ROW \
                 WHEN ({changed}) EXECUTE FUNCTION {name}()"
            ));
        } else {
            let now = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";
            all.push(format!(
                "CREATE TRIGGER {name}_insert AFTER INSERT ON {source} BEGIN \
                 INSERT INTO {history} ({key}, {columns}, valid_from) VALUES (NEW.id, {new}, {now}); END"
            ));
            all.push(format!(
                "CREATE TRIGGER {name}_update AFTER UPDATE OF {columns} ON {source} WHEN {changed} BEGIN \
                 INSERT INTO {history} ({key}, {columns}, valid_from) VALUES (NEW.id, {new}, {now}); END"
            ));
        }
    }
    all
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("contact_history")
                    .col(big_pk_auto("id"))
                    .col(big_integer("contact_id"))
                    .col(string_len("org_level", 32))
                    .col(integer_null("influence"))
                    .col(integer_null("relationship_strength"))
                    .col(timestamp_with_time_zone("valid_from"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("fit_history")
                    .col(big_pk_auto("id"))
                    .col(big_integer("customer_id"))
                    .col(string_len_null("purchasing_fit", 32))
                    .col(timestamp_with_time_zone("valid_from"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("user_activity_history")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("valid_from"))
                    .take(),
            )
            .await?;
        manager.create_index(index("contact_history", &["contact_id", "valid_from"])).await?;
        manager.create_index(index("fit_history", &["customer_id", "valid_from"])).await?;
        manager.create_index(index("user_activity_history", &["user_id", "valid_from"])).await?;
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let now =
            if backend == DatabaseBackend::Postgres { "now()" } else { "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')" };
        for (history, source, key, columns, _) in HISTORIES {
            db.execute_unprepared(&format!(
                "INSERT INTO {history} ({key}, {columns}, valid_from) SELECT id, {columns}, {now} FROM {source}"
            ))
            .await?;
        }
        for statement in statements(backend) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
        for (history, source, _, _, name) in HISTORIES {
            for trigger in [format!("{name}_insert"), format!("{name}_update")] {
                let on = if postgres { format!(" ON {source}") } else { String::new() };
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}{on}")).await?;
            }
            if postgres {
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {name}()")).await?;
            }
            manager.drop_table(Table::drop().table(history).take()).await?;
        }
        Ok(())
    }
}
