//! Partnerships in the API.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{enums as domain, partnership, partnership_change};

use crate::{
    error::AppError,
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        support::context::request,
        support::enums::{LockIn, PartnershipTier},
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::scalars::Date,
    },
    policy::SensitiveField,
    service::partnerships::{self as service, PartnershipTerms},
};

/// The relationship tier of a customer and its terms.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Partnership {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// Tier.
    pub tier: PartnershipTier,
    #[graphql(skip)]
    pub discount_percent: Option<f64>,
    #[graphql(skip)]
    pub credit_terms_days: Option<i32>,
    /// Agreed service level.
    pub service_level: Option<String>,
    /// Lock-in mechanisms (STRATEGIC only).
    pub lock_ins: Vec<LockIn>,
    /// On this tier since.
    pub since: Date,
    /// Next review of the terms.
    pub review_on: Option<Date>,
    /// Optimistic-locking version.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<partnership::Model> for Partnership {
    fn from(m: partnership::Model) -> Self {
        let lock_ins = m
            .lock_ins
            .split(',')
            .filter_map(|name| {
                use sea_orm::ActiveEnum;
                domain::LockIn::try_from_value(&name.to_owned()).ok().map(LockIn::from)
            })
            .collect();
        Self {
            id: ids::encode("Partnership", m.id),
            tier: m.tier.into(),
            discount_percent: m.discount_bps.map(|bps| f64::from(bps) / 100.0),
            credit_terms_days: m.credit_terms_days,
            service_level: m.service_level,
            lock_ins,
            since: m.since.into(),
            review_on: m.review_on.map(Into::into),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[async_graphql::ComplexObject]
impl Partnership {
    /// Discount in percent (two decimals); null when none is agreed, or you may not read DISCOUNT.
    async fn discount_percent(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let discount = self.discount_percent;
        Ok(request(ctx)?.sensitive(SensitiveField::Discount, "Partnership.discountPercent", discount).flatten())
    }
    /// Payment terms in days; null when none are agreed, or you may not read CREDIT_TERMS.
    async fn credit_terms_days(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        let days = self.credit_terms_days;
        Ok(request(ctx)?.sensitive(SensitiveField::CreditTerms, "Partnership.creditTermsDays", days).flatten())
    }
}

/// A change of partnership tier.
#[derive(SimpleObject)]
pub struct PartnershipChange {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// The customer.
    pub customer_id: ID,
    /// Previous tier (none for the first partnership).
    pub from_tier: Option<PartnershipTier>,
    /// New tier.
    pub to_tier: PartnershipTier,
    /// Who changed it.
    pub changed_by_id: ID,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<partnership_change::Model> for PartnershipChange {
    fn from(m: partnership_change::Model) -> Self {
        Self {
            id: ids::encode("PartnershipChange", m.id),
            customer_id: ids::encode("Customer", m.customer_id),
            from_tier: m.from_tier.map(Into::into),
            to_tier: m.to_tier.into(),
            changed_by_id: ids::encode("User", m.changed_by),
            reason: m.reason,
            created_at: m.created_at,
        }
    }
}

order_by!(
    /// Sort order of the list.
    PartnershipChangeOrder, PartnershipChangeOrderField, partnership_change::Column,
    default(CreatedAt, Desc),
    {
        /// By when the tier changed.
        CreatedAt => partnership_change::Column::Id;
    }
);

#[derive(Default)]
pub struct PartnershipQuery;

#[Object]
impl PartnershipQuery {
    /// Tier changes of the customers you can see, newest first.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn partnership_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sort order (default: newest first).")] order_by: Option<PartnershipChangeOrder>,
        #[graphql(desc = "The customer.")] customer_id: Option<ID>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<PartnershipChange>> {
        let rc = request(ctx)?;
        let customer_id = ids::decode_opt("Customer", "customerId", customer_id.as_ref())?;
        let select = service::changes(&rc.viewer(), customer_id);
        let sort = order_by.unwrap_or_default().sort(partnership_change::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<partnership_change::Model>| rows.into_iter().map(Into::into).collect();
        Ok(connection(ctx, &rc.db, select, sort, args, |c| c.id, wrap).await?)
    }
}

/// Tier and terms of a partnership.
#[derive(InputObject)]
pub struct PartnershipInput {
    /// Tier.
    pub tier: PartnershipTier,
    /// Discount in percent, 0 to 100, at most two decimals.
    pub discount_percent: Option<f64>,
    /// Payment terms in days, 0 to 365.
    pub credit_terms_days: Option<i32>,
    /// Agreed service level.
    pub service_level: Option<String>,
    /// Lock-in mechanisms (STRATEGIC only).
    #[graphql(default)]
    pub lock_ins: Vec<LockIn>,
    /// On this tier since (default today, when the tier changes).
    pub since: Option<Date>,
    /// Next review.
    pub review_on: Option<Date>,
    /// Why the tier changed, kept in the history.
    pub reason: Option<String>,
}

fn basis_points(percent: f64) -> Result<i32, AppError> {
    let bps = percent * 100.0;
    if !bps.is_finite() || (bps - bps.round()).abs() > 1e-6 || !(0.0..=10_000.0).contains(&bps) {
        return Err(AppError::bad_input(
            "discountPercent",
            "discountPercent must be 0 to 100 with at most two decimals",
        ));
    }
    Ok(bps.round() as i32)
}

#[derive(Default)]
pub struct PartnershipMutation;

#[Object]
impl PartnershipMutation {
    /// Sets a customer's partnership; a tier change is recorded in the history.
    async fn set_partnership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] customer_id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "What to record.")] input: PartnershipInput,
    ) -> Result<Partnership> {
        let rc = request(ctx)?;
        let customer_id = ids::decode("Customer", "customerId", &customer_id)?;
        let terms = PartnershipTerms {
            tier: input.tier.into(),
            discount_bps: input.discount_percent.map(basis_points).transpose()?,
            credit_terms_days: input.credit_terms_days,
            service_level: input.service_level,
            lock_ins: input.lock_ins.into_iter().map(Into::into).collect(),
            since: input.since.map(Into::into),
            review_on: input.review_on.map(Into::into),
            reason: input.reason,
        };
        Ok(service::set(&rc.services, &rc.viewer(), customer_id, expected_version, terms).await?.into())
    }
}
