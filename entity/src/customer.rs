//! An organisation we sell to.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub status: CustomerStatus,
    pub owner_id: i64,
    pub parent_id: Option<i64>,
    pub tier: Option<PartnershipTier>,
    pub purchasing_fit: Option<PurchasingFit>,
    pub strategic_importance: StrategicImportance,
    /// Computed from revenue, gross profit and strategic importance (see the segment recompute).
    pub segment: Option<Segment>,
    /// Order of `segment` for sorting: 1 LARGE_QUALITY .. 5 BLEEDING, 6 none.
    pub segment_rank: i32,
    /// Revenue of the last 12 months, kept by the segment recompute.
    pub revenue_t12m_cents: i64,
    /// Gross profit of the last 12 months, kept by the segment recompute.
    pub gross_profit_t12m_cents: i64,
    pub customer_since: Option<Date>,
    pub next_review_on: Option<Date>,
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
