//! Customers: the accounts we sell to, and their life cycle (lost, won back).

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    churn_event, customer,
    enums::{
        ChurnKind, ChurnReason, CustomFieldEntity, CustomerStatus, PartnershipTier, PurchasingFit, Segment,
        StrategicImportance,
    },
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select, Set,
};
use serde_json::json;

use crate::service::custom_fields::{self, Given};
use crate::service::write::{Effect, Write};
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        audit,
        changes::{Change, Operation},
        now,
        outbox::{Event, EventType},
        pages, update_versioned, validate,
    },
};

/// Filters of the customer list; empty vectors mean "any".
#[derive(Debug, Default, Clone)]
pub struct CustomerFilter {
    pub statuses: Vec<CustomerStatus>,
    pub tiers: Vec<PartnershipTier>,
    pub segments: Vec<Segment>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub region: Option<String>,
    pub industry: Option<String>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub include_archived: bool,
    /// Conditions on custom fields (`crate::service::custom_fields::conditions`).
    pub custom: Vec<custom_fields::Condition>,
}

/// The visible customers matching `filter`, unordered.
pub fn select(viewer: &Viewer, filter: &CustomerFilter) -> Select<customer::Entity> {
    let mut query = customer::Entity::find().filter(policy::visible_customers(viewer));
    if !filter.include_archived {
        query = query.filter(customer::Column::ArchivedAt.is_null());
    }
    if !filter.statuses.is_empty() {
        query = query.filter(customer::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if !filter.tiers.is_empty() {
        query = query.filter(customer::Column::Tier.is_in(filter.tiers.iter().copied()));
    }
    if !filter.segments.is_empty() {
        query = query.filter(customer::Column::Segment.is_in(filter.segments.iter().copied()));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(customer::Column::OwnerId.eq(owner));
    }
    if let Some(team) = filter.team_id {
        let members = user::Entity::find().select_only().column(user::Column::Id).filter(user::Column::TeamId.eq(team));
        query = query.filter(customer::Column::OwnerId.in_subquery(members.into_query()));
    }
    if let Some(parent) = filter.parent_id {
        // A hidden parent answers like a missing one: no subsidiaries.
        query = query
            .filter(customer::Column::ParentId.eq(parent))
            .filter(customer::Column::ParentId.in_subquery(policy::visible_customer_ids(viewer)));
    }
    if let Some(region) = &filter.region {
        query = query.filter(customer::Column::Region.eq(region.as_str()));
    }
    if let Some(industry) = &filter.industry {
        query = query.filter(customer::Column::Industry.eq(industry.as_str()));
    }
    if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
        query = query.filter(crate::db::name_contains(customer::Column::Name, term));
    }
    if let Some(after) = filter.created_after {
        query = query.filter(customer::Column::CreatedAt.gte(after));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(customer::Column::CreatedAt.lt(before));
    }
    for condition in &filter.custom {
        query = query.filter(sea_orm::sea_query::Expr::cust(condition.sql("customer.id")));
    }
    query
}

/// One page of the customers the viewer sees in `filter`, counted toward the
/// export audit, with its `total` from [`count`] when the window asks.
pub async fn page(
    svc: &crate::service::Services,
    viewer: &Viewer,
    filter: &CustomerFilter,
    sort: &pages::Sort<customer::Column>,
    window: pages::Window,
) -> AppResult<pages::Page<customer::Model>> {
    let rows = pages::Window { count: false, ..window };
    let mut page = pages::fetch_counted(svc, viewer, select(viewer, filter), sort, rows).await?;
    if window.count {
        page.total = count(&svc.db, viewer, filter).await?;
    }
    Ok(page)
}

/// How many customers the viewer sees in the list `filter` selects: from the
/// kept counts when the filter is only statuses, owner and team over live
/// customers, counted over the rows otherwise. Exact either way.
pub async fn count(db: &impl ConnectionTrait, viewer: &Viewer, filter: &CustomerFilter) -> AppResult<u64> {
    let CustomerFilter {
        statuses,
        owner_id,
        team_id,
        tiers,
        segments,
        parent_id,
        region,
        industry,
        search,
        created_after,
        created_before,
        include_archived,
        custom,
    } = filter;
    let kept_counts_serve = tiers.is_empty()
        && segments.is_empty()
        && parent_id.is_none()
        && region.is_none()
        && industry.is_none()
        && search.as_deref().is_none_or(|term| term.trim().is_empty())
        && created_after.is_none()
        && created_before.is_none()
        && custom.is_empty()
        && !include_archived;
    if kept_counts_serve {
        crate::service::customer_counts::kept(db, viewer, statuses, *owner_id, *team_id).await
    } else {
        Ok(sea_orm::PaginatorTrait::count(select(viewer, filter), db).await?)
    }
}

/// A new customer, before validation.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub name: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub status: Option<CustomerStatus>,
    /// Defaults to the viewer.
    pub owner_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub purchasing_fit: Option<PurchasingFit>,
    pub strategic_importance: Option<StrategicImportance>,
    pub customer_since: Option<NaiveDate>,
    pub next_review_on: Option<NaiveDate>,
    /// Custom field values (`crate::service::custom_fields`).
    pub custom_fields: Vec<Given>,
}

/// Changes to a customer; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    pub name: Option<String>,
    pub industry: Option<Option<String>>,
    pub region: Option<Option<String>>,
    pub status: Option<CustomerStatus>,
    pub owner_id: Option<i64>,
    pub parent_id: Option<Option<i64>>,
    pub purchasing_fit: Option<Option<PurchasingFit>>,
    pub strategic_importance: Option<StrategicImportance>,
    pub customer_since: Option<Option<NaiveDate>>,
    pub next_review_on: Option<Option<NaiveDate>>,
    /// Custom field values to set (null clears one); the others stay as they are.
    pub custom_fields: Vec<Given>,
}

async fn valid_parent(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    parent_id: i64,
    own_id: Option<i64>,
) -> AppResult<()> {
    policy::visible_customer(db, viewer, parent_id)
        .await
        .map_err(|_| AppError::bad_input("parentId", "no such customer"))?;
    if let Some(own_id) = own_id
        && (parent_id == own_id || ancestor_ids(db, parent_id).await?.contains(&own_id))
    {
        return Err(AppError::conflict("a customer cannot be its own ancestor: this parent belongs to its group"));
    }
    Ok(())
}

/// A customer's `customerSince`: not in the future, and not after its first
/// loss (a customer cannot become one after it was lost).
async fn valid_since(db: &impl ConnectionTrait, id: Option<i64>, since: NaiveDate) -> AppResult<()> {
    if since > now().date_naive() {
        return Err(AppError::bad_input("customerSince", format!("customerSince {since} is in the future")));
    }
    let Some(id) = id else { return Ok(()) };
    let first_loss = churn_event::Entity::find()
        .filter(churn_event::Column::CustomerId.eq(id))
        .filter(churn_event::Column::Kind.eq(ChurnKind::Lost))
        .order_by_asc(churn_event::Column::OccurredOn)
        .one(db)
        .await?;
    if let Some(loss) = first_loss.filter(|loss| loss.occurred_on < since) {
        return Err(AppError::bad_input(
            "customerSince",
            format!("customerSince {since} is after the customer was lost ({})", loss.occurred_on),
        ));
    }
    Ok(())
}

/// Deepest group hierarchy followed; deeper chains are cut (they cannot be
/// built through the API, which refuses cycles).
const MAX_GROUP_DEPTH: i32 = 64;

/// `(start, ancestor id, depth)` for every ancestor of every start, whatever
/// the viewer may see: one recursive query.
async fn ancestor_chain(db: &impl ConnectionTrait, starts: &[i64]) -> AppResult<Vec<(i64, i64, i32)>> {
    if starts.is_empty() {
        return Ok(Vec::new());
    }
    let list = starts.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "WITH RECURSIVE chain(start_id, ancestor_id, depth) AS ( \
           SELECT id, parent_id, 1 FROM customer WHERE id IN ({list}) AND parent_id IS NOT NULL \
           UNION ALL \
           SELECT chain.start_id, c.parent_id, chain.depth + 1 FROM chain \
             JOIN customer c ON c.id = chain.ancestor_id \
             WHERE c.parent_id IS NOT NULL AND chain.depth < {MAX_GROUP_DEPTH} \
         ) SELECT start_id, ancestor_id, depth FROM chain ORDER BY start_id, depth"
    );
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(sea_orm::Statement::from_string(backend, sql)).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "start_id")?, row.try_get("", "ancestor_id")?, row.try_get("", "depth")?)))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// Every ancestor of a customer, nearest first, visible or not (for the cycle check).
async fn ancestor_ids(db: &impl ConnectionTrait, id: i64) -> AppResult<Vec<i64>> {
    Ok(ancestor_chain(db, &[id]).await?.into_iter().map(|(_, ancestor, _)| ancestor).collect())
}

/// The groups above each customer, nearest first, as far as the viewer sees
/// them: the walk stops at the first ancestor outside the view, so a hidden
/// group neither appears nor reveals what is above it.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn ancestors(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    starts: &[i64],
) -> AppResult<std::collections::HashMap<i64, Vec<customer::Model>>> {
    let chain = ancestor_chain(db, starts).await?;
    let ids: Vec<i64> = chain.iter().map(|(_, ancestor, _)| *ancestor).collect();
    let visible: std::collections::HashMap<i64, customer::Model> = if ids.is_empty() {
        Default::default()
    } else {
        customer::Entity::find()
            .filter(policy::visible_customers(viewer))
            .filter(customer::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    let mut result: std::collections::HashMap<i64, Vec<customer::Model>> =
        starts.iter().map(|s| (*s, Vec::new())).collect();
    let mut stopped = std::collections::HashSet::new();
    for (start, ancestor, _) in chain {
        if stopped.contains(&start) {
            continue;
        }
        match visible.get(&ancestor) {
            Some(model) => result.entry(start).or_default().push(model.clone()),
            None => {
                stopped.insert(start);
            }
        }
    }
    Ok(result)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn create(svc: &crate::service::Services, viewer: &Viewer, input: NewCustomer) -> AppResult<customer::Model> {
    policy::ensure_can_write(viewer)?;
    let name = validate::required_text("name", &input.name, 200)?;
    let industry = validate::optional_text("industry", input.industry, 100)?;
    let region = validate::optional_text("region", input.region, 100)?;
    let status = input.status.unwrap_or(CustomerStatus::Prospect);
    crate::service::churn::check_status_write("status", None, status)?;
    let mut w = Write::begin(svc, viewer).await?;
    if let Some(since) = input.customer_since {
        valid_since(&*w, None, since).await?;
    }
    let owner_id = input.owner_id.unwrap_or(viewer.user_id);
    policy::assignable_user(&*w, viewer, owner_id, "ownerId").await?;
    if let Some(parent) = input.parent_id {
        valid_parent(&*w, viewer, parent, None).await?;
    }
    let custom = custom_fields::checked(&*w, CustomFieldEntity::Customer, &input.custom_fields, true).await?;
    let at = now();
    let model = customer::ActiveModel {
        name: Set(name),
        industry: Set(industry),
        region: Set(region),
        status: Set(status),
        owner_id: Set(owner_id),
        parent_id: Set(input.parent_id),
        tier: Set(None),
        purchasing_fit: Set(input.purchasing_fit),
        strategic_importance: Set(input.strategic_importance.unwrap_or(StrategicImportance::Medium)),
        segment: Set(None),
        customer_since: Set(input.customer_since),
        next_review_on: Set(input.next_review_on),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    let custom = custom_fields::store(&*w, CustomFieldEntity::Customer, model.id, custom).await?;
    w.audit(
        "create",
        "customer",
        model.id,
        custom_fields::audited(json!({"name": model.name, "ownerId": owner_id}), custom),
    );
    w.changes([Change::customer(model.id, Operation::Created, None)]);
    w.commit(svc).await?;
    Ok(model)
}

/// Updates a customer; a new strategic importance asks for a segment recompute.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn update(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    changes: CustomerChanges,
) -> AppResult<customer::Model> {
    policy::ensure_can_write(viewer)?;
    let _db = &svc.db;
    let mut w = Write::begin(svc, viewer).await?;
    let current = policy::visible_customer(&*w, viewer, id).await?;
    validate::version("customer", expected_version, current.version)?;
    // Importance and status (who is live) move segments.
    let segments_move =
        changes.strategic_importance.is_some() || changes.status.is_some_and(|status| status != current.status);
    let custom = custom_fields::checked(&*w, CustomFieldEntity::Customer, &changes.custom_fields, false).await?;
    let mut row = changed_row(&*w, viewer, &current, changes).await?;
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    let updated = update_versioned::<customer::Entity>(
        &*w,
        row,
        (customer::Column::Id, id),
        (customer::Column::Version, current.version),
        "customer",
    )
    .await?;
    if updated.owner_id != current.owner_id && updated.archived_at.is_none() {
        crate::service::rollups::move_customers(&*w, &[id], current.owner_id, Some(updated.owner_id)).await?;
    }
    let moved_from = (updated.owner_id != current.owner_id).then_some(current.owner_id);
    // A new owner takes the account's open promises and complaints, as a reassignment does.
    let work = match moved_from {
        Some(from) => crate::service::ownership::move_open_work(&*w, viewer, &[id], from, updated.owner_id).await?,
        None => Default::default(),
    };
    let custom = custom_fields::store(&*w, CustomFieldEntity::Customer, id, custom).await?;
    w.audit("update", "customer", id, custom_fields::audited(audit::diff(&current, &updated), custom));
    w.after(crate::service::write::Effect::TasksAssigned(work.task_ids()));
    if let Some(from) = moved_from {
        w.announce([Event::customer_reassigned(id, from, updated.owner_id)]);
    }
    let feed: Vec<Change> =
        std::iter::once(Change::customer(id, Operation::Updated, moved_from)).chain(work.changes()).collect();
    w.changes(feed);
    w.after(Effect::Publish(work.events));
    if segments_move {
        w.after(Effect::Segments);
    }
    w.commit(svc).await?;
    Ok(updated)
}

/// The fields to write, each checked; an owner named again is no change
/// (no reassignment, no open work moved).
async fn changed_row(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    current: &customer::Model,
    changes: CustomerChanges,
) -> AppResult<customer::ActiveModel> {
    let id = current.id;
    let mut row = customer::ActiveModel { ..Default::default() };
    if let Some(name) = changes.name {
        let name = validate::required_text("name", &name, 200)?;
        row.name = Set(name);
    }
    if let Some(industry) = changes.industry {
        row.industry = Set(validate::optional_text("industry", industry, 100)?);
    }
    if let Some(region) = changes.region {
        row.region = Set(validate::optional_text("region", region, 100)?);
    }
    if let Some(status) = changes.status {
        crate::service::churn::check_status_write("status", Some(current.status), status)?;
        row.status = Set(status);
    }
    if let Some(owner) = changes.owner_id.filter(|o| *o != current.owner_id) {
        policy::assignable_user(db, viewer, owner, "ownerId").await?;
        row.owner_id = Set(owner);
    }
    if let Some(parent) = changes.parent_id {
        if let Some(parent_id) = parent {
            valid_parent(db, viewer, parent_id, Some(id)).await?;
        }
        row.parent_id = Set(parent);
    }
    if let Some(fit) = changes.purchasing_fit {
        row.purchasing_fit = Set(fit);
    }
    if let Some(importance) = changes.strategic_importance {
        row.strategic_importance = Set(importance);
    }
    if let Some(since) = changes.customer_since {
        if let Some(since) = since {
            valid_since(db, Some(id), since).await?;
        }
        row.customer_since = Set(since);
    }
    if let Some(review) = changes.next_review_on {
        row.next_review_on = Set(review);
    }
    Ok(row)
}

/// Archives (never deletes) a customer: it leaves lists but stays in history and reports.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn archive(svc: &crate::service::Services, viewer: &Viewer, id: i64) -> AppResult<customer::Model> {
    policy::ensure_can_write(viewer)?;
    let _db = &svc.db;
    let mut w = Write::begin(svc, viewer).await?;
    let current = policy::writable_customer(&*w, viewer, id).await?;
    if current.archived_at.is_some() {
        w.commit(svc).await?;
        return Ok(current);
    }
    let at = now();
    let row = customer::ActiveModel {
        archived_at: Set(Some(at)),
        updated_at: Set(at),
        version: Set(current.version + 1),
        ..Default::default()
    };
    // Before the row says archived: its revenue leaves its owner's totals.
    crate::service::rollups::move_customers(&*w, &[id], current.owner_id, None).await?;
    let updated = update_versioned::<customer::Entity>(
        &*w,
        row,
        (customer::Column::Id, id),
        (customer::Column::Version, current.version),
        "customer",
    )
    .await?;
    w.audit("archive", "customer", id, json!({}));
    w.changes([Change::customer(id, Operation::Archived, None)]);
    // The book changed: ranks and shares move.
    w.after(Effect::Segments);
    w.commit(svc).await?;
    Ok(updated)
}

/// What is recorded when a customer is lost.
#[derive(Debug, Clone)]
pub struct Loss {
    pub reason: ChurnReason,
    pub competitor: Option<String>,
    pub notes: Option<String>,
    pub occurred_on: Option<NaiveDate>,
}

/// Marks the customer LOST and records the churn event, in one transaction.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn mark_lost(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    loss: Loss,
) -> AppResult<(customer::Model, churn_event::Model)> {
    let _db = &svc.db;
    policy::ensure_can_write(viewer)?;
    let competitor = validate::optional_text("competitor", loss.competitor, 200)?;
    let notes = validate::optional_text("notes", loss.notes, 4000)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = policy::writable_customer(&*w, viewer, id).await?;
    if !matches!(current.status, CustomerStatus::Active | CustomerStatus::WonBack) {
        return Err(AppError::conflict(format!(
            "a {} customer cannot be lost; allowed from ACTIVE or WON_BACK",
            current.status.as_str()
        )));
    }
    let occurred_on = loss.occurred_on.unwrap_or_else(|| now().date_naive());
    // The status said it may be lost; the last event only bounds the date
    // (older data may hold a status without its event).
    let last = crate::service::churn::latest(&*w, id).await?.map(|(_, on)| (ChurnKind::WonBack, on));
    crate::service::churn::check_next(last, current.customer_since, ChurnKind::Lost, occurred_on, now().date_naive())
        .map_err(|message| AppError::bad_input("occurredOn", message))?;
    let (updated, event) = record_churn(
        &mut w,
        viewer,
        &current,
        CustomerStatus::Lost,
        churn_event::ActiveModel {
            kind: Set(ChurnKind::Lost),
            reason: Set(Some(loss.reason)),
            controllable: Set(loss.reason.controllability()),
            competitor: Set(competitor),
            notes: Set(notes),
            occurred_on: Set(occurred_on),
            ..Default::default()
        },
    )
    .await?;
    // A loss or a win-back changes who takes a segment slot.
    w.after(Effect::Segments);
    w.commit(svc).await?;
    Ok((updated, event))
}

/// Marks a LOST customer WON_BACK and records the churn event, in one transaction.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn mark_won_back(
    svc: &crate::service::Services,
    viewer: &Viewer,
    id: i64,
    notes: Option<String>,
    occurred_on: Option<NaiveDate>,
) -> AppResult<(customer::Model, churn_event::Model)> {
    let _db = &svc.db;
    policy::ensure_can_write(viewer)?;
    let notes = validate::optional_text("notes", notes, 4000)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = policy::writable_customer(&*w, viewer, id).await?;
    if current.status != CustomerStatus::Lost {
        return Err(AppError::conflict(format!(
            "a {} customer cannot be won back; allowed from LOST",
            current.status.as_str()
        )));
    }
    let occurred_on = occurred_on.unwrap_or_else(|| now().date_naive());
    let last_on = crate::service::churn::latest(&*w, id).await?.map_or(NaiveDate::MIN, |(_, on)| on);
    let last = Some((ChurnKind::Lost, last_on));
    crate::service::churn::check_next(
        last,
        current.customer_since,
        ChurnKind::WonBack,
        occurred_on,
        now().date_naive(),
    )
    .map_err(|message| AppError::bad_input("occurredOn", message))?;
    let (updated, event) = record_churn(
        &mut w,
        viewer,
        &current,
        CustomerStatus::WonBack,
        churn_event::ActiveModel {
            kind: Set(ChurnKind::WonBack),
            reason: Set(None),
            controllable: Set(None),
            competitor: Set(None),
            notes: Set(notes),
            occurred_on: Set(occurred_on),
            ..Default::default()
        },
    )
    .await?;
    // A loss or a win-back changes who takes a segment slot.
    w.after(Effect::Segments);
    w.commit(svc).await?;
    Ok((updated, event))
}

async fn record_churn(
    w: &mut Write,
    viewer: &Viewer,
    current: &customer::Model,
    status: CustomerStatus,
    mut event: churn_event::ActiveModel,
) -> AppResult<(customer::Model, churn_event::Model)> {
    let at = now();
    let row = customer::ActiveModel {
        status: Set(status),
        updated_at: Set(at),
        version: Set(current.version + 1),
        ..Default::default()
    };
    let updated = update_versioned::<customer::Entity>(
        &**w,
        row,
        (customer::Column::Id, current.id),
        (customer::Column::Version, current.version),
        "customer",
    )
    .await?;
    event.customer_id = Set(current.id);
    event.recorded_by = Set(viewer.user_id);
    event.created_at = Set(at);
    event.updated_at = Set(at);
    let event = event.insert(&**w).await?;
    w.audit(
        "status_change",
        "customer",
        current.id,
        json!({"status": [current.status.as_str(), status.as_str()], "churnEventId": event.id}),
    );
    let announced = match status {
        CustomerStatus::Lost => Some(Event::customer_status(
            EventType::CustomerLost,
            current.id,
            json!({"reason": event.reason.map(|r| r.as_str()), "controllable": event.controllable}),
        )),
        CustomerStatus::WonBack => Some(Event::customer_status(EventType::CustomerWonBack, current.id, json!({}))),
        _ => None,
    };
    w.announce(announced);
    w.change(Change::customer(current.id, Operation::Updated, None));
    Ok((updated, event))
}
