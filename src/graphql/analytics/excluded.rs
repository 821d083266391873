//! `excluded { reason count }`: the customers a report left out, and why.

use async_graphql::{Enum, SimpleObject};

use crate::analytics::excluded::{Excluded, Exclusion};

/// Why a customer you can see is not in a report's figures.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ExclusionReason {
    /// Archived: the record was withdrawn, and counts in no report.
    Archived,
    /// Lost on the report's date (by its churn events): it takes no segment slot.
    Lost,
    /// Not a customer on the report's date: a PROSPECT, or one whose history starts after it.
    NotACustomer,
    /// Neither `customerSince` nor any revenue: where its history starts is unknown. Set `customerSince`
    /// (or push its revenue) and it counts.
    NoStartDate,
    /// No revenue or gross profit in the report's months.
    NoRevenueInWindow,
    /// Never bought anything, so it cannot have stopped buying.
    NeverBought,
}

impl From<Exclusion> for ExclusionReason {
    fn from(e: Exclusion) -> Self {
        match e {
            Exclusion::Archived => Self::Archived,
            Exclusion::Lost => Self::Lost,
            Exclusion::NotACustomer => Self::NotACustomer,
            Exclusion::NoStartDate => Self::NoStartDate,
            Exclusion::NoRevenueInWindow => Self::NoRevenueInWindow,
            Exclusion::NeverBought => Self::NeverBought,
        }
    }
}

/// How many of your customers a report left out for one reason.
#[derive(SimpleObject)]
pub struct ExcludedCustomers {
    /// Why they were left out.
    pub reason: ExclusionReason,
    /// How many.
    pub count: i64,
}

/// The API's form of a report's exclusions.
pub fn excluded(list: Vec<Excluded>) -> Vec<ExcludedCustomers> {
    list.into_iter().map(|e| ExcludedCustomers { reason: e.reason.into(), count: e.count }).collect()
}
