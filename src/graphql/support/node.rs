//! The Relay `Node` interface: any object by its global ID, with the same
//! visibility as everywhere else. As the Relay specification has it, an id
//! that names nothing you can see answers `null`, whether the row does not
//! exist or is outside your view; a service account sees the types its scopes
//! name (tickets need `tickets:read`, everything else `customers:read`).

use async_graphql::{Context, ID, Interface, Object, Result};
use entity::{
    churn_event, commitment, communication, customer_link, partnership_change, revenue_entry, supply_priority,
    survey_response, team, ticket, ticket_event, user,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    error::{AppError, AppResult},
    graphql::{
        churn::ChurnEvent,
        commitments::Commitment,
        communications::Communication,
        contacts::Contact,
        customers::Customer,
        links::CustomerLink,
        loaders::load_error,
        partnerships::{self, Partnership, PartnershipChange},
        revenue::RevenueEntry,
        supply::SupplyPriority,
        support::context::{RequestContext, request},
        support::ids,
        surveys::SurveyResponse,
        tickets::{Ticket, TicketEvent},
        users::{Team, User},
    },
    policy,
    policy::Resource,
    service::{self, links},
};

/// Most IDs `nodes` accepts at once.
pub const MAX_NODES: usize = 100;

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global ID."))]
pub enum Node {
    Customer(Customer),
    Contact(Contact),
    Communication(Communication),
    Ticket(Ticket),
    TicketEvent(TicketEvent),
    User(User),
    Team(Team),
    Partnership(Partnership),
    PartnershipChange(PartnershipChange),
    SupplyPriority(SupplyPriority),
    Commitment(Commitment),
    RevenueEntry(RevenueEntry),
    ChurnEvent(ChurnEvent),
    CustomerLink(CustomerLink),
    SurveyResponse(SurveyResponse),
}

/// Loads a row scoped to the viewer through its customer.
macro_rules! through_customer {
    ($rc:expr, $entity:ident, $id:expr) => {
        $entity::Entity::find_by_id($id)
            .filter(policy::visible_through(&$rc.viewer(), $entity::Column::CustomerId))
            .one(&$rc.db)
            .await?
    };
}

/// The resource a node type belongs to, for service accounts' scopes.
fn resource(kind: &str) -> Resource {
    match kind {
        "Ticket" | "TicketEvent" => Resource::Tickets,
        _ => Resource::Customers,
    }
}

async fn fetch(rc: &RequestContext, id: &ID) -> AppResult<Option<Node>> {
    let Ok((kind, key)) = ids::decode_any("id", id) else { return Ok(None) };
    if policy::ensure_can_read(&rc.viewer(), resource(&kind)).is_err() {
        return Ok(None);
    }
    let loaders = &rc.loaders;
    Ok(match kind.as_str() {
        "Customer" => {
            loaders.customer_by_id.load_one(key).await.map_err(load_error)?.map(|m| Node::Customer(Customer::one(m)))
        }
        "Contact" => {
            loaders.contact_by_id.load_one(key).await.map_err(load_error)?.map(|m| Node::Contact(Contact::one(m)))
        }
        "Communication" => {
            through_customer!(rc, communication, key).map(|m| Node::Communication(Communication::one(m)))
        }
        "Ticket" => ticket::Entity::find_by_id(key)
            .filter(policy::visible_tickets(&rc.viewer()))
            .one(&rc.db)
            .await?
            .map(|m| Node::Ticket(Ticket::one(m))),
        "TicketEvent" => {
            let Some(event) = ticket_event::Entity::find_by_id(key).one(&rc.db).await? else {
                return Ok(None);
            };
            let filter = service::tickets::TicketFilter { include_archived: true, ..Default::default() };
            let ticket_visible = service::tickets::select(&rc.viewer(), &filter)
                .filter(ticket::Column::Id.eq(event.ticket_id))
                .one(&rc.db)
                .await?
                .is_some();
            ticket_visible.then(|| Node::TicketEvent(event.into()))
        }
        "User" => user::Entity::find_by_id(key)
            .filter(policy::visible_users(&rc.viewer()))
            .one(&rc.db)
            .await?
            .map(|m| Node::User(User::one(m))),
        "Team" => service::users::select_teams(&rc.viewer())
            .filter(team::Column::Id.eq(key))
            .one(&rc.db)
            .await?
            .map(|m| Node::Team(m.into())),
        "Partnership" => partnerships::find(rc, key).await?.map(Node::Partnership),
        "PartnershipChange" => {
            through_customer!(rc, partnership_change, key).map(|m| Node::PartnershipChange(m.into()))
        }
        "SupplyPriority" => through_customer!(rc, supply_priority, key).map(|m| Node::SupplyPriority(m.into())),
        "Commitment" => through_customer!(rc, commitment, key).map(|m| Node::Commitment(m.into())),
        "RevenueEntry" => through_customer!(rc, revenue_entry, key).map(|m| Node::RevenueEntry(m.into())),
        "ChurnEvent" => through_customer!(rc, churn_event, key).map(|m| Node::ChurnEvent(m.into())),
        "CustomerLink" => links::select(&rc.viewer(), None, &[])
            .filter(customer_link::Column::Id.eq(key))
            .one(&rc.db)
            .await?
            .map(|m| Node::CustomerLink(m.into())),
        "SurveyResponse" => through_customer!(rc, survey_response, key).map(|m| Node::SurveyResponse(m.into())),
        _ => None,
    })
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global ID; null when it does not exist or you cannot see it.
    async fn node(&self, ctx: &Context<'_>, #[graphql(desc = "A global ID.")] id: ID) -> Result<Option<Node>> {
        let rc = request(ctx)?;
        Ok(fetch(rc, &id).await?)
    }

    /// Several objects by global ID (at most 100), in the same order; null where
    /// one does not exist or you cannot see it.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global IDs, at most 100.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input("ids", format!("at most {MAX_NODES} ids")).into());
        }
        let rc = request(ctx)?;
        let fetched = futures_util::future::try_join_all(ids.iter().map(|id| fetch(rc, id))).await?;
        Ok(fetched)
    }
}
