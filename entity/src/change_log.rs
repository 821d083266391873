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
    /// A customer's owner before this change moved it (a reassignment, or a team change of its owner).
    pub previous_owner_id: Option<i64>,
    /// A customer change: its owner after the change.
    pub owner_id: Option<i64>,
    /// A customer change: the owner's team after the change.
    pub owner_team_id: Option<i64>,
    /// A change that moved the customer: the previous owner's team before it.
    pub previous_team_id: Option<i64>,
    pub occurred_at: DateTimeUtc,
    /// For a MERGED row: the row it was merged into.
    pub merged_into_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
