//! Customer aggregates for dashboards: counts and trailing-12-month revenue
//! and gross profit (of the last 12 complete months, from the `revenue_t12`
//! rollup: current as soon as a push commits) of the viewer's customers, per
//! combination of the chosen dimensions, under the same filter as the
//! customer list.

use entity::{
    customer,
    enums::{CustomerStatus, PartnershipTier, Segment},
    user,
};
use sea_orm::{
    ActiveEnum, ConnectionTrait, EntityTrait, JoinType, QueryOrder, QuerySelect, QueryTrait, RelationDef,
    sea_query::Expr,
};

use crate::db::rows::{int, text};
use crate::{
    error::{AppError, AppResult},
    policy::Viewer,
};

/// Most combinations one call returns (the largest first).
pub const MAX_GROUPS: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Status,
    Tier,
    Segment,
    Region,
    Industry,
    Owner,
    Team,
    /// The top visible ancestor (`crate::analytics::groups`).
    Group,
    /// A custom ENUM or BOOLEAN field's value (by field id).
    Custom(CustomDimension),
}

/// A custom field to group by: ENUM values are text, BOOLEAN values 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomDimension {
    pub field_id: i64,
    pub boolean: bool,
}

impl Dimension {
    fn alias(self) -> String {
        if let Self::Custom(custom) = self {
            return format!("d_custom_{}", custom.field_id);
        }
        match self {
            Self::Status => "d_status",
            Self::Tier => "d_tier",
            Self::Segment => "d_segment",
            Self::Region => "d_region",
            Self::Industry => "d_industry",
            Self::Owner => "d_owner",
            Self::Team => "d_team",
            Self::Group => "d_group",
            Self::Custom(_) => unreachable!("named above"),
        }
        .to_owned()
    }
}

/// A custom dimension's value in a combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomValue {
    Text(Option<String>),
    Flag(Option<bool>),
}

/// One combination of dimension values and its figures; a dimension not asked
/// for is `None`, as is an unset value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregate {
    pub status: Option<CustomerStatus>,
    pub tier: Option<PartnershipTier>,
    pub segment: Option<Segment>,
    pub region: Option<String>,
    pub industry: Option<String>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub group_id: Option<i64>,
    /// Per custom dimension, in the order asked: the ENUM text or the BOOLEAN (None: no value).
    pub custom: Vec<CustomValue>,
    pub customers: i64,
    pub revenue_cents: i64,
    pub gross_profit_cents: i64,
}

fn owner_join() -> RelationDef {
    customer::Entity::belongs_to(user::Entity).from(customer::Column::OwnerId).to(user::Column::Id).into()
}

/// The aggregates of `customers` (the viewer's customers matching the list's
/// filter, as `crate::service::customers::select` makes them), by `dimensions`.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn aggregates(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    customers: sea_orm::Select<customer::Entity>,
    dimensions: &[Dimension],
) -> AppResult<Vec<Aggregate>> {
    let dims = dimensions.to_vec();
    let distinct: std::collections::HashSet<_> = dims.iter().collect();
    if distinct.len() != dims.len() {
        return Err(AppError::bad_input("groupBy", "each dimension at most once"));
    }
    let mut query = customers
        .select_only()
        .expr_as(Expr::cust("COUNT(*)"), "customers")
        .expr_as(Expr::cust("CAST(COALESCE(SUM(r12.revenue_cents), 0) AS BIGINT)"), "revenue")
        .expr_as(Expr::cust("CAST(COALESCE(SUM(r12.gross_profit_cents), 0) AS BIGINT)"), "gross_profit");
    // The figures come from the rollup the writes keep in their own transaction, not from the
    // customer's stored copy, which the segment recompute refreshes a moment after a push.
    let last_complete = crate::rules::last_12_complete_months(crate::db::now().date_naive()).last;
    let dialect = crate::db::Dialect::of(db);
    QueryTrait::query(&mut query).join_as(
        JoinType::LeftJoin,
        sea_orm::sea_query::Alias::new("revenue_t12"),
        sea_orm::sea_query::Alias::new("r12"),
        Expr::cust(format!("r12.customer_id = customer.id AND r12.month = {}", dialect.date(last_complete))),
    );
    if dims.contains(&Dimension::Team) {
        query = query.join(JoinType::InnerJoin, owner_join());
    }
    for dim in &dims {
        let column = match dim {
            Dimension::Status => Expr::col((customer::Entity, customer::Column::Status)),
            Dimension::Tier => Expr::col((customer::Entity, customer::Column::Tier)),
            Dimension::Segment => Expr::col((customer::Entity, customer::Column::Segment)),
            Dimension::Region => Expr::col((customer::Entity, customer::Column::Region)),
            Dimension::Industry => Expr::col((customer::Entity, customer::Column::Industry)),
            Dimension::Owner => Expr::col((customer::Entity, customer::Column::OwnerId)),
            Dimension::Team => Expr::col((user::Entity, user::Column::TeamId)),
            Dimension::Group => Expr::cust("grp.top"),
            Dimension::Custom(custom) => {
                let alias = format!("cv{}", custom.field_id);
                QueryTrait::query(&mut query).join_as(
                    JoinType::LeftJoin,
                    sea_orm::sea_query::Alias::new("custom_value"),
                    sea_orm::sea_query::Alias::new(alias.as_str()),
                    Expr::cust(format!("{alias}.field_id = {} AND {alias}.row_id = customer.id", custom.field_id)),
                );
                let column = if custom.boolean { "int_value" } else { "text_value" };
                Expr::cust(format!("{alias}.{column}"))
            }
        };
        query = query.expr_as(column.clone(), dim.alias()).group_by(column);
    }
    let grouped = dims.contains(&Dimension::Group);
    if grouped {
        QueryTrait::query(&mut query).join(
            JoinType::LeftJoin,
            sea_orm::sea_query::Alias::new("grp"),
            Expr::cust("grp.start = customer.id"),
        );
    }
    let statement = query.order_by_desc(Expr::cust("COUNT(*)")).limit(MAX_GROUPS).into_query();
    let mut statement = db.get_database_backend().build(&statement);
    if grouped {
        // Every visible customer's top visible ancestor, as the CTE the join reads.
        let ctes = crate::analytics::groups::top_ancestor_ctes(dialect, viewer, "grp", "1 = 1");
        statement.sql = format!("WITH RECURSIVE {ctes} {}", statement.sql);
    }
    let rows = db.query_all_raw(statement).await?;
    let mut result = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut aggregate = Aggregate {
            customers: int(row, "customers")?,
            revenue_cents: int(row, "revenue")?,
            gross_profit_cents: int(row, "gross_profit")?,
            ..Default::default()
        };
        for dim in &dims {
            let alias = dim.alias();
            let alias = alias.as_str();
            match dim {
                Dimension::Status => {
                    aggregate.status = text(row, alias)?.and_then(|v| CustomerStatus::try_from_value(&v).ok());
                }
                Dimension::Tier => {
                    aggregate.tier = text(row, alias)?.and_then(|v| PartnershipTier::try_from_value(&v).ok());
                }
                Dimension::Segment => {
                    aggregate.segment = text(row, alias)?.and_then(|v| Segment::try_from_value(&v).ok());
                }
                Dimension::Region => aggregate.region = text(row, alias)?,
                Dimension::Industry => aggregate.industry = text(row, alias)?,
                Dimension::Owner => aggregate.owner_id = row.try_get::<Option<i64>>("", alias)?,
                Dimension::Team => aggregate.team_id = row.try_get::<Option<i64>>("", alias)?,
                Dimension::Group => aggregate.group_id = crate::db::rows::opt_int(row, alias)?,
                Dimension::Custom(custom) if custom.boolean => {
                    let flag = crate::db::rows::opt_int(row, alias)?.map(|v| v != 0);
                    aggregate.custom.push(CustomValue::Flag(flag));
                }
                Dimension::Custom(_) => aggregate.custom.push(CustomValue::Text(text(row, alias)?)),
            }
        }
        result.push(aggregate);
    }
    Ok(result)
}
