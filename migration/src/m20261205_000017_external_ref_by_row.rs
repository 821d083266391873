//! The index that finds a row's external ids leads with the row's id
//! (`entity_id, entity, source`) instead of `entity, entity_id, source`.
//!
//! With `entity` first, it also served `entity = ? AND source = ?` (a lookup
//! by external id) as well as the index made for that lookup, and while a
//! bulk write grows the table faster than its statistics follow, PostgreSQL
//! could pick it: every lookup then scanned all of a source's references.
//! Leading with the row's id, it serves only the lookups by row.

use sea_orm_migration::prelude::*;

use crate::builders::unique;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ux_external_ref_entity_entity_id_source").table("external_ref").to_owned())
            .await?;
        manager.create_index(unique("external_ref", &["entity_id", "entity", "source"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ux_external_ref_entity_id_entity_source").table("external_ref").to_owned())
            .await?;
        manager.create_index(unique("external_ref", &["entity", "entity_id", "source"])).await
    }
}
