//! The Relay `Node` interface: any object by its global ID, with the same
//! visibility as everywhere else. As the Relay specification has it, an id
//! that names nothing you can see answers `null`, whether the row does not
//! exist or is outside your view; a service account sees the types its scopes
//! name (tickets need `tickets:read`, everything else `customers:read`).

use async_graphql::{Context, ID, Interface, Object, Result};

use crate::{
    error::{AppError, AppResult},
    graphql::{
        churn::ChurnEvent,
        commitments::Commitment,
        communications::Communication,
        contacts::Contact,
        customers::Customer,
        links::CustomerLink,
        partnerships::{Partnership, PartnershipChange},
        revenue::RevenueEntry,
        supply::SupplyPriority,
        support::context::{RequestContext, request},
        support::ids,
        surveys::SurveyResponse,
        tasks::Task,
        tickets::{Ticket, TicketEvent},
        users::{Team, User},
    },
    service::nodes::{self, Kind, Row},
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
    Task(Task),
}

impl From<Row> for Node {
    fn from(row: Row) -> Self {
        match row {
            Row::Customer(m) => Node::Customer(Customer::one(m)),
            Row::Contact(m) => Node::Contact(Contact::one(m)),
            Row::Communication(m) => Node::Communication(Communication::one(m)),
            Row::Ticket(m) => Node::Ticket(Ticket::one(m)),
            Row::TicketEvent(m) => Node::TicketEvent(m.into()),
            Row::User(m) => Node::User(User::one(m)),
            Row::Team(m) => Node::Team(m.into()),
            Row::Partnership(m) => Node::Partnership(m.into()),
            Row::PartnershipChange(m) => Node::PartnershipChange(m.into()),
            Row::SupplyPriority(m) => Node::SupplyPriority(m.into()),
            Row::Commitment(m) => Node::Commitment(m.into()),
            Row::RevenueEntry(m) => Node::RevenueEntry(m.into()),
            Row::ChurnEvent(m) => Node::ChurnEvent(m.into()),
            Row::CustomerLink(m) => Node::CustomerLink(m.into()),
            Row::SurveyResponse(m) => Node::SurveyResponse(m.into()),
            Row::Task(m) => Node::Task(Task::one(m)),
        }
    }
}

/// The objects behind global IDs, in their order; `None` for an ID that is
/// malformed, names nothing, or names something the viewer may not see.
pub(crate) async fn fetch(rc: &RequestContext, ids: &[ID]) -> AppResult<Vec<Option<Node>>> {
    let keys: Vec<Option<(Kind, i64)>> = ids
        .iter()
        .map(|id| {
            let (name, key) = ids::decode_any("id", id).ok()?;
            Some((Kind::parse(&name)?, key))
        })
        .collect();
    let wanted: Vec<(Kind, i64)> = keys.iter().flatten().copied().collect();
    let rows = nodes::fetch(&rc.services, &rc.viewer(), &wanted).await?;
    // The same ID twice gives the same object twice.
    Ok(keys.iter().map(|key| key.and_then(|k| rows.get(&k).cloned()).map(Node::from)).collect())
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global ID; null when it does not exist or you cannot see it.
    async fn node(&self, ctx: &Context<'_>, #[graphql(desc = "A global ID.")] id: ID) -> Result<Option<Node>> {
        let rc = request(ctx)?;
        Ok(fetch(rc, std::slice::from_ref(&id)).await?.pop().flatten())
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
        Ok(fetch(rc, &ids).await?)
    }
}
