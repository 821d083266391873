//! Care dates: the days a rep should call without being asked. These are the
//! birthdays of current contacts and the anniversaries of customers
//! (`customer_since`) in a window of days, for the viewer's customers,
//! soonest first.
//!
//! A date recurs on the same month and day every year. A 29 February falls on
//! 28 February in years without one, so it is never skipped. The window runs
//! from `from` (inclusive) for `days` days, across a year end if need be.

use chrono::{Datelike, Duration, NaiveDate};
use std::collections::HashMap;

use entity::{contact, customer, key_date};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
};

/// The longest window, in days: a year and a day covers every date once.
pub const MAX_DAYS: i64 = 366;

/// What kind of day it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareKind {
    /// A current contact's birthday.
    Birthday,
    /// The anniversary of the day the customer first bought from us.
    CustomerAnniversary,
    /// A key date recorded on the customer or a contact.
    KeyDate,
}

/// One day to remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareDate {
    pub date: NaiveDate,
    pub kind: CareKind,
    pub customer_id: i64,
    pub customer_name: String,
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    /// The date on record (a birthday, the first purchase).
    pub since: NaiveDate,
    /// Years completed on `date` (the age turned, the years as a customer).
    pub years: i32,
    /// For a key date: its id, kind and note.
    pub key_date: Option<(i64, String, Option<String>)>,
}

/// The day `original` recurs in `year` (29 February on 28 February when `year` has none).
fn in_year(original: NaiveDate, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, original.month(), original.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, original.month(), original.day() - 1))
}

/// The first time `original` recurs on or after `from`, if it is before `until` (exclusive).
/// A birth or a first purchase is not its own anniversary; a recurring key
/// date counts on its first day too (`itself`).
pub fn next_occurrence(original: NaiveDate, from: NaiveDate, until: NaiveDate, itself: bool) -> Option<NaiveDate> {
    [from.year(), from.year() + 1]
        .into_iter()
        .filter_map(|year| in_year(original, year))
        .find(|date| *date >= from && (*date > original || (itself && *date == original)))
        .filter(|date| *date < until)
}

/// The care dates of the viewer's customers from `from` for `days` days, soonest first
/// (then by customer name and contact name). Three statements.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upcoming(
    db: &DatabaseConnection,
    viewer: &Viewer,
    from: NaiveDate,
    days: i64,
) -> AppResult<Vec<CareDate>> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::bad_input("days", format!("from 1 to {MAX_DAYS}")));
    }
    collect(db, viewer, from, days, None).await
}

/// The next care date of one customer within a year from `from`, if the viewer sees it. Three statements.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn next_of(
    db: &DatabaseConnection,
    viewer: &Viewer,
    customer_id: i64,
    from: NaiveDate,
) -> AppResult<Option<CareDate>> {
    Ok(collect(db, viewer, from, MAX_DAYS, Some(customer_id)).await?.into_iter().next())
}

/// What care dates are made of: the visible live customers, their key
/// dates, and their contacts with a birthday or named by a key date.
struct Sources {
    customers: Vec<(i64, String, Option<NaiveDate>)>,
    key_dates: Vec<key_date::Model>,
    contacts: Vec<contact::Model>,
}

/// The sources of the viewer's care dates (of one customer with `only`), three statements.
async fn sources(db: &DatabaseConnection, viewer: &Viewer, only: Option<i64>) -> AppResult<Sources> {
    let customers: Vec<(i64, String, Option<NaiveDate>)> = customer::Entity::find()
        .select_only()
        .columns([customer::Column::Id, customer::Column::Name, customer::Column::CustomerSince])
        .filter(policy::visible_customers(viewer))
        .filter(customer::Column::ArchivedAt.is_null())
        .apply_if(only, |q, id| q.filter(customer::Column::Id.eq(id)))
        .into_tuple()
        .all(db)
        .await?;
    let key_dates: Vec<key_date::Model> = key_date::Entity::find()
        .filter(policy::visible_through(viewer, key_date::Column::CustomerId))
        .filter(key_date::Column::ArchivedAt.is_null())
        .apply_if(only, |q, id| q.filter(key_date::Column::CustomerId.eq(id)))
        .all(db)
        .await?;
    let named: Vec<i64> = key_dates.iter().filter_map(|k| k.contact_id).collect();
    // Current contacts with a birthday, and the contacts key dates name.
    let current = Condition::all()
        .add(contact::Column::ArchivedAt.is_null())
        .add(contact::Column::EndedOn.is_null())
        .add(contact::Column::Birthday.is_not_null());
    let contacts: Vec<contact::Model> = contact::Entity::find()
        .filter(policy::visible_through(viewer, contact::Column::CustomerId))
        .filter(Condition::any().add(current).add(contact::Column::Id.is_in(named)))
        .apply_if(only, |q, id| q.filter(contact::Column::CustomerId.eq(id)))
        .all(db)
        .await?;
    Ok(Sources { customers, key_dates, contacts })
}

async fn collect(
    db: &DatabaseConnection,
    viewer: &Viewer,
    from: NaiveDate,
    days: i64,
    only: Option<i64>,
) -> AppResult<Vec<CareDate>> {
    let until = from + Duration::days(days);
    let mut dates = dates_between(&sources(db, viewer, only).await?, from, until);
    // A birthday on the list would tell the birthday itself.
    if !viewer.may_read(policy::SensitiveField::ContactBirthday) {
        dates.retain(|d| d.kind != CareKind::Birthday);
    }
    dates.sort_by(|a, b| {
        (a.date, &a.customer_name, &a.contact_name, a.customer_id).cmp(&(
            b.date,
            &b.customer_name,
            &b.contact_name,
            b.customer_id,
        ))
    });
    Ok(dates)
}

/// Every anniversary, birthday and key date in `[from, until)`, unsorted.
fn dates_between(sources: &Sources, from: NaiveDate, until: NaiveDate) -> Vec<CareDate> {
    let names: HashMap<i64, &str> = sources.customers.iter().map(|(id, name, _)| (*id, name.as_str())).collect();
    let contact_names: HashMap<i64, &str> = sources.contacts.iter().map(|c| (c.id, c.name.as_str())).collect();
    let mut dates = Vec::new();
    for (id, name, since) in &sources.customers {
        let Some(since) = since else { continue };
        if let Some(date) = next_occurrence(*since, from, until, false) {
            dates.push(CareDate {
                date,
                kind: CareKind::CustomerAnniversary,
                customer_id: *id,
                customer_name: name.clone(),
                contact_id: None,
                contact_name: None,
                since: *since,
                years: date.year() - since.year(),
                key_date: None,
            });
        }
    }
    for c in &sources.contacts {
        // Contacts of archived customers leave with their customer; those who left are not called.
        let (Some(birthday), Some(customer_name)) = (c.birthday, names.get(&c.customer_id)) else { continue };
        if c.archived_at.is_some() || c.ended_on.is_some() {
            continue;
        }
        if let Some(date) = next_occurrence(birthday, from, until, false) {
            dates.push(CareDate {
                date,
                kind: CareKind::Birthday,
                customer_id: c.customer_id,
                customer_name: (*customer_name).to_owned(),
                contact_id: Some(c.id),
                contact_name: Some(c.name.clone()),
                since: birthday,
                years: date.year() - birthday.year(),
                key_date: None,
            });
        }
    }
    for k in &sources.key_dates {
        let Some(customer_name) = names.get(&k.customer_id) else { continue };
        let date = if k.recurring {
            next_occurrence(k.on_date, from, until, true)
        } else {
            Some(k.on_date).filter(|d| (from..until).contains(d))
        };
        if let Some(date) = date {
            dates.push(CareDate {
                date,
                kind: CareKind::KeyDate,
                customer_id: k.customer_id,
                customer_name: (*customer_name).to_owned(),
                contact_id: k.contact_id,
                contact_name: k.contact_id.and_then(|id| contact_names.get(&id).map(|n| (*n).to_owned())),
                since: k.on_date,
                years: date.year() - k.on_date.year(),
                key_date: Some((k.id, k.kind.clone(), k.note.clone())),
            });
        }
    }
    dates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn dates_recur_across_the_year_end_and_on_leap_days() {
        let window = |from: NaiveDate, days: i64| (from, from + Duration::days(days));
        let (from, until) = window(d(2026, 12, 25), 14);
        assert_eq!(next_occurrence(d(1980, 1, 3), from, until, false), Some(d(2027, 1, 3)));
        assert_eq!(next_occurrence(d(1980, 12, 25), from, until, false), Some(d(2026, 12, 25)), "today counts");
        assert_eq!(next_occurrence(d(1980, 1, 8), from, until, false), None, "the 8th is the 15th day");
        // 29 February: on the 28th in 2027, on the 29th in 2028.
        let (from, until) = window(d(2027, 2, 20), 14);
        assert_eq!(next_occurrence(d(1992, 2, 29), from, until, false), Some(d(2027, 2, 28)));
        let (from, until) = window(d(2028, 2, 20), 14);
        assert_eq!(next_occurrence(d(1992, 2, 29), from, until, false), Some(d(2028, 2, 29)));
        // A date recorded in the future, or today, is no anniversary yet.
        let (from, until) = window(d(2026, 3, 1), 30);
        assert_eq!(next_occurrence(d(2026, 3, 10), from, until, false), None);
        // A recurring key date counts on its first day.
        assert_eq!(next_occurrence(d(2026, 3, 10), from, until, true), Some(d(2026, 3, 10)));
    }
}
