//! Who gets scarce stock first, per product line.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supply_priority")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub product_line: String,
    /// 1 is served first.
    pub priority_rank: i32,
    pub guaranteed_quantity: i64,
    pub lead_time_days: Option<i32>,
    pub peak_starts_on: Option<Date>,
    pub peak_ends_on: Option<Date>,
    pub version: i32,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
