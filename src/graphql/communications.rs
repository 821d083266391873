//! Communications in the API.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::{DateTime, Utc};
use entity::communication;

use crate::{
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        contacts::Contact,
        customers::Customer,
        loaders::{listed, load, load_list},
        support::context::request,
        support::enums::{Channel, Direction, OrderDirection, to_domain},
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::patch::patch,
        support::scalars::Date,
        users::User,
    },
    service::communications::{self as service, CommunicationChanges, CommunicationFilter, NewCommunication},
};

listed!(
    /// A touchpoint with a customer.
    Communication,
    communication::Model
);

impl crate::graphql::support::fast::Plain for Communication {
    fn plain(&self, name: &str, _hidden: Option<crate::policy::HiddenFields>) -> Option<async_graphql::Value> {
        use crate::graphql::support::fast::{enumerated, global_id, opt_scalar, scalar, text};
        let m = &self.model;
        Some(match name {
            "id" => global_id("Communication", m.id),
            "channel" => enumerated(Channel::from(m.channel)),
            "direction" => enumerated(Direction::from(m.direction)),
            "occurredAt" => scalar(m.occurred_at),
            "summary" => text(&m.summary),
            "followUpOn" => opt_scalar(m.follow_up_on.map(Date)),
            "createdAt" => scalar(m.created_at),
            "updatedAt" => scalar(m.updated_at),
            "archivedAt" => opt_scalar(m.archived_at),
            _ => return None,
        })
    }
}

/// A touchpoint with a customer: a visit, call, e-mail, meeting or message.
#[Object]
impl Communication {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Communication", self.model.id)
    }
    /// How it happened.
    async fn channel(&self) -> Channel {
        self.model.channel.into()
    }
    /// Who started it.
    async fn direction(&self) -> Direction {
        self.model.direction.into()
    }
    /// When it happened.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.model.occurred_at
    }
    /// What was said or agreed.
    async fn summary(&self) -> &str {
        &self.model.summary
    }
    /// When to follow up.
    async fn follow_up_on(&self) -> Option<Date> {
        self.model.follow_up_on.map(Date)
    }
    /// When the row was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When the row last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
    /// When it was archived.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.model.archived_at
    }
    /// The customer.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<communication::Model>]| rows.iter().map(|c| c.customer_id).collect();
        let loader = rc.loaders.customer_by_id();
        Ok(load(self.siblings.as_deref(), "customer", loader, keys, self.model.customer_id).await?.map(Customer::one))
    }
    /// Our employee who took part.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<communication::Model>]| rows.iter().map(|c| c.user_id).collect();
        let loader = rc.loaders.user_by_id();
        Ok(load(self.siblings.as_deref(), "user", loader, keys, self.model.user_id).await?.map(User::one))
    }
    /// The customer's people who took part.
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Vec<Contact>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<communication::Model>]| rows.iter().map(|c| c.id).collect();
        let loader = rc.loaders.participants_by_communication_id();
        let (rows, shared) = load_list(self.siblings.as_deref(), "contacts", loader, keys, self.model.id).await?;
        Ok(Contact::shared(rows, &shared))
    }
}

/// Filters of the communication list.
#[derive(InputObject, Default)]
pub struct CommunicationFilterInput {
    /// Of this customer.
    pub customer_id: Option<ID>,
    /// With this contact taking part.
    pub contact_id: Option<ID>,
    /// By this employee.
    pub user_id: Option<ID>,
    /// Any of these channels.
    pub channels: Option<Vec<Channel>>,
    /// At or after.
    pub occurred_after: Option<DateTime<Utc>>,
    /// Before.
    pub occurred_before: Option<DateTime<Utc>>,
    /// Include archived ones.
    #[graphql(default)]
    pub include_archived: bool,
}

order_by!(
    /// Sort order of the list.
    CommunicationOrder, CommunicationOrderField, communication::Column,
    default(OccurredAt, Desc),
    {
        /// By when it happened.
        OccurredAt => communication::Column::OccurredAt;
    }
);

#[derive(Default)]
pub struct CommunicationQuery;

#[Object]
impl CommunicationQuery {
    /// Communications with the customers you can see, sorted by `occurredAt` (default newest first).
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn communications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<CommunicationFilterInput>,
        #[graphql(desc = "Sort order (default: newest first).")] order_by: Option<CommunicationOrder>,
        #[graphql(
            desc = "Sort direction of `occurredAt`; ignored when `orderBy` is given (use `orderBy`).",
            default_with = "OrderDirection::Desc",
            deprecation = "use orderBy"
        )]
        direction: OrderDirection,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Communication>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = CommunicationFilter {
            customer_id: ids::decode_opt("Customer", "customerId", f.customer_id.as_ref())?,
            contact_id: ids::decode_opt("Contact", "contactId", f.contact_id.as_ref())?,
            user_id: ids::decode_opt("User", "userId", f.user_id.as_ref())?,
            channels: to_domain(f.channels),
            occurred_after: f.occurred_after,
            occurred_before: f.occurred_before,
            include_archived: f.include_archived,
        };
        let sort = order_by
            .unwrap_or(CommunicationOrder { field: CommunicationOrderField::OccurredAt, direction: Some(direction) })
            .sort(communication::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let select = service::select(&rc.viewer(), &filter);
        Ok(connection(ctx, &rc.db, select, sort, args, |c| c.id, Communication::page).await?)
    }
}

/// A touchpoint to log.
#[derive(InputObject)]
pub struct LogCommunicationInput {
    /// The customer.
    pub customer_id: ID,
    /// How it happened.
    pub channel: Channel,
    /// Who started it (default OUTBOUND).
    pub direction: Option<Direction>,
    /// When (default now; not in the future).
    pub occurred_at: Option<DateTime<Utc>>,
    /// What was said or agreed.
    pub summary: String,
    /// When to follow up.
    pub follow_up_on: Option<Date>,
    /// The customer's people who took part (at most 50, all of this customer).
    #[graphql(default)]
    pub contact_ids: Vec<ID>,
}

/// Corrections to a logged touchpoint; omitted fields stay.
#[derive(InputObject, Default)]
pub struct UpdateCommunicationInput {
    /// How it happened.
    pub channel: Option<Channel>,
    /// When (not in the future).
    pub occurred_at: Option<DateTime<Utc>>,
    /// What was said or agreed.
    pub summary: Option<String>,
    /// When to follow up; `null` clears.
    pub follow_up_on: MaybeUndefined<Date>,
    /// Replaces the participants.
    pub contact_ids: Option<Vec<ID>>,
}

fn contact_ids(ids: &[ID]) -> Result<Vec<i64>, crate::error::AppError> {
    ids.iter().map(|id| ids::decode("Contact", "contactIds", id)).collect()
}

#[derive(Default)]
pub struct CommunicationMutation;

#[Object]
impl CommunicationMutation {
    /// Logs a touchpoint with its participants; you are recorded as our side.
    async fn log_communication(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to record.")] input: LogCommunicationInput,
    ) -> Result<Communication> {
        let rc = request(ctx)?;
        let contact_ids =
            input.contact_ids.iter().map(|id| ids::decode("Contact", "contactIds", id)).collect::<Result<_, _>>()?;
        let new = NewCommunication {
            customer_id: ids::decode("Customer", "customerId", &input.customer_id)?,
            channel: input.channel.into(),
            direction: input.direction.unwrap_or(Direction::Outbound).into(),
            occurred_at: input.occurred_at.unwrap_or_else(crate::service::now),
            summary: input.summary,
            follow_up_on: input.follow_up_on.map(Into::into),
            contact_ids,
        };
        Ok(Communication::one(service::log(&rc.services, &rc.viewer(), new).await?))
    }

    /// Corrects a logged touchpoint.
    async fn update_communication(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The communication.")] id: ID,
        #[graphql(desc = "The changes: omitted fields stay as they are, `null` clears a field.")]
        input: UpdateCommunicationInput,
    ) -> Result<Communication> {
        let rc = request(ctx)?;
        let id = ids::decode("Communication", "id", &id)?;
        let changes = CommunicationChanges {
            channel: input.channel.map(Into::into),
            occurred_at: input.occurred_at,
            summary: input.summary,
            follow_up_on: patch(input.follow_up_on, |v| v.0),
            contact_ids: input.contact_ids.as_deref().map(contact_ids).transpose()?,
        };
        Ok(Communication::one(service::update(&rc.services, &rc.viewer(), id, changes).await?))
    }

    /// Archives a communication.
    async fn archive_communication(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The communication.")] id: ID,
    ) -> Result<Communication> {
        let rc = request(ctx)?;
        let id = ids::decode("Communication", "id", &id)?;
        Ok(Communication::one(service::archive(&rc.services, &rc.viewer(), id).await?))
    }
}
