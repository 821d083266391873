//! `changes`: the change feed integrations sync from.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};

use crate::{
    error::{AppError, AppResult},
    graphql::support::{context::request, node::Node},
    policy,
    service::{
        changes::{self as service, ChangeEntity as Entity, Position},
        nodes::{self, Kind},
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
    /// Tasks (`Task`).
    Task,
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
    /// The row was merged into another (the tombstone's `mergedInto`) and archived: drop it and everything
    /// under it from your copy; what it held moved to that row and follows as that row's changes, if you can
    /// see it.
    Merged,
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
    /// For MERGED: global ID of the row it was merged into.
    pub merged_into: Option<ID>,
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
    /// The row as it is now; null for a tombstone (ARCHIVED, DELETED, MERGED).
    pub node: Option<Node>,
    /// For ARCHIVED, DELETED and MERGED: what to remove from your copy.
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
/// team or scope set, or other fields hidden by the field policy) is refused,
/// because the copy no longer matches.
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
                    "your access changed since this position was handed out (role, team, scopes or the fields you \
                     may read): drop your copy and read again from no position",
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
        // A row listed twice on the page is loaded once and shown at each listing.
        let wanted: Vec<_> =
            page.changes.iter().filter(|c| !c.operation.is_tombstone()).map(|c| (Kind::from(c.entity), c.id)).collect();
        let rows = nodes::fetch(&rc.services, &viewer, &wanted).await?;
        let changes = page
            .changes
            .into_iter()
            .map(|c| {
                let id = crate::graphql::support::ids::encode(Kind::from(c.entity).name(), c.id);
                let tombstone = c.operation.is_tombstone().then(|| Tombstone {
                    id: id.clone(),
                    entity_type: c.entity.into(),
                    archived_at: c.occurred_at,
                    merged_into: c
                        .merged_into
                        .map(|into| crate::graphql::support::ids::encode(Kind::from(c.entity).name(), into)),
                });
                let node = if c.operation.is_tombstone() {
                    None
                } else {
                    rows.get(&(Kind::from(c.entity), c.id)).cloned().map(Node::from)
                };
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
