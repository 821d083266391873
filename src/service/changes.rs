//! The change feed integrations keep their copies in sync with: every
//! created, updated and archived row of the synced tables, in commit order,
//! deletions included (as tombstones).
//!
//! Each write records its changes with [`record`] inside its own transaction,
//! last thing before the commit: the position it takes from `change_clock`
//! locks the clock until the commit, so positions follow commit order (the
//! migration explains why that matters) and the lock is held for the shortest
//! time. A reader is then never handed a position past a change that is not
//! yet visible to it.
//!
//! Who sees a change:
//! - A customer change records what decided its visibility: the owner and
//!   the owner's team after it, and, when it moved the customer (a
//!   reassignment, or its owner moving to another team), the owner and team
//!   before it. A reader who could see the customer before such a move and
//!   not after reads a tombstone (operation DELETED) at its position,
//!   whatever they see now; one who could see it after reads the recorded
//!   operation, as long as they still see the customer (its row, `node`, is
//!   read as it is now). Later changes to other users' teams do not rewrite
//!   which tombstones a reader gets.
//! - Every other change follows the reader's access as it is now (DESIGN.md
//!   §4), like the rows each change points at (`node`).

use chrono::{DateTime, Utc};
use entity::{change_log, customer, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    sea_query::Expr,
};

use crate::{
    error::{AppError, AppResult},
    policy::Viewer,
    policy::{self, CustomerScope, Resource},
    service::now,
};

crate::names::named! {
    /// The synced tables.
    pub enum ChangeEntity {
        Customer = "CUSTOMER",
        Contact = "CONTACT",
        Communication = "COMMUNICATION",
        Ticket = "TICKET",
        Commitment = "COMMITMENT",
        RevenueEntry = "REVENUE_ENTRY",
        CustomerLink = "CUSTOMER_LINK",
        Task = "TASK",
    }
}

impl ChangeEntity {
    /// What a service account needs to read it.
    pub fn resource(self) -> Resource {
        if self == Self::Ticket { Resource::Tickets } else { Resource::Customers }
    }
}

crate::names::named! {
    /// What happened to the row.
    pub enum Operation {
        Created = "CREATED",
        Updated = "UPDATED",
        Archived = "ARCHIVED",
        /// Gone from the reader's view (a customer reassigned away from them).
        Deleted = "DELETED",
        /// Merged into another row (`merged_into` holds that row's id) and archived.
        Merged = "MERGED",
    }
}

impl Operation {
    /// The row is gone: the change carries a tombstone, not the row.
    pub fn is_tombstone(self) -> bool {
        matches!(self, Self::Archived | Self::Deleted | Self::Merged)
    }
}

/// A change to record.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub entity: ChangeEntity,
    pub id: i64,
    pub operation: Operation,
    /// The customer the row belongs to (a link's `from` end).
    pub customer_id: i64,
    /// A link's `to` end.
    pub other_customer_id: Option<i64>,
    /// A customer's owner before this change reassigned it.
    pub previous_owner_id: Option<i64>,
    /// The previous owner's team before this change, when the change itself
    /// moved the owner to another team; otherwise it is read at the change.
    pub previous_team_id: Option<Option<i64>>,
    /// For a MERGED row: the row (of the same table) it was merged into.
    pub merged_into: Option<i64>,
}

impl Change {
    pub fn new(entity: ChangeEntity, id: i64, operation: Operation, customer_id: i64) -> Self {
        Self {
            entity,
            id,
            operation,
            customer_id,
            other_customer_id: None,
            previous_owner_id: None,
            previous_team_id: None,
            merged_into: None,
        }
    }

    /// A customer whose owner moved from team `from` to another team: it
    /// leaves the old team's view and enters the new one's.
    pub fn owner_moved_team(customer_id: i64, owner_id: i64, from: Option<i64>) -> Self {
        Self {
            previous_owner_id: Some(owner_id),
            previous_team_id: Some(from),
            ..Self::new(ChangeEntity::Customer, customer_id, Operation::Updated, customer_id)
        }
    }

    /// A customer change; `previous_owner` when it moved the customer to another owner.
    pub fn customer(id: i64, operation: Operation, previous_owner: Option<i64>) -> Self {
        Self { previous_owner_id: previous_owner, ..Self::new(ChangeEntity::Customer, id, operation, id) }
    }

    /// A customer link change.
    pub fn link(id: i64, operation: Operation, from: i64, to: i64) -> Self {
        Self { other_customer_id: Some(to), ..Self::new(ChangeEntity::CustomerLink, id, operation, from) }
    }
}

/// Records changes in the write's transaction; call it last, just before the commit.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record(txn: &impl ConnectionTrait, changes: &[Change]) -> AppResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    let last = tick(txn, count).await?;
    insert_at(txn, None, changes, last - count + 1, 1).await
}

/// Takes `count` positions from the clock, holding its row until the
/// transaction ends; returns the last one.
async fn tick(txn: &impl ConnectionTrait, count: i64) -> AppResult<i64> {
    let dialect = crate::db::Dialect::of(txn);
    let tick = Statement::from_sql_and_values(
        dialect.0,
        dialect.numbered("UPDATE change_clock SET position = position + $1 WHERE id = 1 RETURNING position"),
        [count.into()],
    );
    Ok(txn
        .query_one_raw(tick)
        .await?
        .ok_or_else(|| AppError::Internal("the change clock is missing".to_owned()))?
        .try_get("", "position")?)
}

/// Where a long write stages its changes: a temporary table of the
/// connection, shaped like `change_log`, dropped when they are settled.
const STAGED: &str = "staged_change";

/// The columns a change is written with, in `change_log` and [`STAGED`] alike.
const COLUMNS: &str = "position, entity_type, entity_id, operation, customer_id, other_customer_id, \
                       previous_owner_id, owner_id, owner_team_id, previous_team_id, occurred_at, merged_into_id";

/// Writes changes of a long transaction (an import) before it ends without
/// taking positions yet: they go to a staging table of the transaction's own,
/// in order after the `staged` written before them, and into the feed with
/// their real positions by [`settle_staged`] just before the commit. So the
/// clock is held only at the end, as for any write, and other writers do not
/// wait for the whole import. Returns how many are staged now.
pub async fn stage(txn: &impl ConnectionTrait, changes: &[Change], staged: i64) -> AppResult<i64> {
    if changes.is_empty() {
        return Ok(staged);
    }
    open_staging(txn).await?;
    let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    insert_at(txn, Some(STAGED), changes, staged + 1, 1).await?;
    Ok(staged + count)
}

/// Stages the changes a set-based write made (see [`stage`]): `select` gives
/// `entity_id, operation, customer_id` of rows of `entity`, one row per
/// change, and `order` the order they take in the feed. Returns how many are
/// staged now.
pub async fn stage_from(
    txn: &impl ConnectionTrait,
    entity: ChangeEntity,
    select: &str,
    order: &str,
    staged: i64,
) -> AppResult<i64> {
    open_staging(txn).await?;
    let dialect = crate::db::Dialect::of(txn);
    let written = txn
        .execute_raw(Statement::from_sql_and_values(
            dialect.0,
            dialect.numbered(&format!(
                "INSERT INTO {STAGED} ({COLUMNS}) \
                 SELECT $1 + ROW_NUMBER() OVER (ORDER BY {order}), $2, s.entity_id, s.operation, s.customer_id, \
                   NULL, NULL, NULL, NULL, NULL, $3, NULL FROM ({select}) s"
            )),
            [staged.into(), entity.as_str().into(), now().into()],
        ))
        .await?
        .rows_affected();
    if staged == 0 && written == 0 {
        // Nothing staged in this transaction: leave no table on the pooled connection.
        txn.execute_unprepared(&format!("DROP TABLE {STAGED}")).await?;
    }
    Ok(staged + i64::try_from(written).unwrap_or(i64::MAX))
}

async fn open_staging(txn: &impl ConnectionTrait) -> AppResult<()> {
    txn.execute_unprepared(&format!(
        "CREATE TEMPORARY TABLE IF NOT EXISTS {STAGED} AS SELECT * FROM change_log WHERE 1 = 0"
    ))
    .await?;
    Ok(())
}

/// Moves the staged changes into the feed with their positions, in the order they were staged.
pub async fn settle_staged(txn: &impl ConnectionTrait, staged: i64) -> AppResult<()> {
    if staged == 0 {
        return Ok(());
    }
    let last = tick(txn, staged).await?;
    // Staged 1 becomes last - staged + 1, ..., staged becomes last.
    let dialect = crate::db::Dialect::of(txn);
    let shifted = COLUMNS.replacen("position", "$1 + position", 1);
    txn.execute_raw(Statement::from_sql_and_values(
        dialect.0,
        dialect.numbered(&format!("INSERT INTO change_log ({COLUMNS}) SELECT {shifted} FROM {STAGED}")),
        [(last - staged).into()],
    ))
    .await?;
    txn.execute_unprepared(&format!("DROP TABLE {STAGED}")).await?;
    Ok(())
}

/// Inserts changes with positions from `first` on, `step` apart, into the
/// feed or (`into`) a staging table.
async fn insert_at(
    txn: &impl ConnectionTrait,
    into: Option<&str>,
    changes: &[Change],
    first: i64,
    step: i64,
) -> AppResult<()> {
    use sea_orm::QueryTrait;
    let at = now();
    let owners = owners_of(txn, changes).await?;
    let rows: Vec<change_log::ActiveModel> = changes
        .iter()
        .zip((0..).map(|i: i64| first + step * i))
        .map(|(c, position)| {
            let customer = c.entity == ChangeEntity::Customer;
            let (owner, team) = owners.customers.get(&c.customer_id).copied().filter(|_| customer).unzip();
            let previous_team = match (c.previous_team_id, c.previous_owner_id) {
                (Some(explicit), _) => explicit,
                (None, Some(previous)) => owners.teams.get(&previous).copied().flatten(),
                (None, None) => None,
            };
            change_log::ActiveModel {
                position: Set(position),
                entity_type: Set(c.entity.as_str().to_owned()),
                entity_id: Set(c.id),
                operation: Set(c.operation.as_str().to_owned()),
                customer_id: Set(c.customer_id),
                other_customer_id: Set(c.other_customer_id),
                previous_owner_id: Set(c.previous_owner_id),
                owner_id: Set(owner),
                owner_team_id: Set(team.flatten()),
                previous_team_id: Set(previous_team.filter(|_| customer)),
                occurred_at: Set(at),
                merged_into_id: Set(c.merged_into),
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        let mut insert = change_log::Entity::insert_many(chunk.to_vec());
        if let Some(table) = into {
            insert.query().into_table(sea_orm::sea_query::Alias::new(table));
        }
        txn.execute_raw(insert.build(txn.get_database_backend())).await?;
    }
    Ok(())
}

/// Who owned the changed customers, and the teams of their previous owners,
/// as the writing transaction sees them.
struct Owners {
    /// Customer id -> (owner, owner's team).
    customers: std::collections::HashMap<i64, (i64, Option<i64>)>,
    /// Previous owner id -> team.
    teams: std::collections::HashMap<i64, Option<i64>>,
}

async fn owners_of(txn: &impl ConnectionTrait, changes: &[Change]) -> AppResult<Owners> {
    let customer_ids: Vec<i64> =
        changes.iter().filter(|c| c.entity == ChangeEntity::Customer).map(|c| c.customer_id).collect();
    let mut owner_of = std::collections::HashMap::new();
    for chunk in customer_ids.chunks(500) {
        let rows: Vec<(i64, i64)> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::OwnerId)
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        owner_of.extend(rows);
    }
    let people: Vec<i64> = owner_of
        .values()
        .copied()
        .chain(changes.iter().filter_map(|c| c.previous_owner_id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut teams = std::collections::HashMap::new();
    for chunk in people.chunks(500) {
        let rows: Vec<(i64, Option<i64>)> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::TeamId)
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        teams.extend(rows);
    }
    let customers =
        owner_of.into_iter().map(|(id, owner)| (id, (owner, teams.get(&owner).copied().flatten()))).collect();
    Ok(Owners { customers, teams })
}

/// Where a reader stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Copying the rows as they are: the feed's position `at` was taken
    /// before the first row; rows of `entity` after id `after` come next,
    /// then the following tables, then the feed from `at`.
    Snapshot { at: i64, entity: ChangeEntity, after: i64 },
    /// Following the feed after this position.
    Feed(i64),
}

/// A change as a reader sees it.
#[derive(Debug, Clone)]
pub struct SeenChange {
    pub position: Position,
    pub entity: ChangeEntity,
    pub id: i64,
    pub operation: Operation,
    pub occurred_at: DateTime<Utc>,
    /// For a MERGED row: the row it was merged into.
    pub merged_into: Option<i64>,
}

/// One page of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub changes: Vec<SeenChange>,
    /// Where to read on from: the last change's position, or `since` when there was none.
    pub next: Position,
    pub has_more: bool,
}

/// The position of the latest committed change.
async fn current_position(db: &impl ConnectionTrait) -> AppResult<i64> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT position FROM change_clock WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| AppError::Internal("the change clock is missing".to_owned()))?;
    Ok(row.try_get("", "position")?)
}

/// Up to `limit` rows of one table the viewer may see (not archived), after
/// id `after`, by id: (id, last change).
async fn rows_of(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    entity: ChangeEntity,
    after: i64,
    limit: u64,
) -> AppResult<Vec<(i64, DateTime<Utc>)>> {
    use entity::{commitment, communication, contact, customer_link, revenue_entry, task, ticket};
    macro_rules! ids {
        ($e:ident, $query:expr) => {{
            $query
                .select_only()
                .column($e::Column::Id)
                .column($e::Column::UpdatedAt)
                .filter($e::Column::Id.gt(after))
                .order_by_asc($e::Column::Id)
                .limit(limit)
                .into_tuple::<(i64, DateTime<Utc>)>()
                .all(db)
                .await?
        }};
        ($e:ident, $query:expr, archived) => {
            ids!($e, $query.filter($e::Column::ArchivedAt.is_null()))
        };
    }
    Ok(match entity {
        ChangeEntity::Customer => {
            ids!(customer, customer::Entity::find().filter(policy::visible_customers(viewer)), archived)
        }
        ChangeEntity::Contact => ids!(
            contact,
            contact::Entity::find().filter(policy::visible_through(viewer, contact::Column::CustomerId)),
            archived
        ),
        ChangeEntity::Communication => ids!(
            communication,
            communication::Entity::find().filter(policy::visible_through(viewer, communication::Column::CustomerId)),
            archived
        ),
        ChangeEntity::Ticket => ids!(ticket, ticket::Entity::find().filter(policy::visible_tickets(viewer)), archived),
        ChangeEntity::Commitment => ids!(
            commitment,
            commitment::Entity::find().filter(policy::visible_through(viewer, commitment::Column::CustomerId)),
            archived
        ),
        ChangeEntity::RevenueEntry => ids!(
            revenue_entry,
            revenue_entry::Entity::find().filter(policy::visible_through(viewer, revenue_entry::Column::CustomerId))
        ),
        ChangeEntity::CustomerLink => {
            ids!(customer_link, customer_link::Entity::find().filter(policy::visible_links(viewer)))
        }
        ChangeEntity::Task => {
            ids!(task, task::Entity::find().filter(policy::visible_through(viewer, task::Column::CustomerId)))
        }
    })
}

/// A page of the copy a reader starts with: every row of the tables asked
/// for that the viewer may see, not archived, as it is when its page is
/// read, table by table (in [`ChangeEntity::ALL`]'s order) and by id. When
/// the last table is done, the reader follows the feed from `at`.
async fn snapshot(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    (at, mut entity, mut after): (i64, ChangeEntity, i64),
    first: u64,
    entities: &[ChangeEntity],
) -> AppResult<FeedPage> {
    let order: Vec<ChangeEntity> = ChangeEntity::ALL.iter().copied().filter(|e| entities.contains(e)).collect();
    let mut index = order.iter().position(|e| *e == entity).unwrap_or(order.len());
    let mut changes = Vec::new();
    while index < order.len() {
        entity = order[index];
        let wanted = first - changes.len() as u64;
        let rows = rows_of(db, viewer, entity, after, wanted + 1).await?;
        let more_here = rows.len() as u64 > wanted;
        for (id, updated_at) in rows.into_iter().take(usize::try_from(wanted).unwrap_or(usize::MAX)) {
            after = id;
            changes.push(SeenChange {
                position: Position::Snapshot { at, entity, after: id },
                entity,
                id,
                operation: Operation::Created,
                occurred_at: updated_at,
                merged_into: None,
            });
        }
        if more_here || changes.len() as u64 >= first {
            // The page is full: read on in this table, or from the next one.
            let next = if more_here {
                Position::Snapshot { at, entity, after }
            } else {
                match order.get(index + 1) {
                    Some(following) => Position::Snapshot { at, entity: *following, after: 0 },
                    None => Position::Feed(at),
                }
            };
            return Ok(FeedPage { changes, next, has_more: true });
        }
        index += 1;
        after = 0;
    }
    // The copy is complete; what changed since `at` follows.
    Ok(FeedPage { changes, next: Position::Feed(at), has_more: true })
}

/// The entity types a read covers: those asked for (FORBIDDEN when the
/// viewer may not read one), or every one the viewer may read.
pub fn readable(viewer: &Viewer, asked: Option<&[ChangeEntity]>) -> AppResult<Vec<ChangeEntity>> {
    match asked {
        Some(asked) => {
            for entity in asked {
                policy::ensure_can_read(viewer, entity.resource())?;
            }
            Ok(asked.to_vec())
        }
        None => {
            let readable: Vec<ChangeEntity> = ChangeEntity::ALL
                .iter()
                .copied()
                .filter(|e| policy::ensure_can_read(viewer, e.resource()).is_ok())
                .collect();
            if readable.is_empty() {
                policy::ensure_can_read(viewer, Resource::Customers)?;
            }
            Ok(readable)
        }
    }
}

/// The rows of `resource` the viewer sees now, on the change's customer (and a link's other end).
fn visible(viewer: &Viewer, resource: Resource) -> Condition {
    Condition::all().add(policy::visible_through_for(viewer, resource, change_log::Column::CustomerId)).add(
        Condition::any().add(change_log::Column::OtherCustomerId.is_null()).add(policy::visible_through_for(
            viewer,
            resource,
            change_log::Column::OtherCustomerId,
        )),
    )
}

/// Customer changes the viewer could see when they were made and can still
/// see now, and those that took a customer the viewer could see out of their
/// sight (read as tombstones, whatever the viewer sees now).
fn customer_changes(viewer: &Viewer) -> Condition {
    let customers = Condition::all().add(change_log::Column::EntityType.eq(ChangeEntity::Customer.as_str()));
    let now_visible = || policy::visible_through(viewer, change_log::Column::CustomerId);
    let (after, before) = match policy::customer_scope(viewer, Resource::Customers) {
        CustomerScope::All => return customers,
        CustomerScope::Nothing => return Condition::all().add(Expr::cust("1 = 0")),
        CustomerScope::Team(team) => {
            ((change_log::Column::OwnerTeamId, team), (change_log::Column::PreviousTeamId, team))
        }
        CustomerScope::Owner(owner) => {
            ((change_log::Column::OwnerId, owner), (change_log::Column::PreviousOwnerId, owner))
        }
    };
    let seen_after = Condition::all().add(after.0.eq(after.1));
    let not_seen_after = Condition::any().add(after.0.is_null()).add(after.0.ne(after.1));
    customers.add(
        Condition::any()
            .add(seen_after.add(now_visible()))
            .add(Condition::all().add(before.0.eq(before.1)).add(not_seen_after)),
    )
}

/// Whether the viewer could see a customer change's customer right after it
/// (from its record); `false` makes it a tombstone for this viewer.
fn seen_after(scope: CustomerScope, row: &change_log::Model) -> bool {
    match scope {
        CustomerScope::All => true,
        CustomerScope::Team(team) => row.owner_team_id == Some(team),
        CustomerScope::Owner(owner) => row.owner_id == Some(owner),
        CustomerScope::Nothing => false,
    }
}

/// Up to `first` changes of the given entity types after `since`, as the
/// viewer sees them. Without a position, the reader first gets a copy of
/// every row it may see ([`snapshot`]), then the feed from the position
/// taken before that copy began: a row changed while the copy is paged may
/// come twice, none is missed.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn read(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    since: Option<Position>,
    first: u64,
    entities: &[ChangeEntity],
) -> AppResult<FeedPage> {
    let since = match since {
        None => {
            let at = current_position(db).await?;
            let start =
                ChangeEntity::ALL.iter().copied().find(|e| entities.contains(e)).unwrap_or(ChangeEntity::Customer);
            return snapshot(db, viewer, (at, start, 0), first, entities).await;
        }
        Some(Position::Snapshot { at, entity, after }) => {
            return snapshot(db, viewer, (at, entity, after), first, entities).await;
        }
        Some(Position::Feed(since)) => since,
    };
    let mut seen = Condition::any();
    for resource in [Resource::Customers, Resource::Tickets] {
        let types: Vec<&str> = entities
            .iter()
            .filter(|e| e.resource() == resource && **e != ChangeEntity::Customer)
            .map(|e| e.as_str())
            .collect();
        if !types.is_empty() {
            seen = seen
                .add(Condition::all().add(change_log::Column::EntityType.is_in(types)).add(visible(viewer, resource)));
        }
    }
    if entities.contains(&ChangeEntity::Customer) {
        seen = seen.add(customer_changes(viewer));
    }
    let rows = change_log::Entity::find()
        .filter(change_log::Column::Position.gt(since))
        .filter(seen)
        .order_by_asc(change_log::Column::Position)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_more = rows.len() as u64 > first;
    let rows: Vec<change_log::Model> = rows.into_iter().take(usize::try_from(first).unwrap_or(usize::MAX)).collect();
    let scope = policy::customer_scope(viewer, Resource::Customers);
    let next = Position::Feed(rows.last().map_or(since, |r| r.position));
    let changes = rows
        .into_iter()
        .filter_map(|r| {
            let entity = ChangeEntity::parse(&r.entity_type)?;
            let mut operation = Operation::parse(&r.operation).unwrap_or(Operation::Updated);
            if entity == ChangeEntity::Customer && !seen_after(scope, &r) {
                operation = Operation::Deleted;
            }
            let merged_into = if operation == Operation::Merged { r.merged_into_id } else { None };
            Some(SeenChange {
                position: Position::Feed(r.position),
                entity,
                id: r.entity_id,
                operation,
                occurred_at: r.occurred_at,
                merged_into,
            })
        })
        .collect();
    Ok(FeedPage { changes, next, has_more })
}
