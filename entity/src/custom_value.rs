//! One custom field's value on one row, in the column its type sorts by.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_value")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub field_id: i64,
    pub entity: CustomFieldEntity,
    pub row_id: i64,
    /// STRING, ENUM, and DATE as `YYYY-MM-DD`.
    pub text_value: Option<String>,
    /// NUMBER.
    pub number_value: Option<f64>,
    /// MONEY in cents, BOOLEAN as 0 or 1.
    pub int_value: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
