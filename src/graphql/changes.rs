//! `changes`: the change feed integrations sync from.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::{commitment, communication, contact, customer, customer_link, revenue_entry, ticket};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    error::{AppError, AppResult},
    graphql::{
        communications::Communication,
        contacts::Contact,
        customers::Customer,
        support::{context::request, node::Node},
        tickets::Ticket,
    },
    policy,
    service::{
        changes::{self as service, ChangeEntity as Entity, Position},
        links,
    },
};

/// Most changes one page holds.
const MAX_CHANGES: i32 = 1000;

/// A table the change feed covers.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::service::changes::ChangeEntity")]
pub enum ChangeEntity {
    /// Customers (`Customer`).
    Customer,
    /// Contacts (`Contact`).
    Contact,
    /// Communications (`Communication`).
    Communication,
    /// Service tickets (`Ticket`; service accounts need `tickets:read`).
    Ticket,
    /// Commitments (`Commitment`).
    Commitment,
    /// Monthly revenue entries (`RevenueEntry`).
    RevenueEntry,
    /// Links between customers (`CustomerLink`).
    CustomerLink,
}

/// What happened to a row.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::service::changes::Operation")]
pub enum ChangeOperation {
    /// The row was created.
    Created,
    /// The row changed.
    Updated,
    /// The row was archived (or a link removed): drop it from your copy.
    Archived,
    /// The row left your view (a customer reassigned away from you): drop it
    /// and everything under it from your copy.
    Deleted,
}

/// What is left of a row that was archived or left your view.
#[derive(SimpleObject)]
pub struct Tombstone {
    /// Global ID of the row.
    pub id: ID,
    /// Its table.
    #[graphql(name = "type")]
    pub entity_type: ChangeEntity,
    /// When it was archived or left your view.
    pub archived_at: DateTime<Utc>,
}

/// One change of one row.
#[derive(SimpleObject)]
pub struct Change {
    /// Position of this change in the feed; `changes(since:)` resumes after it.
    pub position: String,
    /// The row's table.
    pub entity_type: ChangeEntity,
    /// Global ID of the row.
    pub id: ID,
    /// What happened.
    pub operation: ChangeOperation,
    /// When it happened (commit order is `position`'s, not this time's).
    pub occurred_at: DateTime<Utc>,
    /// The row as it is now; null for a tombstone (ARCHIVED, DELETED).
    pub node: Option<Node>,
    /// For ARCHIVED and DELETED: what to remove from your copy.
    pub tombstone: Option<Tombstone>,
}

/// A page of the change feed.
#[derive(SimpleObject)]
pub struct ChangeFeed {
    /// The changes, in commit order.
    pub changes: Vec<Change>,
    /// Where to resume: pass it as `since` next time (it does not move when
    /// nothing changed).
    pub next_position: String,
    /// More changes are waiting: ask again at once with `since: nextPosition`.
    pub has_more: bool,
}

/// What the viewer may see, in a few characters: a position carries the one
/// its copy was made under, and a position read under another (a new role,
/// team or scope set) is refused, because the copy no longer matches.
fn access_tag(viewer: &crate::policy::Viewer) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(policy::visibility_class(viewer).as_bytes())[..4])
}

fn encode(position: Position, tag: &str) -> String {
    match position {
        Position::Feed(at) => URL_SAFE_NO_PAD.encode(format!("changes:{at}~{tag}")),
        Position::Snapshot { at, entity, after } => {
            URL_SAFE_NO_PAD.encode(format!("changes:{at}:{}:{after}~{tag}", entity.as_str()))
        }
    }
}

/// A position, and the access tag it was handed out under (positions made
/// by hand, such as the feed's beginning `changes:0`, carry none).
fn decode(since: &str) -> AppResult<(Position, Option<String>)> {
    let invalid = || AppError::bad_input("since", "since is not a position of this feed");
    let raw = URL_SAFE_NO_PAD.decode(since).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let text = text.strip_prefix("changes:").ok_or_else(invalid)?;
    let (text, tag) = match text.split_once('~') {
        Some((text, tag)) => (text, Some(tag.to_owned())),
        None => (text, None),
    };
    let position = decode_position(text).ok_or_else(invalid)?;
    Ok((position, tag))
}

fn decode_position(text: &str) -> Option<Position> {
    let parts: Vec<&str> = text.split(':').collect();
    let number = |n: &str| n.parse::<i64>().ok().filter(|n| *n >= 0);
    match parts.as_slice() {
        [at] => Some(Position::Feed(number(at)?)),
        [at, entity, after] => {
            Some(Position::Snapshot { at: number(at)?, entity: Entity::parse(entity)?, after: number(after)? })
        }
        _ => None,
    }
}

fn kind(entity: Entity) -> &'static str {
    match entity {
        Entity::Customer => "Customer",
        Entity::Contact => "Contact",
        Entity::Communication => "Communication",
        Entity::Ticket => "Ticket",
        Entity::Commitment => "Commitment",
        Entity::RevenueEntry => "RevenueEntry",
        Entity::CustomerLink => "CustomerLink",
    }
}

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// Every created, updated and archived row of customers, contacts,
    /// communications, tickets, commitments, revenue entries and customer
    /// links since `since`, in commit order, then pass `nextPosition` back.
    /// Start with no position: you first get every row you may see as it is
    /// (operation CREATED, table by table, by id, whatever wrote the row),
    /// then every change after the moment that copy began; a row changed
    /// while you page may come twice, none is missed. A customer that leaves
    /// your view appears once as a DELETED tombstone. Each change carries
    /// the row as it is now, so a row changed twice shows its latest state twice.
    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "`nextPosition` of the previous page; null starts from the beginning.")] since: Option<String>,
        #[graphql(desc = "How many changes at most (1 to 1000; null means 100).", default = 100)] first: Option<i32>,
        #[graphql(desc = "Only changes of these tables (default: every table you may read).")] entity_types: Option<
            Vec<ChangeEntity>,
        >,
    ) -> Result<ChangeFeed> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        let tag = access_tag(&viewer);
        let since = match since.as_deref().map(decode).transpose()? {
            Some((_, Some(handed_out))) if handed_out != tag => {
                return Err(AppError::conflict(
                    "your access changed since this position was handed out (role, team or scopes): drop your copy \
                     and read again from no position",
                )
                .into());
            }
            since => since.map(|(position, _)| position),
        };
        let first = first.unwrap_or(100);
        if !(1..=MAX_CHANGES).contains(&first) {
            return Err(AppError::bad_input("first", format!("first must be between 1 and {MAX_CHANGES}")).into());
        }
        let asked: Option<Vec<Entity>> = entity_types.map(|t| t.into_iter().map(Into::into).collect());
        let entities = service::readable(&viewer, asked.as_deref())?;
        let page = service::read(&rc.db, &viewer, since, u64::try_from(first).unwrap_or(100), &entities).await?;
        let nodes = load_nodes(&rc.db, &viewer, &page.changes).await?;
        // Paging the feed over a whole book is a bulk read like any list.
        rc.services.exports.record(&rc.db, &viewer, page.changes.len()).await?;
        let changes = page
            .changes
            .into_iter()
            .map(|c| {
                let id = crate::graphql::support::ids::encode(kind(c.entity), c.id);
                let tombstone = c.operation.is_tombstone().then(|| Tombstone {
                    id: id.clone(),
                    entity_type: c.entity.into(),
                    archived_at: c.occurred_at,
                });
                let node = if c.operation.is_tombstone() { None } else { nodes.node(&(c.entity, c.id)) };
                Change {
                    position: encode(c.position, &tag),
                    entity_type: c.entity.into(),
                    id,
                    operation: c.operation.into(),
                    occurred_at: c.occurred_at,
                    node,
                    tombstone,
                }
            })
            .collect();
        Ok(ChangeFeed { changes, next_position: encode(page.next, &tag), has_more: page.has_more })
    }
}

/// The rows behind a page's changes, one statement per table, each scoped to the viewer.
/// A row listed twice on the page is loaded once and its node built for each listing.
async fn load_nodes(
    db: &DatabaseConnection,
    viewer: &crate::policy::Viewer,
    changes: &[service::SeenChange],
) -> AppResult<NodeSet> {
    let mut wanted: HashMap<Entity, Vec<i64>> = HashMap::new();
    for c in changes.iter().filter(|c| !c.operation.is_tombstone()) {
        wanted.entry(c.entity).or_default().push(c.id);
    }
    let mut set = NodeSet::default();
    for (entity, ids) in wanted {
        match entity {
            Entity::Customer => {
                let rows = customer::Entity::find()
                    .filter(customer::Column::Id.is_in(ids))
                    .filter(policy::visible_customers(viewer))
                    .all(db)
                    .await?;
                set.customers.extend(rows.into_iter().map(|m| (m.id, m)));
            }
            Entity::Contact => {
                let rows = contact::Entity::find()
                    .filter(contact::Column::Id.is_in(ids))
                    .filter(policy::visible_through(viewer, contact::Column::CustomerId))
                    .all(db)
                    .await?;
                set.contacts.extend(rows.into_iter().map(|m| (m.id, m)));
            }
            Entity::Communication => {
                let rows = communication::Entity::find()
                    .filter(communication::Column::Id.is_in(ids))
                    .filter(policy::visible_through(viewer, communication::Column::CustomerId))
                    .all(db)
                    .await?;
                set.communications.extend(rows.into_iter().map(|m| (m.id, m)));
            }
            Entity::Ticket => {
                let rows = ticket::Entity::find()
                    .filter(ticket::Column::Id.is_in(ids))
                    .filter(policy::visible_tickets(viewer))
                    .all(db)
                    .await?;
                set.tickets.extend(rows.into_iter().map(|m| (m.id, m)));
            }
            Entity::Commitment => {
                let rows = commitment::Entity::find()
                    .filter(commitment::Column::Id.is_in(ids))
                    .filter(policy::visible_through(viewer, commitment::Column::CustomerId))
                    .all(db)
                    .await?;
                set.commitments.extend(rows.into_iter().map(|m| (m.id, m)));
            }
            Entity::RevenueEntry => {
                let rows = revenue_entry::Entity::find()
                    .filter(revenue_entry::Column::Id.is_in(ids))
                    .filter(policy::visible_through(viewer, revenue_entry::Column::CustomerId))
                    .all(db)
                    .await?;
                set.revenue.extend(rows.into_iter().map(|m| (m.id, m)));
            }
            Entity::CustomerLink => {
                let rows =
                    links::select(viewer, None, &[]).filter(customer_link::Column::Id.is_in(ids)).all(db).await?;
                set.links.extend(rows.into_iter().map(|m| (m.id, m)));
            }
        }
    }
    Ok(set)
}

/// The loaded rows by table and id.
#[derive(Default)]
struct NodeSet {
    customers: HashMap<i64, customer::Model>,
    contacts: HashMap<i64, contact::Model>,
    communications: HashMap<i64, communication::Model>,
    tickets: HashMap<i64, ticket::Model>,
    commitments: HashMap<i64, commitment::Model>,
    revenue: HashMap<i64, revenue_entry::Model>,
    links: HashMap<i64, customer_link::Model>,
}

impl NodeSet {
    fn node(&self, key: &(Entity, i64)) -> Option<Node> {
        let (entity, id) = *key;
        Some(match entity {
            Entity::Customer => Node::Customer(Customer::one(self.customers.get(&id)?.clone())),
            Entity::Contact => Node::Contact(Contact::one(self.contacts.get(&id)?.clone())),
            Entity::Communication => Node::Communication(Communication::one(self.communications.get(&id)?.clone())),
            Entity::Ticket => Node::Ticket(Ticket::one(self.tickets.get(&id)?.clone())),
            Entity::Commitment => Node::Commitment(self.commitments.get(&id)?.clone().into()),
            Entity::RevenueEntry => Node::RevenueEntry(self.revenue.get(&id)?.clone().into()),
            Entity::CustomerLink => Node::CustomerLink(self.links.get(&id)?.clone().into()),
        })
    }
}
