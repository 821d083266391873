//! Survey responses: satisfaction (0-10) from a customer's contacts.

use chrono::NaiveDate;
use entity::survey_response;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Select, Set};
use serde_json::json;

use crate::service::write::Write;
use crate::{
    error::AppResult,
    policy,
    policy::Viewer,
    service::{contacts, now, validate},
};

pub fn select(viewer: &Viewer, customer_id: Option<i64>) -> Select<survey_response::Entity> {
    let mut query =
        survey_response::Entity::find().filter(policy::visible_through(viewer, survey_response::Column::CustomerId));
    if let Some(customer) = customer_id {
        query = query.filter(survey_response::Column::CustomerId.eq(customer));
    }
    query
}

#[derive(Debug, Clone)]
pub struct NewSurveyResponse {
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub score: i32,
    pub comment: Option<String>,
    pub responded_on: Option<NaiveDate>,
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn record(
    svc: &crate::service::Services,
    viewer: &Viewer,
    input: NewSurveyResponse,
) -> AppResult<survey_response::Model> {
    policy::ensure_can_write(viewer)?;
    let score = validate::in_range("score", input.score, 0, 10)?;
    let comment = validate::optional_text("comment", input.comment, 4000)?;
    let mut w = Write::begin(svc, viewer).await?;
    policy::writable_customer(&*w, viewer, input.customer_id).await?;
    if let Some(contact_id) = input.contact_id {
        contacts::ensure_of_customer(&*w, input.customer_id, contact_id).await?;
    }
    let at = now();
    let model = survey_response::ActiveModel {
        customer_id: Set(input.customer_id),
        contact_id: Set(input.contact_id),
        score: Set(score),
        comment: Set(comment),
        responded_on: Set(input.responded_on.unwrap_or_else(|| at.date_naive())),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    w.audit("create", "survey_response", model.id, json!({"score": score}));
    w.commit(svc).await?;
    Ok(model)
}
