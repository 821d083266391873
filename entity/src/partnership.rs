//! The current partnership of a customer: tier and terms.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub customer_id: i64,
    pub tier: PartnershipTier,
    /// Discount in basis points (1/100 of a percent), to stay exact.
    pub discount_bps: Option<i32>,
    pub credit_terms_days: Option<i32>,
    pub service_level: Option<String>,
    /// Comma-separated lock-in mechanisms.
    pub lock_ins: String,
    pub since: Date,
    pub review_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
