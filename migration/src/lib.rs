//! Rapport's schema migrations. One file per change; never edit a released one.

pub use sea_orm_migration::prelude::*;

mod builders;
mod m20261123_000001_create_domain;
mod m20261123_000002_audit_client;
mod m20261123_000003_refresh_tokens;
mod m20261128_000004_user_phone_group_hierarchy;
mod m20261128_000005_analytics;
mod m20261128_000006_hot_path_indexes;
mod m20261128_000007_key_dates;
mod m20261129_000008_account_health;
mod m20261129_000009_change_feed;
mod m20261129_000010_webhooks;
mod m20261129_000011_api_tokens;
mod m20261129_000012_external_ids;
mod m20261204_000013_change_visibility;
mod m20261204_000014_export_window;
mod m20261204_000015_history;
mod m20261205_000016_invitations;
mod m20261205_000017_external_ref_by_row;
mod m20261206_000018_customer_counts;
mod m20261206_000019_tasks;
mod m20261206_000020_playbooks_and_health_history;
mod m20261206_000021_input_history;
mod m20261206_000022_custom_fields;
mod m20261206_000023_duplicates;
mod m20261206_000024_field_access;
pub mod rollups;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_domain::Migration),
            Box::new(m20261123_000002_audit_client::Migration),
            Box::new(m20261123_000003_refresh_tokens::Migration),
            Box::new(m20261128_000004_user_phone_group_hierarchy::Migration),
            Box::new(m20261128_000005_analytics::Migration),
            Box::new(m20261128_000006_hot_path_indexes::Migration),
            Box::new(m20261128_000007_key_dates::Migration),
            Box::new(m20261129_000008_account_health::Migration),
            Box::new(m20261129_000009_change_feed::Migration),
            Box::new(m20261129_000010_webhooks::Migration),
            Box::new(m20261129_000011_api_tokens::Migration),
            Box::new(m20261129_000012_external_ids::Migration),
            Box::new(m20261204_000013_change_visibility::Migration),
            Box::new(m20261204_000014_export_window::Migration),
            Box::new(m20261204_000015_history::Migration),
            Box::new(m20261205_000016_invitations::Migration),
            Box::new(m20261205_000017_external_ref_by_row::Migration),
            Box::new(m20261206_000018_customer_counts::Migration),
            Box::new(m20261206_000019_tasks::Migration),
            Box::new(m20261206_000020_playbooks_and_health_history::Migration),
            Box::new(m20261206_000021_input_history::Migration),
            Box::new(m20261206_000022_custom_fields::Migration),
            Box::new(m20261206_000023_duplicates::Migration),
            Box::new(m20261206_000024_field_access::Migration),
        ]
    }
}
