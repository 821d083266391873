//! Customer links in the API.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::customer_link;

use crate::{
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::enums::{CustomerLinkKind, to_domain},
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
    },
    service::links as service,
};

/// A typed edge between two customers you can both see.
#[derive(SimpleObject)]
pub struct CustomerLink {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// Where the edge starts.
    pub from_customer_id: ID,
    /// Where it ends.
    pub to_customer_id: ID,
    /// What it means.
    pub kind: CustomerLinkKind,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was archived.
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<customer_link::Model> for CustomerLink {
    fn from(m: customer_link::Model) -> Self {
        Self {
            id: ids::encode("CustomerLink", m.id),
            from_customer_id: ids::encode("Customer", m.from_customer_id),
            to_customer_id: ids::encode("Customer", m.to_customer_id),
            kind: m.kind.into(),
            created_at: m.created_at,
            archived_at: m.archived_at,
        }
    }
}

order_by!(
    /// Sort order of the list.
    CustomerLinkOrder, CustomerLinkOrderField, customer_link::Column,
    default(CreatedAt, Asc),
    {
        /// By creation (the order links were made).
        CreatedAt => customer_link::Column::Id;
    }
);

#[derive(Default)]
pub struct LinkQuery;

#[Object]
impl LinkQuery {
    /// Links between customers you can see, touching `customerId` if given.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn customer_links(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sort order (default: oldest first).")] order_by: Option<CustomerLinkOrder>,
        #[graphql(desc = "The customer.")] customer_id: Option<ID>,
        #[graphql(desc = "Only links of these kinds.")] kinds: Option<Vec<CustomerLinkKind>>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<CustomerLink>> {
        let rc = request(ctx)?;
        let customer_id = ids::decode_opt("Customer", "customerId", customer_id.as_ref())?;
        let select = service::select(&rc.viewer(), customer_id, &to_domain(kinds));
        let sort = order_by.unwrap_or_default().sort(customer_link::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<customer_link::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, select, sort, args, |l| l.id, wrap).await?)
    }
}

#[derive(Default)]
pub struct LinkMutation;

#[Object]
impl LinkMutation {
    /// Links two customers (both must be visible; you must be able to edit `from`).
    async fn link_customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer the link starts from.")] from_customer_id: ID,
        #[graphql(desc = "The customer the link points to.")] to_customer_id: ID,
        #[graphql(desc = "What kind of link.")] kind: CustomerLinkKind,
    ) -> Result<CustomerLink> {
        let rc = request(ctx)?;
        let from = ids::decode("Customer", "fromCustomerId", &from_customer_id)?;
        let to = ids::decode("Customer", "toCustomerId", &to_customer_id)?;
        Ok(service::link(&rc.services, &rc.viewer(), from, to, kind.into()).await?.into())
    }

    /// Archives a link.
    async fn archive_customer_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] id: ID,
    ) -> Result<CustomerLink> {
        let rc = request(ctx)?;
        let id = ids::decode("CustomerLink", "id", &id)?;
        Ok(service::archive(&rc.services, &rc.viewer(), id).await?.into())
    }
}
