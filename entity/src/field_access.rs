//! Who may read one sensitive field (no row: everyone who reads the record).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "field_access")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub field: String,
    /// Roles that may read it, space-separated.
    pub roles: String,
    /// Scopes of which a service account needs one, space-separated.
    pub scopes: String,
    pub updated_by: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
