//! A piece of work on a customer, with an owner and a due date.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub commitment_id: Option<i64>,
    pub communication_id: Option<i64>,
    pub title: String,
    pub notes: Option<String>,
    pub owner_id: i64,
    pub due_on: Date,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    pub source: TaskSource,
    pub playbook_id: Option<i64>,
    pub occurrence_key: Option<String>,
    pub created_by: Option<i64>,
    pub closed_by: Option<i64>,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
