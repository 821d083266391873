//! Customer links: groups, distributors and the end customers they serve, referrals.

use entity::{customer_link, enums::CustomerLinkKind};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, Select, Set};
use serde_json::json;

use crate::service::write::Write;
use crate::{
    error::{AppError, AppResult},
    policy,
    policy::Viewer,
    service::{
        changes::{Change, Operation},
        now,
    },
};

/// Links whose both ends the viewer can see: an edge never reveals a hidden customer.
pub fn select(viewer: &Viewer, customer_id: Option<i64>, kinds: &[CustomerLinkKind]) -> Select<customer_link::Entity> {
    let mut query = customer_link::Entity::find().filter(policy::visible_links(viewer));
    if let Some(customer) = customer_id {
        query = query.filter(
            Condition::any()
                .add(customer_link::Column::FromCustomerId.eq(customer))
                .add(customer_link::Column::ToCustomerId.eq(customer)),
        );
    }
    if !kinds.is_empty() {
        query = query.filter(customer_link::Column::Kind.is_in(kinds.iter().copied()));
    }
    query
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn link(
    svc: &crate::service::Services,
    viewer: &Viewer,
    from: i64,
    to: i64,
    kind: CustomerLinkKind,
) -> AppResult<customer_link::Model> {
    policy::ensure_can_write(viewer)?;
    if from == to {
        return Err(AppError::bad_input("toCustomerId", "a customer cannot be linked to itself"));
    }
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, from).await?;
    policy::visible_customer(&*w, viewer, to).await?;
    let existing = customer_link::Entity::find()
        .filter(customer_link::Column::FromCustomerId.eq(from))
        .filter(customer_link::Column::ToCustomerId.eq(to))
        .filter(customer_link::Column::Kind.eq(kind))
        .one(&*w)
        .await?;
    let at = now();
    let model = match existing {
        Some(link) if link.archived_at.is_none() => {
            return Err(AppError::conflict("these customers are already linked this way"));
        }
        Some(link) => {
            let mut row: customer_link::ActiveModel = link.into();
            row.archived_at = Set(None);
            row.updated_at = Set(at);
            row.update(&*w).await?
        }
        None => {
            customer_link::ActiveModel {
                from_customer_id: Set(from),
                to_customer_id: Set(to),
                kind: Set(kind),
                archived_at: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            }
            .insert(&*w)
            .await?
        }
    };
    w.audit("create", "customer_link", model.id, json!({"from": from, "to": to}));
    w.changes([Change::link(model.id, Operation::Created, from, to)]);
    w.commit(svc).await?;
    Ok(model)
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id, id))]
pub async fn archive(svc: &crate::service::Services, viewer: &Viewer, id: i64) -> AppResult<customer_link::Model> {
    policy::ensure_can_write(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let link = select(viewer, None, &[])
        .filter(customer_link::Column::Id.eq(id))
        .one(&*w)
        .await?
        .ok_or(AppError::NotFound("customer link"))?;
    let mut row: customer_link::ActiveModel = link.into();
    let at = now();
    row.archived_at = Set(Some(at));
    row.updated_at = Set(at);
    let model = row.update(&*w).await?;
    w.audit("archive", "customer_link", id, json!({}));
    w.changes([Change::link(id, Operation::Archived, model.from_customer_id, model.to_customer_id)]);
    w.commit(svc).await?;
    Ok(model)
}
