//! Supply priorities: in peak season scarce stock goes to key accounts first.

use chrono::NaiveDate;
use entity::supply_priority;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Select, Set};

use crate::service::write::Write;
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{audit, now, validate},
};

#[derive(Debug, Default, Clone)]
pub struct SupplyFilter {
    pub customer_id: Option<i64>,
    pub product_line: Option<String>,
    pub include_archived: bool,
}

pub fn select(viewer: &Viewer, filter: &SupplyFilter) -> Select<supply_priority::Entity> {
    let mut query =
        supply_priority::Entity::find().filter(policy::visible_through(viewer, supply_priority::Column::CustomerId));
    if !filter.include_archived {
        query = query.filter(supply_priority::Column::ArchivedAt.is_null());
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(supply_priority::Column::CustomerId.eq(customer));
    }
    if let Some(line) = &filter.product_line {
        query = query.filter(supply_priority::Column::ProductLine.eq(line.as_str()));
    }
    query
}

#[derive(Debug, Clone)]
pub struct SupplyTerms {
    pub customer_id: i64,
    pub product_line: String,
    pub priority_rank: i32,
    pub guaranteed_quantity: i64,
    pub lead_time_days: Option<i32>,
    pub peak_starts_on: Option<NaiveDate>,
    pub peak_ends_on: Option<NaiveDate>,
}

/// Creates or replaces the priority of a customer for a product line (one per pair).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn upsert(
    svc: &crate::service::Services,
    viewer: &Viewer,
    terms: SupplyTerms,
) -> AppResult<supply_priority::Model> {
    policy::ensure_can_write(viewer)?;
    let product_line = validate::required_text("productLine", &terms.product_line, 100)?;
    validate::in_range("priorityRank", terms.priority_rank, 1, 10_000)?;
    if terms.guaranteed_quantity < 0 {
        return Err(AppError::bad_input("guaranteedQuantity", "guaranteedQuantity must not be negative"));
    }
    validate::optional_in_range("leadTimeDays", terms.lead_time_days, 0, 3650)?;
    if let (Some(start), Some(end)) = (terms.peak_starts_on, terms.peak_ends_on)
        && end < start
    {
        return Err(AppError::bad_input("peakEndsOn", "the peak season ends before it starts"));
    }
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, terms.customer_id).await?;
    let existing = supply_priority::Entity::find()
        .filter(supply_priority::Column::CustomerId.eq(terms.customer_id))
        .filter(supply_priority::Column::ProductLine.eq(product_line.as_str()))
        .one(&*w)
        .await?;
    let at = now();
    let mut row = match &existing {
        Some(current) => {
            let mut row: supply_priority::ActiveModel = current.clone().into();
            row.version = Set(current.version + 1);
            row
        }
        None => supply_priority::ActiveModel {
            customer_id: Set(terms.customer_id),
            product_line: Set(product_line),
            version: Set(1),
            created_at: Set(at),
            ..Default::default()
        },
    };
    row.priority_rank = Set(terms.priority_rank);
    row.guaranteed_quantity = Set(terms.guaranteed_quantity);
    row.lead_time_days = Set(terms.lead_time_days);
    row.peak_starts_on = Set(terms.peak_starts_on);
    row.peak_ends_on = Set(terms.peak_ends_on);
    row.archived_at = Set(None);
    row.updated_at = Set(at);
    let (model, changes) = match &existing {
        Some(current) => {
            let updated = crate::service::update_versioned::<supply_priority::Entity>(
                &*w,
                row,
                (supply_priority::Column::Id, current.id),
                (supply_priority::Column::Version, current.version),
                "supply priority",
            )
            .await?;
            let changes = audit::diff(current, &updated);
            (updated, changes)
        }
        None => {
            let created = row.insert(&*w).await?;
            let changes = audit::created(&created);
            (created, changes)
        }
    };
    w.audit("upsert", "supply_priority", model.id, changes);
    w.commit(svc).await?;
    Ok(model)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn archive(svc: &crate::service::Services, viewer: &Viewer, id: i64) -> AppResult<supply_priority::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let columns = (supply_priority::Column::Id, supply_priority::Column::CustomerId);
    let current = policy::writable::<supply_priority::Entity>(&*w, viewer, columns, id, "supply priority").await?;
    let mut row: supply_priority::ActiveModel = current.clone().into();
    let at = now();
    row.archived_at = Set(Some(current.archived_at.unwrap_or(at)));
    row.updated_at = Set(at);
    row.version = Set(current.version + 1);
    let model = row.update(&*w).await?;
    w.audit("archive", "supply_priority", id, audit::diff(&current, &model));
    w.commit(svc).await?;
    Ok(model)
}
