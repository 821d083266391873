//! A person at a customer; kept after they leave, with the date.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub org_level: OrgLevel,
    /// 1 (none) to 5 (decides alone).
    pub influence: Option<i32>,
    /// 1 (cold) to 5 (trusted).
    pub relationship_strength: Option<i32>,
    pub birthday: Option<Date>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub started_on: Option<Date>,
    pub ended_on: Option<Date>,
    pub version: i32,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The row this one was merged into (it is archived since).
    pub merged_into_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
