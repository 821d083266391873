//! Churn events: the record of customers lost and won back, and the rule
//! that keeps a customer's status and its events in agreement. A customer
//! becomes LOST or WON_BACK only with a dated event (a loss with its reason),
//! through `markCustomerLost`, `markCustomerWonBack` or `upsertChurnEvents`;
//! no other write sets or leaves LOST. The retention report counts the
//! events, so a status without its event would be counted the other way.

use chrono::NaiveDate;
use entity::{
    churn_event,
    enums::{ChurnKind, ChurnReason, CustomerStatus},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select};

use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
};

/// What a write other than a churn event may do to a customer's status
/// (`current` is `None` for a new customer): it may not make one LOST or
/// WON_BACK, nor take one out of LOST. The error names the field and says
/// which mutation records the event.
pub fn check_status_write(field: &str, current: Option<CustomerStatus>, new: CustomerStatus) -> AppResult<()> {
    if current == Some(new) {
        return Ok(());
    }
    match (current, new) {
        (_, CustomerStatus::Lost) => Err(AppError::bad_input(
            field,
            "a customer is lost with markCustomerLost (or upsertChurnEvents), which records the dated loss and its reason",
        )),
        (_, CustomerStatus::WonBack) | (Some(CustomerStatus::Lost), _) => Err(AppError::bad_input(
            field,
            "a lost customer comes back with markCustomerWonBack (or upsertChurnEvents), which records the dated win-back",
        )),
        _ => Ok(()),
    }
}

/// A customer's latest churn event, if any.
pub async fn latest_event(db: &impl ConnectionTrait, customer_id: i64) -> AppResult<Option<churn_event::Model>> {
    Ok(churn_event::Entity::find()
        .filter(churn_event::Column::CustomerId.eq(customer_id))
        .order_by_desc(churn_event::Column::OccurredOn)
        .order_by_desc(churn_event::Column::Id)
        .one(db)
        .await?)
}

/// A customer's latest churn event, if any: its kind and date.
pub async fn latest(db: &impl ConnectionTrait, customer_id: i64) -> AppResult<Option<(ChurnKind, NaiveDate)>> {
    Ok(latest_event(db, customer_id).await?.map(|e| (e.kind, e.occurred_on)))
}

/// Whether an event of `kind` on `on` may follow a customer's `last` event:
/// not in the future, losses and win-backs alternating (a loss first), each
/// on or after the one before (a win-back after the loss it reverses), and a
/// loss not before the customer became one. The message says what is wrong.
pub fn check_next(
    last: Option<(ChurnKind, NaiveDate)>,
    customer_since: Option<NaiveDate>,
    kind: ChurnKind,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<(), String> {
    if on > today {
        return Err(format!("occurredOn {on} is in the future"));
    }
    match (kind, last) {
        (ChurnKind::Lost, Some((ChurnKind::Lost, _))) => {
            return Err("the customer is already lost; a win-back must come first".to_owned());
        }
        (ChurnKind::WonBack, None | Some((ChurnKind::WonBack, _))) => {
            return Err("only a lost customer can be won back".to_owned());
        }
        _ => {}
    }
    if let Some((previous, previous_on)) = last
        && on < previous_on
    {
        let previous = if previous == ChurnKind::Lost { "loss" } else { "win-back" };
        return Err(format!("occurredOn {on} is before the {previous} it follows ({previous_on})"));
    }
    if kind == ChurnKind::Lost
        && let Some(since) = customer_since
        && on < since
    {
        return Err(format!("occurredOn {on} is before the customer became one ({since})"));
    }
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct ChurnFilter {
    pub customer_id: Option<i64>,
    pub kind: Option<ChurnKind>,
    pub reasons: Vec<ChurnReason>,
    pub controllable: Option<bool>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

pub fn select(viewer: &Viewer, filter: &ChurnFilter) -> Select<churn_event::Entity> {
    let mut query =
        churn_event::Entity::find().filter(policy::visible_through(viewer, churn_event::Column::CustomerId));
    if let Some(customer) = filter.customer_id {
        query = query.filter(churn_event::Column::CustomerId.eq(customer));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(churn_event::Column::Kind.eq(kind));
    }
    if !filter.reasons.is_empty() {
        query = query.filter(churn_event::Column::Reason.is_in(filter.reasons.iter().copied()));
    }
    if let Some(controllable) = filter.controllable {
        query = query.filter(churn_event::Column::Controllable.eq(controllable));
    }
    if let Some(from) = filter.from {
        query = query.filter(churn_event::Column::OccurredOn.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(churn_event::Column::OccurredOn.lte(to));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn losses_and_win_backs_alternate_in_time_and_never_in_the_future() {
        let today = d(2026, 12, 4);
        let since = Some(d(2020, 1, 1));
        assert!(check_next(None, since, ChurnKind::Lost, d(2024, 3, 1), today).is_ok());
        assert!(check_next(None, since, ChurnKind::Lost, d(2027, 1, 1), today).is_err());
        assert!(check_next(None, since, ChurnKind::Lost, d(2019, 1, 1), today).is_err());
        assert!(check_next(None, since, ChurnKind::WonBack, d(2024, 3, 1), today).is_err());
        let lost = Some((ChurnKind::Lost, d(2024, 3, 1)));
        assert!(check_next(lost, since, ChurnKind::Lost, d(2024, 5, 1), today).is_err());
        assert!(check_next(lost, since, ChurnKind::WonBack, d(2024, 2, 1), today).is_err());
        assert!(check_next(lost, since, ChurnKind::WonBack, d(2024, 3, 1), today).is_ok());
        let back = Some((ChurnKind::WonBack, d(2025, 1, 1)));
        assert!(check_next(back, since, ChurnKind::Lost, d(2024, 12, 1), today).is_err());
        assert!(check_next(back, since, ChurnKind::Lost, d(2025, 6, 1), today).is_ok());
    }

    #[test]
    fn no_write_but_a_churn_event_makes_or_unmakes_a_loss() {
        use CustomerStatus::*;
        assert!(check_status_write("status", None, Active).is_ok());
        assert!(check_status_write("status", None, Prospect).is_ok());
        assert!(check_status_write("status", None, Lost).is_err());
        assert!(check_status_write("status", None, WonBack).is_err());
        assert!(check_status_write("status", Some(Lost), Active).is_err());
        assert!(check_status_write("status", Some(Lost), Lost).is_ok());
        assert!(check_status_write("status", Some(WonBack), Active).is_ok());
        assert!(check_status_write("status", Some(Active), Lost).is_err());
    }
}
