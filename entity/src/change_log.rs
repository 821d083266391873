//! One entry of the change feed: a row of a synced table created, updated or archived.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    /// Commit order (see the migration that made the table).
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i64,
    pub entity_type: String,
    pub entity_id: i64,
    pub operation: String,
    pub customer_id: i64,
    pub other_customer_id: Option<i64>,
    pub previous_owner_id: Option<i64>,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
