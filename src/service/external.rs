//! Master data pushed by other systems, keyed by their own ids: customers and
//! contacts are created or updated by (source, external id), in batches of up
//! to 1,000, all or nothing. Pushing the same data twice changes nothing (and
//! records no change); a batch with a bad row writes nothing and names every
//! bad row by its index.
//!
//! An upsert sets a customer's owner and status only when it creates it:
//! afterwards they change through reassignment and the churn mutations,
//! which keep the history (rollups, churn events, change feed, webhooks) right.

use std::collections::{HashMap, HashSet};

use entity::{
    churn_event, contact, customer,
    enums::{ChurnKind, CustomFieldEntity, CustomerStatus, OrgLevel, Role, StrategicImportance},
    external_ref, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use serde_json::json;

use crate::service::custom_fields::{self, Given, Stored};
use crate::service::write::{Effect, Write};
use crate::{
    error::{AppError, AppResult, RowError},
    policy,
    policy::Viewer,
    service::{
        Services, audit,
        changes::{Change, ChangeEntity, Operation},
        now, update_versioned, validate,
    },
};

/// Most rows one call accepts.
pub const MAX_BATCH: usize = 1000;

crate::names::named! {
    /// The kinds of rows with external ids.
    pub enum Kind {
        Customer = "CUSTOMER",
        Contact = "CONTACT",
        ChurnEvent = "CHURN_EVENT",
        Ticket = "TICKET",
        Communication = "COMMUNICATION",
        Commitment = "COMMITMENT",
    }
}

/// Tickets, communications and commitments of the past, by external id.
mod history;
pub use history::{
    CommitmentRecord, CommunicationRecord, TicketRecord, upsert_commitments_in, upsert_communications_in,
    upsert_tickets_in,
};

/// A customer as the source system sends it.
#[derive(Debug, Clone)]
pub struct CustomerRecord {
    pub external_id: String,
    pub name: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    /// At creation only (default ACTIVE); never LOST or WON_BACK, which
    /// come with their dated churn events (`upsert_churn_events`).
    pub status: Option<CustomerStatus>,
    /// When it became a customer; given, it is set (on creation and after),
    /// absent, it is left as it is.
    pub customer_since: Option<chrono::NaiveDate>,
    /// At creation only: the owner by id or by e-mail (one is required to create).
    pub owner_id: Option<i64>,
    pub owner_email: Option<String>,
    /// Custom field values (`crate::service::custom_fields`); a required field must be given to create.
    pub custom_fields: Vec<Given>,
}

/// A contact as the source system sends it.
#[derive(Debug, Clone)]
pub struct ContactRecord {
    pub external_id: String,
    /// The customer, by our id or by its external id in the same source.
    pub customer_id: Option<i64>,
    pub customer_external_id: Option<String>,
    pub name: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub org_level: OrgLevel,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Custom field values; a required field must be given to create.
    pub custom_fields: Vec<Given>,
}

/// What an upsert did, rows in input order.
#[derive(Debug)]
pub struct Upserted<M> {
    pub rows: Vec<M>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Service accounts with `customers:write`, and leadership (who see every customer).
fn ensure_writer(viewer: &Viewer) -> AppResult<()> {
    match viewer.role {
        Role::Integration => policy::ensure_scope(viewer, policy::SCOPE_CUSTOMERS_WRITE),
        _ => policy::ensure_leadership(viewer),
    }
}

fn valid_source(source: &str) -> AppResult<String> {
    let source = source.trim();
    let ok = !source.is_empty()
        && source.len() <= 50
        && source.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(source.to_owned())
    } else {
        Err(AppError::bad_input("source", "source must be 1 to 50 letters, digits, '-', '_' or '.'"))
    }
}

/// Row checks: each failure is noted against its row; the batch goes on being checked.
struct Checks {
    list: &'static str,
    errors: Vec<RowError>,
    /// External ids met so far: one may appear once per batch.
    keys: HashSet<String>,
}

impl Checks {
    /// Checks who may push and the batch as a whole; returns the source and the row checks.
    fn start(viewer: &Viewer, source: &str, list: &'static str, len: usize) -> AppResult<(String, Self)> {
        ensure_writer(viewer)?;
        let source = valid_source(source)?;
        if len == 0 || len > MAX_BATCH {
            return Err(AppError::bad_input(list, format!("send 1 to {MAX_BATCH} rows")));
        }
        Ok((source, Self { list, errors: Vec::new(), keys: HashSet::new() }))
    }

    /// A row's external id: present, not too long, not seen before in the batch.
    fn key(&mut self, index: usize, external_id: &str) -> Option<String> {
        let key = self.note(index, validate::required_text("externalId", external_id, 200))?;
        if !self.keys.insert(key.clone()) {
            self.fail(index, "externalId", format!("externalId {key:?} appears twice in the batch"));
        }
        Some(key)
    }

    fn note<T>(&mut self, index: usize, result: AppResult<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(AppError::BadInput { field, message }) => {
                self.errors.push(RowError { index, field, message });
                None
            }
            Err(other) => {
                self.errors.push(RowError { index, field: String::new(), message: other.to_string() });
                None
            }
        }
    }

    fn fail(&mut self, index: usize, field: &str, message: impl Into<String>) {
        self.errors.push(RowError { index, field: field.to_owned(), message: message.into() });
    }

    fn finish(self) -> AppResult<()> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let bad: HashSet<usize> = self.errors.iter().map(|e| e.index).collect();
        Err(AppError::BadRows {
            field: self.list.to_owned(),
            message: format!("{} of the rows are invalid; nothing was written", bad.len()),
            rows: self.errors,
        })
    }
}

/// Our ids of the rows a source knows by these external ids; a merged row's
/// ids name the row it was merged into.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn resolve(
    db: &impl ConnectionTrait,
    kind: Kind,
    source: &str,
    external_ids: impl IntoIterator<Item = String>,
) -> AppResult<HashMap<String, i64>> {
    let mut found = resolve_exact(db, kind, source, external_ids).await?;
    follow_merges(db, kind, &mut found).await?;
    Ok(found)
}

/// Our ids of the rows a source knows by these external ids, merged ones
/// included as they are (not followed to the row they were merged into).
pub async fn resolve_exact(
    db: &impl ConnectionTrait,
    kind: Kind,
    source: &str,
    external_ids: impl IntoIterator<Item = String>,
) -> AppResult<HashMap<String, i64>> {
    // Rows of a batch often name the same one (a customer's months of revenue): each is asked once.
    let wanted: Vec<String> = external_ids.into_iter().collect::<HashSet<_>>().into_iter().collect();
    let mut found = HashMap::new();
    for chunk in wanted.chunks(500) {
        let rows = external_ref::Entity::find()
            .filter(external_ref::Column::Entity.eq(kind.as_str()))
            .filter(external_ref::Column::Source.eq(source))
            .filter(external_ref::Column::ExternalId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|r| (r.external_id, r.entity_id)));
    }
    Ok(found)
}

/// Fails every record after the first that names the same row: two external
/// ids of one source can name one row once a merge made one an alias of the
/// other, and one batch must not write a row twice.
fn one_record_per_row<'a>(
    checks: &mut Checks,
    known: &HashMap<String, i64>,
    keys: impl Iterator<Item = (usize, &'a String)>,
) {
    let mut first: HashMap<i64, &String> = HashMap::new();
    for (i, key) in keys {
        let Some(id) = known.get(key) else { continue };
        match first.get(id) {
            Some(earlier) => checks.fail(
                i,
                "externalId",
                format!("{key} and {earlier} name the same row (one was merged into the other): push it once"),
            ),
            None => {
                first.insert(*id, key);
            }
        }
    }
}

/// A merged customer's or contact's external ids are aliases of the row it was
/// merged into: a push by one of them updates that row and never recreates the
/// duplicate. Merges are flattened (`crate::service::merge`): one hop is enough.
async fn follow_merges(db: &impl ConnectionTrait, kind: Kind, found: &mut HashMap<String, i64>) -> AppResult<()> {
    let ids: Vec<i64> = found.values().copied().collect();
    let mut merged: HashMap<i64, i64> = HashMap::new();
    for chunk in ids.chunks(500) {
        let pairs: Vec<(i64, Option<i64>)> = match kind {
            Kind::Customer => {
                customer::Entity::find()
                    .select_only()
                    .columns([customer::Column::Id, customer::Column::MergedIntoId])
                    .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                    .filter(customer::Column::MergedIntoId.is_not_null())
                    .into_tuple()
                    .all(db)
                    .await?
            }
            Kind::Contact => {
                contact::Entity::find()
                    .select_only()
                    .columns([contact::Column::Id, contact::Column::MergedIntoId])
                    .filter(contact::Column::Id.is_in(chunk.iter().copied()))
                    .filter(contact::Column::MergedIntoId.is_not_null())
                    .into_tuple()
                    .all(db)
                    .await?
            }
            _ => return Ok(()),
        };
        merged.extend(pairs.into_iter().filter_map(|(id, into)| into.map(|into| (id, into))));
    }
    for id in found.values_mut() {
        if let Some(into) = merged.get(id) {
            *id = *into;
        }
    }
    Ok(())
}

/// Every (source, external id) of these rows, by row.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn of_rows(
    db: &impl ConnectionTrait,
    kind: Kind,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<external_ref::Model>>> {
    let rows = external_ref::Entity::find()
        .filter(external_ref::Column::Entity.eq(kind.as_str()))
        .filter(external_ref::Column::EntityId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let mut by_row: HashMap<i64, Vec<external_ref::Model>> = HashMap::new();
    for row in rows {
        by_row.entry(row.entity_id).or_default().push(row);
    }
    for refs in by_row.values_mut() {
        refs.sort_by(|a, b| a.source.cmp(&b.source));
    }
    Ok(by_row)
}

/// Writes the new rows' external ids.
async fn record_refs(w: &Write, refs: Vec<external_ref::ActiveModel>) -> AppResult<()> {
    for chunk in refs.chunks(500) {
        external_ref::Entity::insert_many(chunk.to_vec()).exec_without_returning(&**w).await?;
    }
    Ok(())
}

fn reference(kind: Kind, id: i64, source: &str, external_id: &str) -> external_ref::ActiveModel {
    let at = now();
    external_ref::ActiveModel {
        entity: Set(kind.as_str().to_owned()),
        entity_id: Set(id),
        source: Set(source.to_owned()),
        external_id: Set(external_id.to_owned()),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
}

/// The stored row a source knows by this external id, if any.
fn stored<'a, M>(known: &HashMap<String, i64>, existing: &'a HashMap<i64, M>, external_id: &str) -> Option<&'a M> {
    known.get(external_id).and_then(|id| existing.get(id))
}

/// A batch as it is written: its rows in input order and their counts, and
/// what the commit records beside them (change-feed entries, the external
/// ids of the rows it created).
struct Tally<M> {
    done: Upserted<M>,
    feed: Vec<Change>,
    refs: Vec<external_ref::ActiveModel>,
}

impl<M> Tally<M> {
    fn new(len: usize) -> Self {
        Self {
            done: Upserted { rows: Vec::with_capacity(len), created: 0, updated: 0, unchanged: 0 },
            feed: Vec::new(),
            refs: Vec::new(),
        }
    }

    fn unchanged(&mut self, row: M) {
        self.done.unchanged += 1;
        self.done.rows.push(row);
    }

    fn updated(&mut self, row: M, change: Option<Change>) {
        self.feed.extend(change);
        self.done.updated += 1;
        self.done.rows.push(row);
    }

    fn created(&mut self, row: M, change: Option<Change>, reference: external_ref::ActiveModel) {
        self.refs.push(reference);
        self.feed.extend(change);
        self.done.created += 1;
        self.done.rows.push(row);
    }

    /// Audits the batch itself, beside an entry per row it created or changed
    /// (there may be none), and records its feed and external ids in the write.
    async fn record(self, mut w: Write, entity: &str, source: &str) -> AppResult<(Write, Upserted<M>)> {
        let Upserted { created, updated, unchanged, .. } = self.done;
        w.audit(
            "upsert_batch",
            entity,
            0,
            json!({"source": source, "created": created, "updated": updated, "unchanged": unchanged}),
        );
        w.changes(self.feed);
        record_refs(&w, self.refs).await?;
        Ok((w, self.done))
    }
}

/// Validated fields of a customer row.
struct CustomerFields {
    external_id: String,
    name: String,
    industry: Option<String>,
    region: Option<String>,
    customer_since: Option<chrono::NaiveDate>,
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert_customers(
    svc: &Services,
    viewer: &Viewer,
    source: &str,
    records: Vec<CustomerRecord>,
) -> AppResult<Upserted<customer::Model>> {
    let (w, done) = upsert_customers_in(Write::begin(svc, viewer).await?, viewer, source, records).await?;
    w.commit(svc).await?;
    Ok(done)
}

/// [`upsert_customers`] inside a write that the caller commits (an import
/// writes a whole file in one); dropping the write on an error rolls it back.
pub async fn upsert_customers_in(
    w: Write,
    viewer: &Viewer,
    source: &str,
    records: Vec<CustomerRecord>,
) -> AppResult<(Write, Upserted<customer::Model>)> {
    let (source, mut checks) = Checks::start(viewer, source, "customers", records.len())?;
    let fields = check_customers(&mut checks, &records);
    let mut w = w;
    let known = resolve(&*w, Kind::Customer, &source, fields.iter().flatten().map(|f| f.external_id.clone())).await?;
    one_record_per_row(
        &mut checks,
        &known,
        fields.iter().enumerate().filter_map(|(i, f)| f.as_ref().map(|f| (i, &f.external_id))),
    );
    let existing: HashMap<i64, customer::Model> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(known.values().copied()))
        .all(&*w)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let creating: Vec<usize> = (0..records.len())
        .filter(|i| fields[*i].as_ref().is_some_and(|f| !known.contains_key(&f.external_id)))
        .collect();
    let owners = candidate_owners(&*w, &records, &creating).await?;
    // A customer cannot have become one after it was first lost.
    let first_losses = first_losses(&*w, existing.keys().copied()).await?;
    for (i, f) in fields.iter().enumerate() {
        let Some(f) = f else { continue };
        if let (Some(since), Some(current)) = (f.customer_since, stored(&known, &existing, &f.external_id))
            && let Some(lost) = first_losses.get(&current.id).filter(|lost| **lost < since)
        {
            checks.fail(i, "customerSince", format!("customerSince {since} is after the customer was lost ({lost})"));
        }
    }
    let owner_of = match_owners(&mut checks, &records, &creating, &owners);
    let is_new = |i: usize| fields[i].as_ref().is_some_and(|f| !known.contains_key(&f.external_id));
    let mut custom =
        custom_values(&*w, &mut checks, CustomFieldEntity::Customer, &records, |r| &r.custom_fields, is_new).await?;
    // Dropping the transaction rolls it back: nothing of a refused batch is written.
    checks.finish()?;
    let at = now();
    let mut fresh = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let Some(f) = f.as_ref().filter(|f| !known.contains_key(&f.external_id)) else { continue };
        let owner_id = owner_of.get(&i).copied().ok_or_else(|| AppError::Internal("owner not resolved".into()))?;
        fresh.push((f, records[i].status.unwrap_or(CustomerStatus::Active), owner_id));
    }
    let mut created = create_customers(&mut w, &source, fresh, at).await?;
    let mut tally = Tally::new(records.len());
    for (i, f) in fields.into_iter().enumerate() {
        let Some(f) = f else { continue };
        let values = std::mem::take(&mut custom[i]);
        if let Some(current) = stored(&known, &existing, &f.external_id) {
            let updated = update_customer(&mut w, current, f, at).await?;
            let custom_changed = store_custom(&mut w, CustomFieldEntity::Customer, current.id, values).await?;
            let updated = match (updated, custom_changed) {
                (Some(model), _) => Some(model),
                // Only custom values changed: the row moves on like any change.
                (None, true) => {
                    let row = customer::ActiveModel {
                        version: Set(current.version + 1),
                        updated_at: Set(at),
                        ..Default::default()
                    };
                    let key = (customer::Column::Id, current.id);
                    let version = (customer::Column::Version, current.version);
                    Some(update_versioned::<customer::Entity>(&*w, row, key, version, "customer").await?)
                }
                (None, false) => None,
            };
            match updated {
                Some(model) => {
                    let change = Change::customer(model.id, Operation::Updated, None);
                    tally.updated(model, Some(change));
                }
                None => tally.unchanged(current.clone()),
            }
        } else {
            let external_id = f.external_id;
            let model =
                created.remove(&external_id).ok_or_else(|| AppError::Internal("customer not created".into()))?;
            store_custom(&mut w, CustomFieldEntity::Customer, model.id, values).await?;
            let reference = reference(Kind::Customer, model.id, &source, &external_id);
            let change = Change::customer(model.id, Operation::Created, None);
            tally.created(model, Some(change), reference);
        }
    }
    let (mut w, done) = tally.record(w, "customer", &source).await?;
    if done.created > 0 {
        w.after(Effect::Segments);
    }
    Ok((w, done))
}

/// Each row's custom values checked against the entity's fields (read once
/// for the batch); a row to create must give the required ones. A bad value
/// fails its row, naming the field.
async fn custom_values<R>(
    db: &impl ConnectionTrait,
    checks: &mut Checks,
    entity: CustomFieldEntity,
    records: &[R],
    given: impl Fn(&R) -> &Vec<Given>,
    is_new: impl Fn(usize) -> bool,
) -> AppResult<Vec<Vec<(entity::custom_field::Model, Option<Stored>)>>> {
    let needed = records.iter().any(|r| !given(r).is_empty());
    let fields = custom_fields::definitions(db, Some(entity), false).await?;
    if !needed && !fields.iter().any(|f| f.required) {
        return Ok(vec![Vec::new(); records.len()]);
    }
    Ok(records
        .iter()
        .enumerate()
        .map(|(i, r)| checks.note(i, custom_fields::check_against(&fields, given(r), is_new(i))).unwrap_or_default())
        .collect())
}

/// Writes a row's custom values, auditing those that changed; whether any did.
async fn store_custom(
    w: &mut Write,
    entity: CustomFieldEntity,
    id: i64,
    values: Vec<(entity::custom_field::Model, Option<Stored>)>,
) -> AppResult<bool> {
    let changed = custom_fields::store(&**w, entity, id, values).await?;
    if changed.is_empty() {
        return Ok(false);
    }
    let name = if entity == CustomFieldEntity::Contact { "contact" } else { "customer" };
    w.audit("upsert", name, id, json!({"customFields": changed}));
    Ok(true)
}

/// Each customer row on its own, before anything is read: the fields of the
/// rows that pass, `None` for the others (their failures noted).
fn check_customers(checks: &mut Checks, records: &[CustomerRecord]) -> Vec<Option<CustomerFields>> {
    let mut fields = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let external_id = checks.key(i, &r.external_id);
        let name = checks.note(i, validate::required_text("name", &r.name, 200));
        let industry = checks.note(i, validate::optional_text("industry", r.industry.clone(), 100));
        let region = checks.note(i, validate::optional_text("region", r.region.clone(), 100));
        if let Some(status) = r.status {
            checks.note(i, crate::service::churn::check_status_write("status", None, status));
        }
        if let Some(since) = r.customer_since.filter(|since| *since > now().date_naive()) {
            checks.fail(i, "customerSince", format!("customerSince {since} is in the future"));
        }
        if let (Some(external_id), Some(name), Some(industry), Some(region)) = (external_id, name, industry, region) {
            fields.push(Some(CustomerFields { external_id, name, industry, region, customer_since: r.customer_since }));
        } else {
            fields.push(None);
        }
    }
    fields
}

/// Everyone the rows to create name as owner, by id or by e-mail, in one
/// statement; only active employees (a service account owns no customer).
async fn candidate_owners(
    db: &impl ConnectionTrait,
    records: &[CustomerRecord],
    creating: &[usize],
) -> AppResult<Vec<user::Model>> {
    let owner_ids: Vec<i64> = creating.iter().filter_map(|i| records[*i].owner_id).collect();
    let owner_emails: Vec<String> =
        creating.iter().filter_map(|i| records[*i].owner_email.as_ref().map(|e| e.trim().to_lowercase())).collect();
    if owner_ids.is_empty() && owner_emails.is_empty() {
        return Ok(Vec::new());
    }
    Ok(user::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::Id.is_in(owner_ids))
                .add(user::Column::Email.is_in(owner_emails)),
        )
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.ne(Role::Integration))
        .all(db)
        .await?)
}

/// The owner of each row to create, by row: a row must name one, and one of
/// the candidates.
fn match_owners(
    checks: &mut Checks,
    records: &[CustomerRecord],
    creating: &[usize],
    owners: &[user::Model],
) -> HashMap<usize, i64> {
    let mut owner_of = HashMap::new();
    for &i in creating {
        let r = &records[i];
        let owner = owners.iter().find(|u| {
            Some(u.id) == r.owner_id || r.owner_email.as_ref().is_some_and(|e| e.trim().eq_ignore_ascii_case(&u.email))
        });
        match (owner, r.owner_id.is_some() || r.owner_email.is_some()) {
            (Some(owner), _) => {
                owner_of.insert(i, owner.id);
            }
            (None, true) => checks.fail(i, "owner", "the owner must be an active employee"),
            (None, false) => checks.fail(i, "owner", "ownerId or ownerEmail is required to create a customer"),
        }
    }
    owner_of
}

/// Brings a known customer up to its row, leaving owner and status alone.
/// `None` when nothing differs: pushing the same data twice records no change.
async fn update_customer(
    w: &mut Write,
    current: &customer::Model,
    f: CustomerFields,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<Option<customer::Model>> {
    let since = f.customer_since.or(current.customer_since);
    if current.name == f.name
        && current.industry == f.industry
        && current.region == f.region
        && current.customer_since == since
    {
        return Ok(None);
    }
    let mut row: customer::ActiveModel = current.clone().into();
    row.name = Set(f.name);
    row.industry = Set(f.industry);
    row.region = Set(f.region);
    row.customer_since = Set(since);
    row.version = Set(current.version + 1);
    row.updated_at = Set(at);
    let model = row.update(&**w).await?;
    w.audit("upsert", "customer", model.id, audit::diff(current, &model));
    Ok(Some(model))
}

/// Creates a customer with the owner and status only a creation sets.
/// Inserts new customers several per statement; returns them by external id.
async fn create_customers(
    w: &mut Write,
    source: &str,
    fresh: Vec<(&CustomerFields, CustomerStatus, i64)>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<HashMap<String, customer::Model>> {
    let mut created = HashMap::with_capacity(fresh.len());
    for chunk in fresh.chunks(500) {
        let rows = chunk.iter().map(|(f, status, owner_id)| customer::ActiveModel {
            name: Set(f.name.clone()),
            industry: Set(f.industry.clone()),
            region: Set(f.region.clone()),
            status: Set(*status),
            owner_id: Set(*owner_id),
            parent_id: Set(None),
            tier: Set(None),
            purchasing_fit: Set(None),
            strategic_importance: Set(StrategicImportance::Medium),
            segment: Set(None),
            customer_since: Set(f.customer_since),
            next_review_on: Set(None),
            version: Set(1),
            archived_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        });
        let inserted = customer::Entity::insert_many(rows).exec_with_returning(&**w).await?;
        let models = inserted_in_order(inserted, chunk, |m| m.id, |m, (f, _, _)| m.name == f.name)?;
        for ((f, _, owner_id), model) in chunk.iter().zip(models) {
            let fields = json!({"source": source, "externalId": f.external_id, "ownerId": owner_id});
            w.audit("create", "customer", model.id, fields);
            created.insert(f.external_id.clone(), model);
        }
    }
    Ok(created)
}

/// The date of each customer's first loss, for those that have one.
async fn first_losses(
    db: &impl ConnectionTrait,
    customers: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, chrono::NaiveDate>> {
    use sea_orm::QuerySelect;
    let ids: Vec<i64> = customers.into_iter().collect();
    let mut found = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, Option<chrono::NaiveDate>)> = churn_event::Entity::find()
            .select_only()
            .column(churn_event::Column::CustomerId)
            .column_as(churn_event::Column::OccurredOn.min(), "first")
            .filter(churn_event::Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(churn_event::Column::Kind.eq(ChurnKind::Lost))
            .group_by(churn_event::Column::CustomerId)
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows.into_iter().filter_map(|(id, first)| first.map(|f| (id, f))));
    }
    Ok(found)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert_contacts(
    svc: &Services,
    viewer: &Viewer,
    source: &str,
    records: Vec<ContactRecord>,
) -> AppResult<Upserted<contact::Model>> {
    let (w, done) = upsert_contacts_in(Write::begin(svc, viewer).await?, viewer, source, records).await?;
    w.commit(svc).await?;
    Ok(done)
}

/// [`upsert_contacts`] inside a write that the caller commits.
pub async fn upsert_contacts_in(
    w: Write,
    viewer: &Viewer,
    source: &str,
    records: Vec<ContactRecord>,
) -> AppResult<(Write, Upserted<contact::Model>)> {
    let (source, mut checks) = Checks::start(viewer, source, "contacts", records.len())?;
    let mut valid = check_contacts(&mut checks, &records);
    let mut w = w;
    place_contacts(&*w, &mut checks, &source, &records, &mut valid).await?;
    let known = resolve(&*w, Kind::Contact, &source, valid.iter().flatten().map(|(e, _)| e.clone())).await?;
    one_record_per_row(
        &mut checks,
        &known,
        valid.iter().enumerate().filter_map(|(i, v)| v.as_ref().map(|(e, _)| (i, e))),
    );
    let existing: HashMap<i64, contact::Model> = contact::Entity::find()
        .filter(contact::Column::Id.is_in(known.values().copied()))
        .all(&*w)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let is_new = |i: usize| valid[i].as_ref().is_some_and(|(e, _)| !known.contains_key(e));
    let mut custom =
        custom_values(&*w, &mut checks, CustomFieldEntity::Contact, &records, |r| &r.custom_fields, is_new).await?;
    // Dropping the transaction rolls it back: nothing of a refused batch is written.
    checks.finish()?;
    let at = now();
    let fresh: Vec<(String, contact::Model)> =
        valid.iter().flatten().filter(|(e, _)| !known.contains_key(e)).cloned().collect();
    let mut created = create_contacts(&mut w, &source, fresh, at).await?;
    let mut tally = Tally::new(records.len());
    for (i, row) in valid.into_iter().enumerate() {
        let Some((external_id, wanted)) = row else { continue };
        let values = std::mem::take(&mut custom[i]);
        if let Some(current) = stored(&known, &existing, &external_id) {
            let updated = update_contact(&mut w, current, wanted, at).await?;
            let custom_changed = store_custom(&mut w, CustomFieldEntity::Contact, current.id, values).await?;
            let updated = match (updated, custom_changed) {
                (Some(model), _) => Some(model),
                // Only custom values changed: the row moves on like any change.
                (None, true) => {
                    let row = contact::ActiveModel {
                        version: Set(current.version + 1),
                        updated_at: Set(at),
                        ..Default::default()
                    };
                    let key = (contact::Column::Id, current.id);
                    let version = (contact::Column::Version, current.version);
                    Some(update_versioned::<contact::Entity>(&*w, row, key, version, "contact").await?)
                }
                (None, false) => None,
            };
            match updated {
                Some(model) => {
                    let change = Change::new(ChangeEntity::Contact, model.id, Operation::Updated, model.customer_id);
                    tally.updated(model, Some(change));
                }
                None => tally.unchanged(current.clone()),
            }
        } else {
            let _ = wanted;
            let model = created.remove(&external_id).ok_or_else(|| AppError::Internal("contact not created".into()))?;
            store_custom(&mut w, CustomFieldEntity::Contact, model.id, values).await?;
            let reference = reference(Kind::Contact, model.id, &source, &external_id);
            let change = Change::new(ChangeEntity::Contact, model.id, Operation::Created, model.customer_id);
            tally.created(model, Some(change), reference);
        }
    }
    tally.record(w, "contact", &source).await
}

/// Each contact row on its own, before anything is read: the contact as it
/// is to be stored, under its external id, for the rows that pass (their
/// customer still to place), `None` for the others (their failures noted).
fn check_contacts(checks: &mut Checks, records: &[ContactRecord]) -> Vec<Option<(String, contact::Model)>> {
    let mut valid = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let external_id = checks.key(i, &r.external_id);
        if r.customer_id.is_some() == r.customer_external_id.is_some() {
            checks.fail(i, "customer", "give exactly one of customerId and customerExternalId");
        }
        let name = checks.note(i, validate::required_text("name", &r.name, 200));
        let title = checks.note(i, validate::optional_text("title", r.title.clone(), 200));
        let department = checks.note(i, validate::optional_text("department", r.department.clone(), 200));
        let email = checks.note(i, validate::optional_email("email", r.email.clone()));
        let phone = checks.note(i, validate::optional_text("phone", r.phone.clone(), 50));
        valid.push(match (external_id, name, title, department, email, phone) {
            (Some(external_id), Some(name), Some(title), Some(department), Some(email), Some(phone)) => {
                Some(contact::Model {
                    id: 0,
                    customer_id: r.customer_id.unwrap_or(0),
                    name,
                    title,
                    department,
                    org_level: r.org_level,
                    influence: None,
                    relationship_strength: None,
                    birthday: None,
                    email,
                    phone: phone.map(|p| p.trim().to_owned()),
                    started_on: None,
                    ended_on: None,
                    version: 1,
                    archived_at: None,
                    created_at: now(),
                    updated_at: now(),
                    merged_into_id: None,
                })
                .map(|m| (external_id, m))
            }
            _ => None,
        });
    }
    valid
}

/// Puts each valid contact at its customer, named by our id or by the
/// source's; a customer not found (or archived) fails the row.
async fn place_contacts(
    db: &impl ConnectionTrait,
    checks: &mut Checks,
    source: &str,
    records: &[ContactRecord],
    valid: &mut [Option<(String, contact::Model)>],
) -> AppResult<()> {
    let by_external =
        resolve(db, Kind::Customer, source, records.iter().filter_map(|r| r.customer_external_id.clone())).await?;
    let named: Vec<i64> = records.iter().filter_map(|r| r.customer_id).collect();
    let live: HashSet<i64> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(named.into_iter().chain(by_external.values().copied())))
        .filter(customer::Column::ArchivedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    for (i, r) in records.iter().enumerate() {
        let customer =
            r.customer_id.or_else(|| r.customer_external_id.as_ref().and_then(|e| by_external.get(e).copied()));
        match customer.filter(|c| live.contains(c)) {
            Some(customer) => {
                if let Some((_, model)) = valid[i].as_mut() {
                    model.customer_id = customer;
                }
            }
            None if r.customer_id.is_some() || r.customer_external_id.is_some() => {
                checks.fail(i, "customer", "customer not found");
            }
            None => {}
        }
    }
    Ok(())
}

/// Brings a known contact up to its row. `None` when nothing differs:
/// pushing the same data twice records no change.
async fn update_contact(
    w: &mut Write,
    current: &contact::Model,
    wanted: contact::Model,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<Option<contact::Model>> {
    let same = current.customer_id == wanted.customer_id
        && current.name == wanted.name
        && current.title == wanted.title
        && current.department == wanted.department
        && current.org_level == wanted.org_level
        && current.email == wanted.email
        && current.phone == wanted.phone;
    if same {
        return Ok(None);
    }
    let mut row: contact::ActiveModel = current.clone().into();
    row.customer_id = Set(wanted.customer_id);
    row.name = Set(wanted.name);
    row.title = Set(wanted.title);
    row.department = Set(wanted.department);
    row.org_level = Set(wanted.org_level);
    row.email = Set(wanted.email);
    row.phone = Set(wanted.phone);
    row.version = Set(current.version + 1);
    row.updated_at = Set(at);
    let model = row.update(&**w).await?;
    w.audit("upsert", "contact", model.id, audit::diff(current, &model));
    Ok(Some(model))
}

/// Creates a contact; the audit entry names the source's id for it.
/// Inserts new contacts several per statement; returns them by external id.
async fn create_contacts(
    w: &mut Write,
    source: &str,
    fresh: Vec<(String, contact::Model)>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<HashMap<String, contact::Model>> {
    let mut created = HashMap::with_capacity(fresh.len());
    for chunk in fresh.chunks(500) {
        let rows = chunk.iter().map(|(_, wanted)| {
            let mut row = wanted.clone().into_active_model().reset_all();
            row.id = sea_orm::ActiveValue::NotSet;
            row.created_at = Set(at);
            row.updated_at = Set(at);
            row
        });
        let inserted = contact::Entity::insert_many(rows).exec_with_returning(&**w).await?;
        let models = inserted_in_order(
            inserted,
            chunk,
            |m| m.id,
            |m, (_, w)| m.name == w.name && m.customer_id == w.customer_id,
        )?;
        for ((external_id, _), model) in chunk.iter().zip(models) {
            let fields = json!({"source": source, "externalId": external_id, "customerId": model.customer_id});
            w.audit("create", "contact", model.id, fields);
            created.insert(external_id.clone(), model);
        }
    }
    Ok(created)
}

/// Rows one multi-row INSERT returned, in the order of its VALUES: ids are
/// taken in that order, whatever order RETURNING gives them back in. Each is
/// checked against the row it was made from (`same`), so an external id can
/// never be given to another row.
fn inserted_in_order<M, W>(
    mut models: Vec<M>,
    wanted: &[W],
    id: impl Fn(&M) -> i64,
    same: impl Fn(&M, &W) -> bool,
) -> AppResult<Vec<M>> {
    models.sort_by_key(|m| id(m));
    if models.len() != wanted.len() || models.iter().zip(wanted).any(|(m, w)| !same(m, w)) {
        return Err(AppError::Internal("inserted rows came back in another order".into()));
    }
    Ok(models)
}

/// A churn event as the source system sends it.
#[derive(Debug, Clone)]
pub struct ChurnRecord {
    pub external_id: String,
    /// The customer, by our id or by its external id in the same source.
    pub customer_id: Option<i64>,
    pub customer_external_id: Option<String>,
    pub kind: ChurnKind,
    pub occurred_on: chrono::NaiveDate,
    /// Required for a loss.
    pub reason: Option<entity::enums::ChurnReason>,
    pub competitor: Option<String>,
    pub notes: Option<String>,
}

/// Records losses and win-backs by their id in `source`, up to 1,000, all or
/// nothing: the history a CRM or ERP holds, loaded with its dates. Each
/// customer's events, old and new, must alternate (a loss first), in date
/// order, none in the future, no loss before the customer became one; a
/// known event may have its reason, competitor and notes corrected, never its
/// kind or date. Each customer's status follows its latest event, in the same
/// transaction (audited, in the change feed, announced to webhooks).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert_churn_events(
    svc: &Services,
    viewer: &Viewer,
    source: &str,
    records: Vec<ChurnRecord>,
) -> AppResult<Upserted<churn_event::Model>> {
    let (w, done) = upsert_churn_events_in(Write::begin(svc, viewer).await?, viewer, source, records).await?;
    w.commit(svc).await?;
    Ok(done)
}

/// [`upsert_churn_events`] inside a write that the caller commits.
pub async fn upsert_churn_events_in(
    w: Write,
    viewer: &Viewer,
    source: &str,
    records: Vec<ChurnRecord>,
) -> AppResult<(Write, Upserted<churn_event::Model>)> {
    let (source, mut checks) = Checks::start(viewer, source, "events", records.len())?;
    let today = now().date_naive();
    let keys = check_churn_records(&mut checks, &records);
    let mut w = w;
    let (by_external, customers) = lock_named_customers(&*w, &source, &records).await?;
    let customer_of = match_customers(&mut checks, &records, &by_external, &customers);
    let known = resolve(&*w, Kind::ChurnEvent, &source, keys.iter().flatten().cloned()).await?;
    let existing: HashMap<i64, churn_event::Model> = churn_event::Entity::find()
        .filter(churn_event::Column::Id.is_in(known.values().copied()))
        .all(&*w)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let mut history = stored_sequences(&*w, &customer_of).await?;
    place_events(&mut checks, &records, &keys, &customer_of, &known, &existing, &mut history);
    check_sequences(&mut checks, &mut history, &customers, today);
    checks.finish()?;

    let at = now();
    let mut tally = Tally::new(records.len());
    let mut touched = HashSet::new();
    for (i, r) in records.into_iter().enumerate() {
        let (Some(key), Some(customer_id)) = (keys[i].clone(), customer_of[i]) else { continue };
        let competitor = validate::optional_text("competitor", r.competitor, 200)?;
        let notes = validate::optional_text("notes", r.notes, 4000)?;
        let r = ChurnRecord { competitor, notes, ..r };
        if let Some(current) = stored(&known, &existing, &key) {
            match correct_event(&mut w, current, r, at).await? {
                Some(model) => tally.updated(model, None),
                None => tally.unchanged(current.clone()),
            }
            continue;
        }
        let model = create_event(&mut w, viewer, &source, &key, customer_id, r, at).await?;
        let reference = reference(Kind::ChurnEvent, model.id, &source, &key);
        touched.insert(customer_id);
        tally.created(model, None, reference);
    }
    let feed = follow_latest_events(&mut w, &source, &customers, touched, at).await?;
    tally.feed.extend(feed);
    let (mut w, done) = tally.record(w, "churn_event", &source).await?;
    w.after(Effect::Segments);
    Ok((w, done))
}

/// Each churn row on its own, before anything is read; returns the rows'
/// external ids (`None` where missing or too long).
fn check_churn_records(checks: &mut Checks, records: &[ChurnRecord]) -> Vec<Option<String>> {
    let mut keys = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        keys.push(checks.key(i, &r.external_id));
        if r.customer_id.is_some() == r.customer_external_id.is_some() {
            checks.fail(i, "customer", "give exactly one of customerId and customerExternalId");
        }
        match (r.kind, r.reason) {
            (ChurnKind::Lost, None) => checks.fail(i, "reason", "a loss needs its reason"),
            (ChurnKind::WonBack, Some(_)) => checks.fail(i, "reason", "a win-back has no reason"),
            _ => {}
        }
        checks.note(i, validate::optional_text("competitor", r.competitor.clone(), 200));
        checks.note(i, validate::optional_text("notes", r.notes.clone(), 4000));
    }
    keys
}

/// The customers the rows name, by our id or by the source's (returned too),
/// locked first: a concurrent loss or batch of the same customers waits
/// until this one commits, and then reads its events. Archived ones are left out.
async fn lock_named_customers(
    db: &impl ConnectionTrait,
    source: &str,
    records: &[ChurnRecord],
) -> AppResult<(HashMap<String, i64>, HashMap<i64, customer::Model>)> {
    let by_external =
        resolve(db, Kind::Customer, source, records.iter().filter_map(|r| r.customer_external_id.clone())).await?;
    let named: Vec<i64> = records.iter().filter_map(|r| r.customer_id).collect();
    // Before reading their events: a concurrent loss or batch of the same customers waits.
    let mut locked: Vec<i64> = named.iter().copied().chain(by_external.values().copied()).collect();
    locked.sort_unstable();
    locked.dedup();
    crate::service::rollups::lock_customers(db, &locked).await?;
    let customers: HashMap<i64, customer::Model> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(named.into_iter().chain(by_external.values().copied())))
        .filter(customer::Column::ArchivedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok((by_external, customers))
}

/// The customer of each row, by row; one not found (or archived) fails its row.
fn match_customers(
    checks: &mut Checks,
    records: &[ChurnRecord],
    by_external: &HashMap<String, i64>,
    customers: &HashMap<i64, customer::Model>,
) -> Vec<Option<i64>> {
    let mut customer_of = vec![None; records.len()];
    for (i, r) in records.iter().enumerate() {
        let customer =
            r.customer_id.or_else(|| r.customer_external_id.as_ref().and_then(|e| by_external.get(e).copied()));
        match customer.filter(|c| customers.contains_key(c)) {
            Some(c) => customer_of[i] = Some(c),
            None if r.customer_id.is_some() || r.customer_external_id.is_some() => {
                checks.fail(i, "customer", "customer not found");
            }
            None => {}
        }
    }
    customer_of
}

/// Every stored event of the customers concerned, by customer, to check each
/// one's sequence whole.
async fn stored_sequences(
    db: &impl ConnectionTrait,
    customer_of: &[Option<i64>],
) -> AppResult<HashMap<i64, Vec<(NaiveSeq, ChurnKind)>>> {
    use sea_orm::QueryOrder;

    let mut history: HashMap<i64, Vec<(NaiveSeq, ChurnKind)>> = HashMap::new();
    let involved: Vec<i64> = customer_of.iter().flatten().copied().collect();
    for chunk in involved.chunks(500) {
        let events = churn_event::Entity::find()
            .filter(churn_event::Column::CustomerId.is_in(chunk.iter().copied()))
            .order_by_asc(churn_event::Column::OccurredOn)
            .order_by_asc(churn_event::Column::Id)
            .all(db)
            .await?;
        for e in events {
            history.entry(e.customer_id).or_default().push(((e.occurred_on, None), e.kind));
        }
    }
    Ok(history)
}

/// Adds each new event to its customer's sequence; a known one must stay
/// where it is (same customer, kind and date), as only its details may change.
fn place_events(
    checks: &mut Checks,
    records: &[ChurnRecord],
    keys: &[Option<String>],
    customer_of: &[Option<i64>],
    known: &HashMap<String, i64>,
    existing: &HashMap<i64, churn_event::Model>,
    history: &mut HashMap<i64, Vec<(NaiveSeq, ChurnKind)>>,
) {
    for (i, r) in records.iter().enumerate() {
        let Some(key) = &keys[i] else { continue };
        match stored(known, existing, key) {
            Some(current) => {
                if Some(current.customer_id) != customer_of[i] && customer_of[i].is_some() {
                    checks.fail(i, "customer", "a known event cannot move to another customer");
                }
                if current.kind != r.kind || current.occurred_on != r.occurred_on {
                    checks.fail(i, "occurredOn", "a known event's kind and date cannot change");
                }
            }
            None => {
                if let Some(customer) = customer_of[i] {
                    history.entry(customer).or_default().push(((r.occurred_on, Some(i)), r.kind));
                }
            }
        }
    }
}

/// Checks each customer's sequence in date order (`churn::check_next`).
fn check_sequences(
    checks: &mut Checks,
    history: &mut HashMap<i64, Vec<(NaiveSeq, ChurnKind)>>,
    customers: &HashMap<i64, customer::Model>,
    today: chrono::NaiveDate,
) {
    for (customer, events) in history {
        events.sort_by_key(|((on, index), _)| (*on, index.map_or(0, |i| i + 1)));
        let since = customers.get(customer).and_then(|c| c.customer_since);
        // The whole sequence, stored events too: a new event may break the
        // one stored after it. A pair that fails is charged to its new event
        // (the later one when both are new); two stored events that disagree
        // already are not this batch's doing.
        let mut last = None;
        let mut previous_new = None;
        for ((on, index), kind) in events.iter() {
            if let Err(message) = crate::service::churn::check_next(last, since, *kind, *on, today)
                && let Some(i) = index.or(previous_new)
            {
                checks.fail(i, "occurredOn", message);
            }
            last = Some((*kind, *on));
            previous_new = *index;
        }
    }
}

/// Corrects a known event's reason, competitor and notes (never its kind or
/// date). `None` when nothing differs: pushing the same data twice records no change.
async fn correct_event(
    w: &mut Write,
    current: &churn_event::Model,
    r: ChurnRecord,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<Option<churn_event::Model>> {
    if current.reason == r.reason && current.competitor == r.competitor && current.notes == r.notes {
        return Ok(None);
    }
    let mut row: churn_event::ActiveModel = current.clone().into();
    row.reason = Set(r.reason);
    row.controllable = Set(r.reason.and_then(|reason| reason.controllability()));
    row.competitor = Set(r.competitor);
    row.notes = Set(r.notes);
    row.updated_at = Set(at);
    let model = row.update(&**w).await?;
    w.audit("upsert", "churn_event", model.id, audit::diff(current, &model));
    Ok(Some(model))
}

/// Records a new event, by the viewer; the audit entry names the source's id for it.
async fn create_event(
    w: &mut Write,
    viewer: &Viewer,
    source: &str,
    key: &str,
    customer_id: i64,
    r: ChurnRecord,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<churn_event::Model> {
    let model = churn_event::ActiveModel {
        customer_id: Set(customer_id),
        kind: Set(r.kind),
        occurred_on: Set(r.occurred_on),
        reason: Set(r.reason),
        controllable: Set(r.reason.and_then(|reason| reason.controllability())),
        competitor: Set(r.competitor),
        notes: Set(r.notes),
        recorded_by: Set(viewer.user_id),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&**w)
    .await?;
    let fields = json!({"source": source, "externalId": key, "customerId": customer_id,
        "kind": r.kind.as_str(), "occurredOn": r.occurred_on.to_string()});
    w.audit("create", "churn_event", model.id, fields);
    Ok(model)
}

/// Each customer's status follows its latest event: sets it where it does
/// not, and announces it to webhooks; returns the change-feed entries.
async fn follow_latest_events(
    w: &mut Write,
    source: &str,
    customers: &HashMap<i64, customer::Model>,
    touched: HashSet<i64>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<Change>> {
    let mut feed = Vec::new();
    let mut announced = Vec::new();
    let mut touched: Vec<i64> = touched.into_iter().collect();
    touched.sort_unstable();
    for customer_id in touched {
        let Some(current) = customers.get(&customer_id) else { continue };
        if let Some(event) = follow_latest_event(w, source, current, at).await? {
            announced.push(event);
            feed.push(Change::customer(customer_id, Operation::Updated, None));
        }
    }
    w.announce(announced);
    Ok(feed)
}

/// One customer's status set to follow its latest event, audited; the
/// webhook event that announces it, `None` when the status already follows.
async fn follow_latest_event(
    w: &mut Write,
    source: &str,
    current: &customer::Model,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<Option<crate::service::outbox::Event>> {
    use crate::service::outbox::{Event, EventType};

    let customer_id = current.id;
    let Some(event) = crate::service::churn::latest_event(&**w, customer_id).await? else { return Ok(None) };
    let status = if event.kind == ChurnKind::Lost { CustomerStatus::Lost } else { CustomerStatus::WonBack };
    if current.status == status {
        return Ok(None);
    }
    let row = customer::ActiveModel {
        status: Set(status),
        version: Set(current.version + 1),
        updated_at: Set(at),
        ..Default::default()
    };
    crate::service::update_versioned::<customer::Entity>(
        &**w,
        row,
        (customer::Column::Id, customer_id),
        (customer::Column::Version, current.version),
        "customer",
    )
    .await?;
    w.audit(
        "status_change",
        "customer",
        customer_id,
        json!({"status": [current.status.as_str(), status.as_str()], "source": source}),
    );
    Ok(Some(match status {
        CustomerStatus::Lost => Event::customer_status(
            EventType::CustomerLost,
            customer_id,
            json!({"reason": event.reason.map(|r| r.as_str()), "controllable": event.controllable}),
        ),
        _ => Event::customer_status(EventType::CustomerWonBack, customer_id, json!({})),
    }))
}

/// An event's date, and for a new one its index in the batch (which orders
/// events of the same day after the stored ones, in the order sent).
type NaiveSeq = (chrono::NaiveDate, Option<usize>);
