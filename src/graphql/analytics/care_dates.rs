//! `upcomingCareDates`.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::Utc;

use crate::{
    analytics::care_dates::{self as report, CareKind},
    graphql::support::{context::request, guards, ids, scalars::Date},
};

/// Most care dates one request returns.
const MAX_FIRST: i32 = 1000;

/// What kind of day a care date is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CareDateKind {
    /// A current contact's birthday (contacts who left, with `endedOn`, are not listed).
    Birthday,
    /// The anniversary of the customer's first purchase (`customerSince`).
    CustomerAnniversary,
}

impl From<CareKind> for CareDateKind {
    fn from(kind: CareKind) -> Self {
        match kind {
            CareKind::Birthday => Self::Birthday,
            CareKind::CustomerAnniversary => Self::CustomerAnniversary,
        }
    }
}

/// A day to reach out: a birthday or a customer anniversary.
#[derive(SimpleObject)]
pub struct CareDate {
    /// The day it falls on (a 29 February falls on 28 February in other years).
    pub date: Date,
    /// Days from `from` to `date` (0 is that day).
    pub days_away: i32,
    /// What kind of day it is.
    pub kind: CareDateKind,
    /// The customer.
    pub customer_id: ID,
    /// The customer's name.
    pub customer_name: String,
    /// The contact whose birthday it is; null for a customer anniversary.
    pub contact_id: Option<ID>,
    /// The contact's name; null for a customer anniversary.
    pub contact_name: Option<String>,
    /// The date on record: the birthday, or the first purchase.
    pub since: Date,
    /// Years completed on `date`: the age turned, or the years as a customer.
    pub years: i32,
}

#[derive(Default)]
pub struct CareDateQuery;

#[Object]
impl CareDateQuery {
    /// Birthdays of current contacts and anniversaries of customers in the next
    /// `days` days (today included), for the customers you can see, soonest first.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn upcoming_care_dates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many days ahead, 1 to 366 (default 14).", default = 14)] days: i32,
        #[graphql(desc = "The first day of the window (default: today, UTC).")] from: Option<Date>,
        #[graphql(desc = "At most this many dates, the soonest (1 to 1000; default 100).", default = 100)] first: i32,
    ) -> Result<Vec<CareDate>> {
        let rc = request(ctx)?;
        if !(1..=MAX_FIRST).contains(&first) {
            return Err(crate::error::AppError::bad_input("first", format!("from 1 to {MAX_FIRST}")).into());
        }
        let from = from.map_or_else(|| Utc::now().date_naive(), |d| d.0);
        let dates = report::upcoming(&rc.db, &rc.viewer(), from, i64::from(days)).await?;
        Ok(dates
            .into_iter()
            .take(usize::try_from(first).unwrap_or(0))
            .map(|c| CareDate {
                date: Date(c.date),
                days_away: i32::try_from((c.date - from).num_days()).unwrap_or(i32::MAX),
                kind: c.kind.into(),
                customer_id: ids::encode("Customer", c.customer_id),
                customer_name: c.customer_name,
                contact_id: c.contact_id.map(|id| ids::encode("Contact", id)),
                contact_name: c.contact_name,
                since: Date(c.since),
                years: c.years,
            })
            .collect())
    }
}
