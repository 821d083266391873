//! A field a company added to customers, contacts or tickets.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_field")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub entity: CustomFieldEntity,
    pub key: String,
    pub label: String,
    pub description: Option<String>,
    pub field_type: CustomFieldType,
    /// ENUM options, as a JSON array of strings.
    pub options: Option<String>,
    pub required: bool,
    pub sensitive: bool,
    pub identifier: bool,
    pub archived_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
