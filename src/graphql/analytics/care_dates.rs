//! `upcomingCareDates`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::Utc;

use crate::{
    analytics::care_dates::{self as report, CareKind},
    graphql::support::{context::request, guards, ids, scalars::Date},
    service::key_dates::{self as service, NewKeyDate},
};

/// What a key date marks.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum KeyDateKind {
    /// A project starts (or started).
    ProjectStart,
    /// A contract comes up for renewal.
    ContractRenewal,
    /// The customer's own founding anniversary.
    CompanyAnniversary,
    /// Anything else worth a call; say what in `note`.
    Other,
}

impl KeyDateKind {
    fn stored(self) -> &'static str {
        match self {
            Self::ProjectStart => "PROJECT_START",
            Self::ContractRenewal => "CONTRACT_RENEWAL",
            Self::CompanyAnniversary => "COMPANY_ANNIVERSARY",
            Self::Other => "OTHER",
        }
    }

    fn from_stored(kind: &str) -> Self {
        [Self::ProjectStart, Self::ContractRenewal, Self::CompanyAnniversary]
            .into_iter()
            .find(|k| k.stored() == kind)
            .unwrap_or(Self::Other)
    }
}

/// A date recorded on a customer or one of its contacts.
#[derive(SimpleObject)]
pub struct KeyDate {
    /// Global ID (pass it to `archiveKeyDate`).
    pub id: ID,
    /// What it marks.
    pub kind: KeyDateKind,
    /// Free text: what to remember.
    pub note: Option<String>,
}

/// A key date to record.
#[derive(InputObject)]
pub struct KeyDateInput {
    /// The customer.
    pub customer_id: ID,
    /// The contact it concerns, if any (a contact of the customer).
    pub contact_id: Option<ID>,
    /// What it marks.
    pub kind: KeyDateKind,
    /// The date (the first one, when it recurs).
    pub date: Date,
    /// Every year on the same day (true), or only once.
    pub recurring: bool,
    /// What to remember, up to 1000 characters.
    pub note: Option<String>,
}

/// A recorded key date, as `recordKeyDate` and `archiveKeyDate` return it.
#[derive(SimpleObject)]
pub struct RecordedKeyDate {
    /// Global ID.
    pub id: ID,
    /// The customer.
    pub customer_id: ID,
    /// The contact it concerns, if any.
    pub contact_id: Option<ID>,
    /// What it marks.
    pub kind: KeyDateKind,
    /// The date (the first one, when it recurs).
    pub date: Date,
    /// Every year on the same day, or only once.
    pub recurring: bool,
    /// What to remember.
    pub note: Option<String>,
    /// When it was archived (it no longer shows among the care dates).
    pub archived_at: Option<chrono::DateTime<Utc>>,
}

impl From<entity::key_date::Model> for RecordedKeyDate {
    fn from(m: entity::key_date::Model) -> Self {
        Self {
            id: ids::encode("KeyDate", m.id),
            customer_id: ids::encode("Customer", m.customer_id),
            contact_id: m.contact_id.map(|id| ids::encode("Contact", id)),
            kind: KeyDateKind::from_stored(&m.kind),
            date: Date(m.on_date),
            recurring: m.recurring,
            note: m.note,
            archived_at: m.archived_at,
        }
    }
}

#[derive(Default)]
pub struct KeyDateMutation;

#[Object]
impl KeyDateMutation {
    /// Records a key date on a customer you may edit (or one of its contacts);
    /// it shows among the `upcomingCareDates`.
    async fn record_key_date(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to record.")] input: KeyDateInput,
    ) -> Result<RecordedKeyDate> {
        let rc = request(ctx)?;
        let new = NewKeyDate {
            customer_id: ids::decode("Customer", "customerId", &input.customer_id)?,
            contact_id: ids::decode_opt("Contact", "contactId", input.contact_id.as_ref())?,
            kind: input.kind.stored(),
            note: input.note,
            on_date: input.date.0,
            recurring: input.recurring,
        };
        Ok(service::record(&rc.services, &rc.viewer(), new).await?.into())
    }

    /// Archives a key date: it leaves the care dates and stays in the audit trail.
    async fn archive_key_date(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key date.")] id: ID,
    ) -> Result<RecordedKeyDate> {
        let rc = request(ctx)?;
        let id = ids::decode("KeyDate", "id", &id)?;
        Ok(service::archive(&rc.services, &rc.viewer(), id).await?.into())
    }
}

/// Most care dates one request returns.
const MAX_FIRST: i32 = 1000;

/// What kind of day a care date is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CareDateKind {
    /// A current contact's birthday (contacts who left, with `endedOn`, are not listed).
    Birthday,
    /// The anniversary of the customer's first purchase (`customerSince`).
    CustomerAnniversary,
    /// A key date recorded with `recordKeyDate`.
    KeyDate,
}

impl From<CareKind> for CareDateKind {
    fn from(kind: CareKind) -> Self {
        match kind {
            CareKind::Birthday => Self::Birthday,
            CareKind::CustomerAnniversary => Self::CustomerAnniversary,
            CareKind::KeyDate => Self::KeyDate,
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
    /// The contact whose birthday it is, or whom the key date concerns; null for a customer anniversary.
    pub contact_id: Option<ID>,
    /// The contact's name; null for a customer anniversary.
    pub contact_name: Option<String>,
    /// The date on record: the birthday, or the first purchase.
    pub since: Date,
    /// Years completed on `date`: the age turned, the years as a customer, or the years since a key date.
    pub years: i32,
    /// For a key date: the key date.
    pub key_date: Option<KeyDate>,
}

#[derive(Default)]
pub struct CareDateQuery;

#[Object]
impl CareDateQuery {
    /// Birthdays of current contacts, anniversaries of customers and key dates
    /// (once or every year) in the next `days` days (today included), for the
    /// customers you can see, soonest first. Without birthdays when you may not
    /// read CONTACT_BIRTHDAY (listed as `CareDateKind.BIRTHDAY` in `extensions.hiddenFields`).
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
        rc.may_read(crate::policy::SensitiveField::ContactBirthday, "CareDateKind.BIRTHDAY");
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
                key_date: c.key_date.map(|(id, kind, note)| KeyDate {
                    id: ids::encode("KeyDate", id),
                    kind: KeyDateKind::from_stored(&kind),
                    note,
                }),
            })
            .collect())
    }
}
