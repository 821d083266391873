//! A date to remember on a customer or one of its contacts: a project start,
//! a contract renewal; once, or every year.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_date")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    /// PROJECT_START, CONTRACT_RENEWAL, COMPANY_ANNIVERSARY or OTHER.
    pub kind: String,
    pub note: Option<String>,
    pub on_date: Date,
    /// Every year on the same day, or only once.
    pub recurring: bool,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
