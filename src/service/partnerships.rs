//! Partnerships: the tier a customer relationship stands on, its terms, and the
//! history of tier changes.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    customer,
    enums::{LockIn, PartnershipTier},
    partnership, partnership_change,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set};

use crate::service::write::Write;
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        audit,
        changes::{Change, Operation},
        now, validate,
    },
};

#[derive(Debug, Clone)]
pub struct PartnershipTerms {
    pub tier: PartnershipTier,
    pub discount_bps: Option<i32>,
    pub credit_terms_days: Option<i32>,
    pub service_level: Option<String>,
    pub lock_ins: Vec<LockIn>,
    pub since: Option<NaiveDate>,
    pub review_on: Option<NaiveDate>,
    pub reason: Option<String>,
}

/// Tier changes of visible customers, newest first by id.
pub fn changes(viewer: &Viewer, customer_id: Option<i64>) -> Select<partnership_change::Entity> {
    let mut query = partnership_change::Entity::find()
        .filter(policy::visible_through(viewer, partnership_change::Column::CustomerId));
    if let Some(customer) = customer_id {
        query = query.filter(partnership_change::Column::CustomerId.eq(customer));
    }
    query
}

/// Encodes lock-ins for storage: sorted, unique, comma-separated.
pub fn encode_lock_ins(lock_ins: &[LockIn]) -> String {
    let mut names: Vec<&str> = lock_ins.iter().map(|l| l.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

/// Creates or replaces the customer's partnership; a tier change is recorded in
/// the history and mirrored on the customer, all in one transaction.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn set(
    svc: &crate::service::Services,
    viewer: &Viewer,
    customer_id: i64,
    expected_version: Option<i32>,
    terms: PartnershipTerms,
) -> AppResult<partnership::Model> {
    policy::ensure_can_write(viewer)?;
    let (service_level, reason) = check_terms(&terms)?;
    let mut w = Write::begin(svc, viewer).await?;
    let customer = policy::writable_customer(&*w, viewer, customer_id).await?;
    let existing = partnership::Entity::find().filter(partnership::Column::CustomerId.eq(customer_id)).one(&*w).await?;
    let at = now();
    let previous_tier = existing.as_ref().map(|p| p.tier);
    let (model, changes) = match existing {
        Some(current) => {
            let updated = replace_terms(&*w, &current, expected_version, &terms, service_level, at).await?;
            let changes = audit::diff(&current, &updated);
            (updated, changes)
        }
        None => {
            let created = create_partnership(&*w, customer_id, &terms, service_level, at).await?;
            let changes = audit::created(&created);
            (created, changes)
        }
    };
    if previous_tier != Some(terms.tier) {
        record_tier_change(&*w, viewer, customer, previous_tier, terms.tier, reason, at).await?;
    }
    w.audit("set_partnership", "partnership", model.id, changes);
    if previous_tier != Some(terms.tier) {
        w.changes([Change::customer(customer_id, Operation::Updated, None)]);
    }
    w.commit(svc).await?;
    Ok(model)
}

/// The checks that need no reading; returns the service level and the reason as stored.
fn check_terms(terms: &PartnershipTerms) -> AppResult<(Option<String>, Option<String>)> {
    if let Some(discount) = terms.discount_bps {
        validate::in_range("discountPercent", discount, 0, 10_000)?;
    }
    validate::optional_in_range("creditTermsDays", terms.credit_terms_days, 0, 365)?;
    let service_level = validate::optional_text("serviceLevel", terms.service_level.clone(), 200)?;
    let reason = validate::optional_text("reason", terms.reason.clone(), 2000)?;
    if terms.tier != PartnershipTier::Strategic && !terms.lock_ins.is_empty() {
        return Err(AppError::bad_input("lockIns", "lock-in mechanisms belong to a STRATEGIC partnership"));
    }
    Ok((service_level, reason))
}

/// Replaces the terms of an existing partnership; `since` moves only with the tier.
async fn replace_terms(
    db: &impl ConnectionTrait,
    current: &partnership::Model,
    expected_version: Option<i32>,
    terms: &PartnershipTerms,
    service_level: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<partnership::Model> {
    validate::version("partnership", expected_version, current.version)?;
    let mut row: partnership::ActiveModel = current.clone().into();
    row.tier = Set(terms.tier);
    row.discount_bps = Set(terms.discount_bps);
    row.credit_terms_days = Set(terms.credit_terms_days);
    row.service_level = Set(service_level);
    row.lock_ins = Set(encode_lock_ins(&terms.lock_ins));
    if current.tier != terms.tier {
        row.since = Set(terms.since.unwrap_or_else(|| at.date_naive()));
    }
    row.review_on = Set(terms.review_on);
    row.version = Set(current.version + 1);
    row.updated_at = Set(at);
    // The version check and the write are one statement: of two
    // concurrent writers with the same expectedVersion, one gets CONFLICT.
    crate::service::update_versioned::<partnership::Entity>(
        db,
        row,
        (partnership::Column::Id, current.id),
        (partnership::Column::Version, expected_version.unwrap_or(current.version)),
        "partnership",
    )
    .await
}

/// A customer's first partnership, standing from `since` (default: today).
async fn create_partnership(
    db: &impl ConnectionTrait,
    customer_id: i64,
    terms: &PartnershipTerms,
    service_level: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<partnership::Model> {
    Ok(partnership::ActiveModel {
        customer_id: Set(customer_id),
        tier: Set(terms.tier),
        discount_bps: Set(terms.discount_bps),
        credit_terms_days: Set(terms.credit_terms_days),
        service_level: Set(service_level),
        lock_ins: Set(encode_lock_ins(&terms.lock_ins)),
        since: Set(terms.since.unwrap_or_else(|| at.date_naive())),
        review_on: Set(terms.review_on),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Keeps the tier history, and the tier on the customer, which lists filter on.
async fn record_tier_change(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    customer: customer::Model,
    from_tier: Option<PartnershipTier>,
    to_tier: PartnershipTier,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    partnership_change::ActiveModel {
        customer_id: Set(customer.id),
        from_tier: Set(from_tier),
        to_tier: Set(to_tier),
        changed_by: Set(viewer.user_id),
        reason: Set(reason),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut row: customer::ActiveModel = customer.into();
    row.tier = Set(Some(to_tier));
    row.updated_at = Set(at);
    row.update(db).await?;
    Ok(())
}
