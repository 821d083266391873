//! Churn events: the record of customers lost and won back.

use chrono::NaiveDate;
use entity::{
    churn_event,
    enums::{ChurnKind, ChurnReason},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

use crate::{auth::Viewer, policy};

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
