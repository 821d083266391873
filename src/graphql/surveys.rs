//! Survey responses in the API.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::survey_response;

use crate::{
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::scalars::Date,
    },
    service::surveys::{self as service, NewSurveyResponse},
};

/// A satisfaction score given by a customer's contact.
#[derive(SimpleObject)]
pub struct SurveyResponse {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// The customer.
    pub customer_id: ID,
    /// The contact who answered.
    pub contact_id: Option<ID>,
    /// 0 (very unhappy) to 10 (delighted).
    pub score: i32,
    /// Free comment.
    pub comment: Option<String>,
    /// When they answered.
    pub responded_on: Date,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl From<survey_response::Model> for SurveyResponse {
    fn from(m: survey_response::Model) -> Self {
        Self {
            id: ids::encode("SurveyResponse", m.id),
            customer_id: ids::encode("Customer", m.customer_id),
            contact_id: m.contact_id.map(|c| ids::encode("Contact", c)),
            score: m.score,
            comment: m.comment,
            responded_on: m.responded_on.into(),
            created_at: m.created_at,
        }
    }
}

order_by!(
    /// Sort order of the list.
    SurveyResponseOrder, SurveyResponseOrderField, survey_response::Column,
    default(RespondedOn, Desc),
    {
        /// By the day of the response.
        RespondedOn => survey_response::Column::RespondedOn;
    }
);

#[derive(Default)]
pub struct SurveyQuery;

#[Object]
impl SurveyQuery {
    /// Survey responses of the customers you can see, newest first.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn survey_responses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sort order (default: newest first).")] order_by: Option<SurveyResponseOrder>,
        #[graphql(desc = "The customer.")] customer_id: Option<ID>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<SurveyResponse>> {
        let rc = request(ctx)?;
        let customer_id = ids::decode_opt("Customer", "customerId", customer_id.as_ref())?;
        let sort = order_by.unwrap_or_default().sort(survey_response::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<survey_response::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), customer_id), sort, args, |s| s.id, wrap).await?)
    }
}

/// A survey answer to record.
#[derive(InputObject)]
pub struct SurveyResponseInput {
    /// The customer.
    pub customer_id: ID,
    /// The contact who answered (of that customer).
    pub contact_id: Option<ID>,
    /// 0 to 10.
    pub score: i32,
    /// Free comment.
    pub comment: Option<String>,
    /// When they answered (default today).
    pub responded_on: Option<Date>,
}

#[derive(Default)]
pub struct SurveyMutation;

#[Object]
impl SurveyMutation {
    /// Records a satisfaction score.
    async fn record_survey_response(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to record.")] input: SurveyResponseInput,
    ) -> Result<SurveyResponse> {
        let rc = request(ctx)?;
        let new = NewSurveyResponse {
            customer_id: ids::decode("Customer", "customerId", &input.customer_id)?,
            contact_id: ids::decode_opt("Contact", "contactId", input.contact_id.as_ref())?,
            score: input.score,
            comment: input.comment,
            responded_on: input.responded_on.map(Into::into),
        };
        Ok(service::record(&rc.services, &rc.viewer(), new).await?.into())
    }
}
