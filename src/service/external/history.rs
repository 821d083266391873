//! The past a company brings with it, keyed by the source's own ids:
//! tickets with the times they were opened, first answered and resolved,
//! communications, and commitments. Like the master-data upserts: batches of
//! up to 1,000, all or nothing, every bad row named, the same data twice
//! changes nothing. Each row keeps its historical times (a ticket opened in
//! 2023 counts in 2023's error audit). Past events are not announced to
//! webhooks or subscriptions: they are history, not news.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    commitment, communication, customer,
    enums::{Channel, CommitmentKind, Direction, TicketCategory, TicketEventKind, TicketPriority, TicketStatus},
    ticket, user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use super::{Checks, Kind, Tally, Upserted, reference, resolve, stored};
use crate::{
    error::AppResult,
    policy::Viewer,
    rules::sla::SlaPolicy,
    service::{
        changes::{Change, ChangeEntity, Operation},
        now, validate,
        write::Write,
    },
};

/// A ticket as the helpdesk knows it.
#[derive(Debug, Clone)]
pub struct TicketRecord {
    pub external_id: String,
    pub customer_external_id: String,
    pub title: String,
    pub description: Option<String>,
    pub category: TicketCategory,
    pub priority: TicketPriority,
    pub opened_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// Resolved tickets are imported CLOSED; the others OPEN, or IN_PROGRESS once answered.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A communication as the CRM or mail system knows it.
#[derive(Debug, Clone)]
pub struct CommunicationRecord {
    pub external_id: String,
    pub customer_external_id: String,
    pub channel: Channel,
    pub direction: Direction,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    /// Who spoke for us, by e-mail; the customer's owner when absent.
    pub user_email: Option<String>,
}

/// A promise made to a customer.
#[derive(Debug, Clone)]
pub struct CommitmentRecord {
    pub external_id: String,
    pub customer_external_id: String,
    pub kind: CommitmentKind,
    pub description: String,
    pub amount_cents: Option<i64>,
    pub due_on: NaiveDate,
    pub fulfilled_on: Option<NaiveDate>,
}

/// The customers the rows name by external id, each row's customer noted
/// (a row naming an unknown one fails).
async fn customers_of(
    w: &Write,
    checks: &mut Checks,
    source: &str,
    named: &[&str],
) -> AppResult<Vec<Option<customer::Model>>> {
    let known = resolve(&**w, Kind::Customer, source, named.iter().map(|n| (*n).to_owned())).await?;
    let rows: HashMap<i64, customer::Model> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(known.values().copied()))
        .all(&**w)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut found = Vec::with_capacity(named.len());
    for (i, name) in named.iter().enumerate() {
        let customer = known.get(*name).and_then(|id| rows.get(id)).cloned();
        if customer.is_none() {
            checks.fail(i, "customerExternalId", format!("no customer {name:?} in source {source:?}"));
        }
        found.push(customer);
    }
    Ok(found)
}

/// Fails a time after now, or before the time it follows.
fn check_time(checks: &mut Checks, i: usize, field: &str, at: Option<DateTime<Utc>>, after: DateTime<Utc>) {
    match at {
        Some(at) if at > now() => checks.fail(i, field, format!("{field} {at} is in the future")),
        Some(at) if at < after => checks.fail(i, field, format!("{field} {at} is before the ticket was opened")),
        _ => {}
    }
}

/// The rows of a table the source already knows, by our id.
macro_rules! existing {
    ($w:expr, $known:expr, $table:ident) => {
        $table::Entity::find()
            .filter($table::Column::Id.is_in($known.values().copied()))
            .all(&*$w)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect::<HashMap<i64, $table::Model>>()
    };
}

/// Tickets by their id in `source`, up to 1,000, all or nothing.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert_tickets_in(
    mut w: Write,
    viewer: &Viewer,
    sla: &SlaPolicy,
    source: &str,
    records: Vec<TicketRecord>,
) -> AppResult<(Write, Upserted<ticket::Model>)> {
    let (source, mut checks) = Checks::start(viewer, source, "tickets", records.len())?;
    let mut keys = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        keys.push(checks.key(i, &r.external_id));
        checks.note(i, validate::required_text("title", &r.title, 200));
        checks.note(i, validate::optional_text("description", r.description.clone(), 20_000));
        check_time(&mut checks, i, "openedAt", Some(r.opened_at), r.opened_at);
        check_time(&mut checks, i, "firstResponseAt", r.first_response_at, r.opened_at);
        check_time(&mut checks, i, "resolvedAt", r.resolved_at, r.opened_at);
    }
    let named: Vec<&str> = records.iter().map(|r| r.customer_external_id.as_str()).collect();
    let customers = customers_of(&w, &mut checks, &source, &named).await?;
    let known = resolve(&*w, Kind::Ticket, &source, keys.iter().flatten().cloned()).await?;
    let existing = existing!(w, known, ticket);
    checks.finish()?;

    let mut tally = Tally::new(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let (Some(key), Some(customer)) = (keys[i].clone(), customers[i].clone()) else { continue };
        let (response_due, resolution_due) = sla.due(r.priority, customer.tier, r.opened_at);
        let status = match (r.resolved_at, r.first_response_at) {
            (Some(_), _) => TicketStatus::Closed,
            (None, Some(_)) => TicketStatus::InProgress,
            (None, None) => TicketStatus::Open,
        };
        let description = r.description.clone().unwrap_or_else(|| r.title.clone());
        let last = r.resolved_at.or(r.first_response_at).unwrap_or(r.opened_at);
        if let Some(current) = stored(&known, &existing, &key) {
            let same = current.title == r.title.trim()
                && current.description == description
                && current.category == r.category
                && current.priority == r.priority
                && current.customer_id == customer.id
                && current.created_at == r.opened_at
                && current.first_responded_at == r.first_response_at
                && current.resolved_at == r.resolved_at;
            if same {
                tally.unchanged(current.clone());
                continue;
            }
            let mut row = current.clone().into_active_model();
            row.customer_id = Set(customer.id);
            row.created_at = Set(r.opened_at);
            row.title = Set(r.title.trim().to_owned());
            row.description = Set(description);
            row.category = Set(r.category);
            row.priority = Set(r.priority);
            row.status = Set(status);
            row.first_response_due_at = Set(response_due);
            row.resolution_due_at = Set(resolution_due);
            row.first_responded_at = Set(r.first_response_at);
            row.resolved_at = Set(r.resolved_at);
            row.version = Set(current.version + 1);
            row.updated_at = Set(now());
            let model = row.update(&*w).await?;
            w.audit("import_update", "ticket", model.id, serde_json::json!({"source": source, "externalId": key}));
            let change = Change::new(ChangeEntity::Ticket, model.id, Operation::Updated, customer.id);
            tally.updated(model, Some(change));
            continue;
        }
        let model = ticket::ActiveModel {
            customer_id: Set(customer.id),
            contact_id: Set(None),
            assignee_id: Set(Some(customer.owner_id)),
            title: Set(r.title.trim().to_owned()),
            description: Set(description),
            category: Set(r.category),
            priority: Set(r.priority),
            status: Set(status),
            first_response_due_at: Set(response_due),
            resolution_due_at: Set(resolution_due),
            first_responded_at: Set(r.first_response_at),
            resolved_at: Set(r.resolved_at),
            version: Set(1),
            archived_at: Set(None),
            created_at: Set(r.opened_at),
            updated_at: Set(last),
            ..Default::default()
        }
        .insert(&*w)
        .await?;
        let mut events = vec![(TicketEventKind::Created, r.opened_at, None)];
        if let Some(resolved) = r.resolved_at {
            events.push((TicketEventKind::StatusChange, resolved, Some(("OPEN", "CLOSED"))));
        }
        for (kind, at, change) in events {
            let change = change.map(|(from, to): (&str, &str)| (from.to_owned(), to.to_owned()));
            crate::service::tickets::add_event_at(&*w, viewer, model.id, kind, None, change, at).await?;
        }
        let change = Change::new(ChangeEntity::Ticket, model.id, Operation::Created, customer.id);
        tally.created(model.clone(), Some(change), reference(Kind::Ticket, model.id, &source, &key));
    }
    tally.record(w, "ticket", &source).await
}

/// Communications by their id in `source`, up to 1,000, all or nothing.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert_communications_in(
    mut w: Write,
    viewer: &Viewer,
    source: &str,
    records: Vec<CommunicationRecord>,
) -> AppResult<(Write, Upserted<communication::Model>)> {
    let (source, mut checks) = Checks::start(viewer, source, "communications", records.len())?;
    let mut keys = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        keys.push(checks.key(i, &r.external_id));
        checks.note(i, validate::required_text("summary", &r.summary, 4000));
        if r.occurred_at > now() {
            checks.fail(i, "occurredAt", format!("occurredAt {} is in the future", r.occurred_at));
        }
    }
    let named: Vec<&str> = records.iter().map(|r| r.customer_external_id.as_str()).collect();
    let customers = customers_of(&w, &mut checks, &source, &named).await?;
    let emails: Vec<String> =
        records.iter().filter_map(|r| r.user_email.as_ref().map(|e| e.trim().to_lowercase())).collect();
    let users: HashMap<String, i64> = user::Entity::find()
        .filter(user::Column::Email.is_in(emails))
        .all(&*w)
        .await?
        .into_iter()
        .map(|u| (u.email, u.id))
        .collect();
    let mut speakers = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let speaker = match &r.user_email {
            Some(email) => users.get(&email.trim().to_lowercase()).copied(),
            None => customers[i].as_ref().map(|c| c.owner_id),
        };
        if speaker.is_none() && r.user_email.is_some() {
            checks.fail(i, "userEmail", format!("no user with e-mail {:?}", r.user_email.as_deref().unwrap_or("")));
        }
        speakers.push(speaker);
    }
    let known = resolve(&*w, Kind::Communication, &source, keys.iter().flatten().cloned()).await?;
    let existing = existing!(w, known, communication);
    checks.finish()?;

    let mut tally = Tally::new(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let (Some(key), Some(customer), Some(speaker)) = (keys[i].clone(), customers[i].clone(), speakers[i]) else {
            continue;
        };
        let summary = r.summary.trim().to_owned();
        if let Some(current) = stored(&known, &existing, &key) {
            let same = current.channel == r.channel
                && current.direction == r.direction
                && current.occurred_at == r.occurred_at
                && current.summary == summary
                && current.user_id == speaker
                && current.customer_id == customer.id;
            if same {
                tally.unchanged(current.clone());
                continue;
            }
            let mut row = current.clone().into_active_model();
            row.customer_id = Set(customer.id);
            row.channel = Set(r.channel);
            row.direction = Set(r.direction);
            row.occurred_at = Set(r.occurred_at);
            row.summary = Set(summary);
            row.user_id = Set(speaker);
            row.updated_at = Set(now());
            let model = row.update(&*w).await?;
            w.audit(
                "import_update",
                "communication",
                model.id,
                serde_json::json!({"source": source, "externalId": key}),
            );
            let change = Change::new(ChangeEntity::Communication, model.id, Operation::Updated, customer.id);
            tally.updated(model, Some(change));
            continue;
        }
        let model = communication::ActiveModel {
            customer_id: Set(customer.id),
            user_id: Set(speaker),
            channel: Set(r.channel),
            direction: Set(r.direction),
            occurred_at: Set(r.occurred_at),
            summary: Set(summary),
            follow_up_on: Set(None),
            archived_at: Set(None),
            created_at: Set(r.occurred_at),
            updated_at: Set(r.occurred_at),
            ..Default::default()
        }
        .insert(&*w)
        .await?;
        let change = Change::new(ChangeEntity::Communication, model.id, Operation::Created, customer.id);
        tally.created(model.clone(), Some(change), reference(Kind::Communication, model.id, &source, &key));
    }
    tally.record(w, "communication", &source).await
}

/// Commitments by their id in `source`, up to 1,000, all or nothing; owned
/// by the customer's owner.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert_commitments_in(
    mut w: Write,
    viewer: &Viewer,
    source: &str,
    records: Vec<CommitmentRecord>,
) -> AppResult<(Write, Upserted<commitment::Model>)> {
    let (source, mut checks) = Checks::start(viewer, source, "commitments", records.len())?;
    let today = now().date_naive();
    let mut keys = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        keys.push(checks.key(i, &r.external_id));
        checks.note(i, validate::required_text("description", &r.description, 2000));
        if r.amount_cents.is_some_and(|a| a < 0) {
            checks.fail(i, "amountCents", "an amount is not negative");
        }
        if let Some(fulfilled) = r.fulfilled_on.filter(|f| *f > today) {
            checks.fail(i, "fulfilledOn", format!("fulfilledOn {fulfilled} is in the future"));
        }
    }
    let named: Vec<&str> = records.iter().map(|r| r.customer_external_id.as_str()).collect();
    let customers = customers_of(&w, &mut checks, &source, &named).await?;
    let known = resolve(&*w, Kind::Commitment, &source, keys.iter().flatten().cloned()).await?;
    let existing = existing!(w, known, commitment);
    checks.finish()?;

    let at = now();
    let mut tally = Tally::new(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let (Some(key), Some(customer)) = (keys[i].clone(), customers[i].clone()) else { continue };
        let description = r.description.trim().to_owned();
        if let Some(current) = stored(&known, &existing, &key) {
            let same = current.kind == r.kind
                && current.description == description
                && current.amount_cents == r.amount_cents
                && current.due_on == r.due_on
                && current.fulfilled_on == r.fulfilled_on
                && current.customer_id == customer.id;
            if same {
                tally.unchanged(current.clone());
                continue;
            }
            let mut row = current.clone().into_active_model();
            row.customer_id = Set(customer.id);
            row.kind = Set(r.kind);
            row.description = Set(description);
            row.amount_cents = Set(r.amount_cents);
            row.due_on = Set(r.due_on);
            row.fulfilled_on = Set(r.fulfilled_on);
            row.version = Set(current.version + 1);
            row.updated_at = Set(at);
            let model = row.update(&*w).await?;
            w.audit("import_update", "commitment", model.id, serde_json::json!({"source": source, "externalId": key}));
            let change = Change::new(ChangeEntity::Commitment, model.id, Operation::Updated, customer.id);
            tally.updated(model, Some(change));
            continue;
        }
        let model = commitment::ActiveModel {
            customer_id: Set(customer.id),
            kind: Set(r.kind),
            description: Set(description),
            amount_cents: Set(r.amount_cents),
            due_on: Set(r.due_on),
            fulfilled_on: Set(r.fulfilled_on),
            owner_id: Set(customer.owner_id),
            version: Set(1),
            archived_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
        .insert(&*w)
        .await?;
        let change = Change::new(ChangeEntity::Commitment, model.id, Operation::Created, customer.id);
        tally.created(model.clone(), Some(change), reference(Kind::Commitment, model.id, &source, &key));
    }
    tally.record(w, "commitment", &source).await
}
