//! `customerAggregates`.

use async_graphql::{Context, Enum, Object, Result};

use entity::{custom_field, enums::CustomFieldType};

use crate::{
    analytics::aggregates::{self as report, Dimension},
    error::AppError,
    graphql::{
        custom_fields::CustomFieldValue,
        customers::CustomerFilterInput,
        loaders::load_error,
        support::{
            context::request,
            enums::{CustomerStatus, PartnershipTier, Segment},
            guards, ids,
            scalars::Money,
        },
        users::{Team, User},
    },
    policy::{self, SensitiveField},
    service::custom_fields,
};

/// A dimension to aggregate customers by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CustomerDimension {
    /// Life-cycle status.
    Status,
    /// Partnership tier.
    Tier,
    /// Computed segment (as of today).
    Segment,
    /// Sales region.
    Region,
    /// Industry.
    Industry,
    /// Account owner.
    Owner,
    /// The owner's team.
    Team,
    /// The group: the customer's top visible ancestor (by the hierarchy as it is now).
    Group,
}

/// One combination of dimension values (with the custom fields grouped by, in the order asked).
pub struct CustomerAggregate(report::Aggregate, std::sync::Arc<Vec<custom_field::Model>>);

/// Customers sharing one combination of the requested dimensions; dimensions not requested are null.
#[Object]
impl CustomerAggregate {
    /// Status, when grouped by STATUS.
    async fn status(&self) -> Option<CustomerStatus> {
        self.0.status.map(Into::into)
    }
    /// Tier, when grouped by TIER (null also for customers without one).
    async fn tier(&self) -> Option<PartnershipTier> {
        self.0.tier.map(Into::into)
    }
    /// Segment, when grouped by SEGMENT (null also for customers without one).
    async fn segment(&self) -> Option<Segment> {
        // Grouping by segment needs GROSS_PROFIT, so a value here is one the viewer may read.
        self.0.segment.map(Into::into)
    }
    /// Region, when grouped by REGION.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    /// Industry, when grouped by INDUSTRY.
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    /// The owner, when grouped by OWNER.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.owner_id else { return Ok(None) };
        let rc = request(ctx)?;
        Ok(rc.loaders.user_by_id().load_one(id).await.map_err(load_error)?.map(User::one))
    }
    /// The owner's team, when grouped by TEAM (null also for owners without one).
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(id) = self.0.team_id else { return Ok(None) };
        let rc = request(ctx)?;
        Ok(rc.loaders.team_by_id().load_one(id).await.map_err(load_error)?.map(Team::from))
    }
    /// The group's top customer, when grouped by GROUP.
    async fn group(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::customers::Customer>> {
        let Some(id) = self.0.group_id else { return Ok(None) };
        let rc = request(ctx)?;
        let found = rc.loaders.customer_by_id().load_one(id).await.map_err(load_error)?;
        Ok(found.map(crate::graphql::customers::Customer::one))
    }
    /// The value of each field of `customDimensions`, in the order asked (value null: no value).
    async fn custom(&self) -> Vec<CustomFieldValue> {
        // Grouping by a sensitive field needs SENSITIVE_CUSTOM_FIELDS, so every value here is one the viewer may read.
        self.1
            .iter()
            .zip(&self.0.custom)
            .map(|(field, value)| CustomFieldValue {
                key: field.key.clone(),
                label: field.label.clone(),
                field_type: field.field_type.into(),
                value: match value {
                    report::CustomValue::Text(text) => text.clone().map(|t| async_graphql::Json(t.into())),
                    report::CustomValue::Flag(flag) => flag.map(|f| async_graphql::Json(f.into())),
                },
            })
            .collect()
    }
    /// Owner's global ID, when grouped by OWNER (to group without loading the user).
    async fn owner_id(&self) -> Option<async_graphql::ID> {
        self.0.owner_id.map(|id| ids::encode("User", id))
    }
    /// Customers in the combination.
    async fn customers(&self) -> i64 {
        self.0.customers
    }
    /// Their revenue over the last 12 complete months (current as soon as a revenue push commits); null when you
    /// may not read REVENUE.
    async fn revenue(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let revenue = Money(self.0.revenue_cents);
        Ok(request(ctx)?.sensitive(SensitiveField::Revenue, "CustomerAggregate.revenue", revenue))
    }
    /// Their gross profit over the last 12 complete months (current as soon as a revenue push commits); null
    /// when you may not read GROSS_PROFIT.
    async fn gross_profit(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let profit = Money(self.0.gross_profit_cents);
        Ok(request(ctx)?.sensitive(SensitiveField::GrossProfit, "CustomerAggregate.grossProfit", profit))
    }
}

#[derive(Default)]
pub struct AggregateQuery;

#[Object]
impl AggregateQuery {
    /// Counts and trailing-12-month revenue and gross profit of your customers matching `filter`, per
    /// combination of `groupBy` (at most 1,000 combinations, the largest first).
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn customer_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customers to count, as for the customer list.")] filter: Option<CustomerFilterInput>,
        #[graphql(desc = "The dimensions, each at most once; none gives one total.")] group_by: Vec<CustomerDimension>,
        #[graphql(desc = "Custom ENUM or BOOLEAN customer fields to group by as well, by key, each at most once.")]
        custom_dimensions: Option<Vec<String>>,
    ) -> Result<Vec<CustomerAggregate>> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        let filter = filter.unwrap_or_default().into_domain(&rc.db, &viewer).await?;
        if group_by.contains(&CustomerDimension::Segment) {
            policy::ensure_may_use(&viewer, SensitiveField::GrossProfit, "groupBy")?;
        }
        let dimensions: Vec<Dimension> = group_by
            .into_iter()
            .map(|d| match d {
                CustomerDimension::Status => Dimension::Status,
                CustomerDimension::Tier => Dimension::Tier,
                CustomerDimension::Segment => Dimension::Segment,
                CustomerDimension::Region => Dimension::Region,
                CustomerDimension::Industry => Dimension::Industry,
                CustomerDimension::Owner => Dimension::Owner,
                CustomerDimension::Team => Dimension::Team,
                CustomerDimension::Group => Dimension::Group,
            })
            .collect();
        let keys = custom_dimensions.unwrap_or_default();
        let mut dimensions = dimensions;
        let mut custom = Vec::with_capacity(keys.len());
        if !keys.is_empty() {
            let fields =
                custom_fields::definitions(&rc.db, Some(entity::enums::CustomFieldEntity::Customer), false).await?;
            for key in &keys {
                let bad = |message: String| AppError::bad_input("customDimensions", message);
                let field =
                    fields.iter().find(|f| &f.key == key).ok_or_else(|| bad(format!("no customer field {key:?}")))?;
                let boolean = match field.field_type {
                    CustomFieldType::Boolean => true,
                    CustomFieldType::Enum => false,
                    _ => return Err(bad(format!("{key} is not an ENUM or BOOLEAN field")).into()),
                };
                custom_fields::ensure_readable(&viewer, field, "customDimensions")?;
                if custom.iter().any(|f: &custom_field::Model| f.id == field.id) {
                    return Err(bad(format!("{key} is given twice")).into());
                }
                dimensions.push(Dimension::Custom(report::CustomDimension { field_id: field.id, boolean }));
                custom.push(field.clone());
            }
        }
        let customers = crate::service::customers::select(&viewer, &filter);
        let rows = report::aggregates(&rc.db, &viewer, customers, &dimensions).await?;
        let custom = std::sync::Arc::new(custom);
        Ok(rows.into_iter().map(|row| CustomerAggregate(row, custom.clone())).collect())
    }
}
