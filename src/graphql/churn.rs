//! Churn events in the API.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::churn_event;

use crate::{
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::enums::{ChurnKind, ChurnReason, OrderDirection, to_domain},
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::scalars::Date,
    },
    service::churn::{self as service, ChurnFilter},
};

/// A customer lost or won back.
#[derive(SimpleObject)]
pub struct ChurnEvent {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// The customer.
    pub customer_id: ID,
    /// Lost or won back.
    pub kind: ChurnKind,
    /// When it happened.
    pub occurred_on: Date,
    /// Why the customer left (losses only).
    pub reason: Option<ChurnReason>,
    /// Whether the reason was within our control (losses only).
    pub controllable: Option<bool>,
    /// The competitor who won the customer.
    pub competitor: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Who recorded it.
    pub recorded_by_id: ID,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl From<churn_event::Model> for ChurnEvent {
    fn from(m: churn_event::Model) -> Self {
        Self {
            id: ids::encode("ChurnEvent", m.id),
            customer_id: ids::encode("Customer", m.customer_id),
            kind: m.kind.into(),
            occurred_on: m.occurred_on.into(),
            reason: m.reason.map(Into::into),
            controllable: m.controllable,
            competitor: m.competitor,
            notes: m.notes,
            recorded_by_id: ids::encode("User", m.recorded_by),
            created_at: m.created_at,
        }
    }
}

/// Filters of the churn list.
#[derive(InputObject, Default)]
pub struct ChurnFilterInput {
    /// Of this customer.
    pub customer_id: Option<ID>,
    /// Losses or win-backs.
    pub kind: Option<ChurnKind>,
    /// Any of these reasons.
    pub reasons: Option<Vec<ChurnReason>>,
    /// Only controllable (true) or uncontrollable (false) losses.
    pub controllable: Option<bool>,
    /// On or after.
    pub from: Option<Date>,
    /// On or before.
    pub to: Option<Date>,
}

order_by!(
    /// Sort order of the list.
    ChurnEventOrder, ChurnEventOrderField, churn_event::Column,
    default(OccurredOn, Desc),
    {
        /// By the day it happened.
        OccurredOn => churn_event::Column::OccurredOn;
    }
);

#[derive(Default)]
pub struct ChurnQuery;

#[Object]
impl ChurnQuery {
    /// Churn events of the customers you can see, by date (default newest first).
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn churn_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<ChurnFilterInput>,
        #[graphql(desc = "Sort order (default: newest first).")] order_by: Option<ChurnEventOrder>,
        #[graphql(
            desc = "Sort direction of `occurredOn`; ignored when `orderBy` is given (use `orderBy`).",
            default_with = "OrderDirection::Desc",
            deprecation = "use orderBy"
        )]
        direction: OrderDirection,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<ChurnEvent>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = ChurnFilter {
            customer_id: ids::decode_opt("Customer", "customerId", f.customer_id.as_ref())?,
            kind: f.kind.map(Into::into),
            reasons: to_domain(f.reasons),
            controllable: f.controllable,
            from: f.from.map(Into::into),
            to: f.to.map(Into::into),
        };
        let sort = order_by
            .unwrap_or(ChurnEventOrder { field: ChurnEventOrderField::OccurredOn, direction: Some(direction) })
            .sort(churn_event::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<churn_event::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), &filter), sort, args, |c| c.id, wrap).await?)
    }
}
