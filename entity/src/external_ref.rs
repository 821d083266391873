//! The id another system knows a customer or contact by.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "external_ref")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// CUSTOMER or CONTACT.
    pub entity: String,
    pub entity_id: i64,
    /// The system, e.g. `erp`.
    pub source: String,
    /// The row's id in that system.
    pub external_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
