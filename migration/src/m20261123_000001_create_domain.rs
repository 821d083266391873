//! The whole domain of DESIGN.md section 2: tables, foreign keys, unique
//! constraints and an index for every foreign key and every exposed filter or sort.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::builders::{fk, index, table, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables in creation order (dependencies first); dropped in reverse.
const TABLES: &[&str] = &[
    "team",
    "app_user",
    "customer",
    "contact",
    "communication",
    "communication_contact",
    "ticket",
    "ticket_event",
    "partnership",
    "partnership_change",
    "supply_priority",
    "commitment",
    "revenue_entry",
    "churn_event",
    "customer_link",
    "survey_response",
    "audit_log",
];

fn tables() -> Vec<TableCreateStatement> {
    vec![
        table("team")
            .col(string_len("name", 200))
            // No foreign key: team and user refer to each other; the service checks it.
            .col(big_integer_null("lead_id"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .take(),
        table("app_user")
            .col(string_len_uniq("email", 254))
            .col(string_len("name", 200))
            .col(string_len("role", 32))
            .col(big_integer_null("team_id"))
            .col(boolean("active"))
            .col(string_len("scopes", 1000).default(""))
            .col(string_len_null("password_hash", 255))
            .col(integer("version").default(1))
            .foreign_key(&mut fk("app_user", "team_id", "team"))
            .take(),
        table("customer")
            .col(string_len("name", 200))
            .col(string_len_null("industry", 100))
            .col(string_len_null("region", 100))
            .col(string_len("status", 32))
            .col(big_integer("owner_id"))
            .col(big_integer_null("parent_id"))
            .col(string_len_null("tier", 32))
            .col(string_len_null("purchasing_fit", 32))
            .col(string_len("strategic_importance", 32))
            .col(string_len_null("segment", 32))
            .col(date_null("customer_since"))
            .col(date_null("next_review_on"))
            .col(integer("version").default(1))
            .col(timestamp_with_time_zone_null("archived_at"))
            .foreign_key(&mut fk("customer", "owner_id", "app_user"))
            .foreign_key(&mut fk("customer", "parent_id", "customer"))
            .take(),
        table("contact")
            .col(big_integer("customer_id"))
            .col(string_len("name", 200))
            .col(string_len_null("title", 200))
            .col(string_len_null("department", 200))
            .col(string_len("org_level", 32))
            .col(integer_null("influence"))
            .col(integer_null("relationship_strength"))
            .col(date_null("birthday"))
            .col(string_len_null("email", 254))
            .col(string_len_null("phone", 50))
            .col(date_null("started_on"))
            .col(date_null("ended_on"))
            .col(integer("version").default(1))
            .col(timestamp_with_time_zone_null("archived_at"))
            .foreign_key(&mut fk("contact", "customer_id", "customer"))
            .take(),
        table("communication")
            .col(big_integer("customer_id"))
            .col(big_integer("user_id"))
            .col(string_len("channel", 32))
            .col(string_len("direction", 32))
            .col(timestamp_with_time_zone("occurred_at"))
            .col(text("summary"))
            .col(date_null("follow_up_on"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .foreign_key(&mut fk("communication", "customer_id", "customer"))
            .foreign_key(&mut fk("communication", "user_id", "app_user"))
            .take(),
        Table::create()
            .table("communication_contact")
            .col(big_integer("communication_id"))
            .col(big_integer("contact_id"))
            .primary_key(Index::create().col("communication_id").col("contact_id"))
            .foreign_key(&mut fk("communication_contact", "communication_id", "communication"))
            .foreign_key(&mut fk("communication_contact", "contact_id", "contact"))
            .take(),
        table("ticket")
            .col(big_integer("customer_id"))
            .col(big_integer_null("contact_id"))
            .col(big_integer_null("assignee_id"))
            .col(string_len("title", 200))
            .col(text("description"))
            .col(string_len("category", 32))
            .col(string_len("priority", 32))
            .col(string_len("status", 32))
            .col(timestamp_with_time_zone("first_response_due_at"))
            .col(timestamp_with_time_zone("resolution_due_at"))
            .col(timestamp_with_time_zone_null("first_responded_at"))
            .col(timestamp_with_time_zone_null("resolved_at"))
            .col(integer("version").default(1))
            .col(timestamp_with_time_zone_null("archived_at"))
            .foreign_key(&mut fk("ticket", "customer_id", "customer"))
            .foreign_key(&mut fk("ticket", "contact_id", "contact"))
            .foreign_key(&mut fk("ticket", "assignee_id", "app_user"))
            .take(),
        table("ticket_event")
            .col(big_integer("ticket_id"))
            .col(string_len("kind", 32))
            .col(big_integer("actor_id"))
            .col(text_null("body"))
            .col(string_len_null("from_value", 200))
            .col(string_len_null("to_value", 200))
            .foreign_key(&mut fk("ticket_event", "ticket_id", "ticket"))
            .foreign_key(&mut fk("ticket_event", "actor_id", "app_user"))
            .take(),
        table("partnership")
            .col(big_integer_uniq("customer_id"))
            .col(string_len("tier", 32))
            .col(integer_null("discount_bps"))
            .col(integer_null("credit_terms_days"))
            .col(string_len_null("service_level", 200))
            .col(string_len("lock_ins", 400).default(""))
            .col(date("since"))
            .col(date_null("review_on"))
            .col(integer("version").default(1))
            .foreign_key(&mut fk("partnership", "customer_id", "customer"))
            .take(),
        table("partnership_change")
            .col(big_integer("customer_id"))
            .col(string_len_null("from_tier", 32))
            .col(string_len("to_tier", 32))
            .col(big_integer("changed_by"))
            .col(text_null("reason"))
            .foreign_key(&mut fk("partnership_change", "customer_id", "customer"))
            .foreign_key(&mut fk("partnership_change", "changed_by", "app_user"))
            .take(),
        table("supply_priority")
            .col(big_integer("customer_id"))
            .col(string_len("product_line", 100))
            .col(integer("priority_rank"))
            .col(big_integer("guaranteed_quantity"))
            .col(integer_null("lead_time_days"))
            .col(date_null("peak_starts_on"))
            .col(date_null("peak_ends_on"))
            .col(integer("version").default(1))
            .col(timestamp_with_time_zone_null("archived_at"))
            .foreign_key(&mut fk("supply_priority", "customer_id", "customer"))
            .take(),
        table("commitment")
            .col(big_integer("customer_id"))
            .col(string_len("kind", 32))
            .col(text("description"))
            .col(big_integer_null("amount_cents"))
            .col(date("due_on"))
            .col(date_null("fulfilled_on"))
            .col(big_integer("owner_id"))
            .col(integer("version").default(1))
            .col(timestamp_with_time_zone_null("archived_at"))
            .foreign_key(&mut fk("commitment", "customer_id", "customer"))
            .foreign_key(&mut fk("commitment", "owner_id", "app_user"))
            .take(),
        table("revenue_entry")
            .col(big_integer("customer_id"))
            .col(date("month"))
            .col(big_integer("revenue_cents"))
            .col(big_integer("gross_profit_cents"))
            .foreign_key(&mut fk("revenue_entry", "customer_id", "customer"))
            .take(),
        table("churn_event")
            .col(big_integer("customer_id"))
            .col(string_len("kind", 32))
            .col(date("occurred_on"))
            .col(string_len_null("reason", 32))
            .col(boolean_null("controllable"))
            .col(string_len_null("competitor", 200))
            .col(text_null("notes"))
            .col(big_integer("recorded_by"))
            .foreign_key(&mut fk("churn_event", "customer_id", "customer"))
            .foreign_key(&mut fk("churn_event", "recorded_by", "app_user"))
            .take(),
        table("customer_link")
            .col(big_integer("from_customer_id"))
            .col(big_integer("to_customer_id"))
            .col(string_len("kind", 32))
            .col(timestamp_with_time_zone_null("archived_at"))
            .foreign_key(&mut fk("customer_link", "from_customer_id", "customer"))
            .foreign_key(&mut fk("customer_link", "to_customer_id", "customer"))
            .take(),
        table("survey_response")
            .col(big_integer("customer_id"))
            .col(big_integer_null("contact_id"))
            .col(integer("score"))
            .col(text_null("comment"))
            .col(date("responded_on"))
            .foreign_key(&mut fk("survey_response", "customer_id", "customer"))
            .foreign_key(&mut fk("survey_response", "contact_id", "contact"))
            .take(),
        table("audit_log")
            .col(big_integer_null("actor_id"))
            .col(string_len("action", 64))
            .col(string_len("entity", 64))
            .col(big_integer("entity_id"))
            .col(text("changes"))
            .foreign_key(&mut fk("audit_log", "actor_id", "app_user"))
            .take(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("team", &["lead_id"]),
        index("app_user", &["team_id"]),
        index("app_user", &["role"]),
        index("customer", &["owner_id"]),
        index("customer", &["parent_id"]),
        index("customer", &["status"]),
        index("customer", &["tier"]),
        index("customer", &["segment"]),
        index("customer", &["region"]),
        index("customer", &["industry"]),
        index("customer", &["created_at", "id"]),
        index("customer", &["updated_at", "id"]),
        index("customer", &["archived_at"]),
        index("contact", &["customer_id"]),
        index("contact", &["org_level"]),
        index("communication", &["customer_id", "occurred_at"]),
        index("communication", &["user_id"]),
        index("communication", &["occurred_at", "id"]),
        index("communication_contact", &["contact_id"]),
        index("ticket", &["customer_id", "status"]),
        index("ticket", &["contact_id"]),
        index("ticket", &["assignee_id"]),
        index("ticket", &["status"]),
        index("ticket", &["category"]),
        index("ticket", &["priority"]),
        index("ticket", &["created_at", "id"]),
        index("ticket", &["resolution_due_at"]),
        index("ticket_event", &["ticket_id", "id"]),
        index("ticket_event", &["actor_id"]),
        index("partnership", &["tier"]),
        index("partnership_change", &["customer_id"]),
        index("partnership_change", &["changed_by"]),
        unique("supply_priority", &["customer_id", "product_line"]),
        index("supply_priority", &["product_line", "priority_rank"]),
        index("commitment", &["customer_id"]),
        index("commitment", &["owner_id"]),
        index("commitment", &["due_on", "id"]),
        unique("revenue_entry", &["customer_id", "month"]),
        index("revenue_entry", &["month"]),
        index("churn_event", &["customer_id"]),
        index("churn_event", &["occurred_on", "id"]),
        index("churn_event", &["recorded_by"]),
        unique("customer_link", &["from_customer_id", "to_customer_id", "kind"]),
        index("customer_link", &["to_customer_id"]),
        index("survey_response", &["customer_id"]),
        index("survey_response", &["contact_id"]),
        index("audit_log", &["entity", "entity_id"]),
        index("audit_log", &["actor_id"]),
        index("audit_log", &["created_at", "id"]),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for stmt in tables() {
            manager.create_table(stmt).await?;
        }
        for stmt in indexes() {
            manager.create_index(stmt).await?;
        }
        // Names sort case-insensitively; sea-query cannot express these indexes.
        for (table, column) in [("customer", "name"), ("contact", "name"), ("app_user", "name"), ("team", "name")] {
            let sql = format!("CREATE INDEX ix_{table}_lower_{column} ON {table} (lower({column}), id)");
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*name).take()).await?;
        }
        Ok(())
    }
}
