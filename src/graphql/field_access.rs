//! Field-level permissions in the API: the policy (ADMIN), and what the
//! signed-in viewer may not read.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use crate::{
    graphql::support::{context::request, enums::Role},
    policy::{self, fields::FieldPolicy},
    service::field_access as service,
};

/// A sensitive field, or family of fields, that ADMIN may restrict to some roles and scopes. A field you may
/// not read answers null (the response lists it in `extensions.hiddenFields`), using it in `filter`,
/// `orderBy`, `groupBy` or `customDimensions` is FORBIDDEN, and every value derived from it is hidden with it.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "policy::SensitiveField")]
pub enum SensitiveField {
    /// Revenue amounts, and every sum or share of them: `Customer.revenueLast12Months`, `RevenueEntry.revenue`,
    /// the revenue figures of the reports, group roll-ups and the account status, revenue-weighted health.
    Revenue,
    /// Gross-profit amounts, their sums and shares, and the impact segment (`Customer.segment` and the reports by
    /// segment), which ranks customers by margin.
    GrossProfit,
    /// A partnership's `discountPercent`.
    Discount,
    /// A partnership's `creditTermsDays`.
    CreditTerms,
    /// A contact's `email`, and the address a duplicate's reasons quote.
    ContactEmail,
    /// A contact's `phone`, and the digits a duplicate's reasons quote.
    ContactPhone,
    /// A contact's `birthday`, and the birthdays among the care dates.
    ContactBirthday,
    /// The values of custom fields marked `sensitive`.
    SensitiveCustomFields,
}

/// Who may read one sensitive field.
#[derive(SimpleObject)]
pub struct FieldAccess {
    /// The field.
    field: SensitiveField,
    /// False: everyone who can read the record reads the field (no rule). True: only ADMIN, `roles` and service
    /// accounts with one of `scopes` read it.
    restricted: bool,
    /// The roles that read it besides ADMIN (every role when not restricted).
    roles: Vec<Role>,
    /// Service accounts read it when they hold one of these scopes (every scope when not restricted).
    scopes: Vec<String>,
}

fn listed(policy: &FieldPolicy) -> Vec<FieldAccess> {
    use entity::enums::Role as R;
    policy::SensitiveField::ALL
        .iter()
        .copied()
        .map(|field| match policy.rule(field) {
            Some(rule) => FieldAccess {
                field: field.into(),
                restricted: true,
                roles: rule.roles.iter().map(|r| (*r).into()).collect(),
                scopes: rule.scopes.clone(),
            },
            None => FieldAccess {
                field: field.into(),
                restricted: false,
                roles: [R::Admin, R::Leader, R::TeamLead, R::Rep].into_iter().map(Role::from).collect(),
                scopes: policy::SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            },
        })
        .collect()
}

#[derive(Default)]
pub struct FieldAccessQuery;

#[Object]
impl FieldAccessQuery {
    /// Who may read each sensitive field (ADMIN).
    async fn field_access(&self, ctx: &Context<'_>) -> Result<Vec<FieldAccess>> {
        let rc = request(ctx)?;
        Ok(listed(&service::current(&rc.services, &rc.viewer()).await?))
    }

    /// The sensitive fields you may not read: they answer null for you, and you cannot filter, sort or group by
    /// them. Empty when you read everything.
    async fn hidden_fields(&self, ctx: &Context<'_>) -> Result<Vec<SensitiveField>> {
        Ok(request(ctx)?.viewer().hidden.iter().map(SensitiveField::from).collect())
    }
}

#[derive(Default)]
pub struct FieldAccessMutation;

#[Object]
impl FieldAccessMutation {
    /// Restricts a sensitive field (ADMIN) to ADMIN, the roles given, and service accounts holding one of the
    /// scopes given; replaces the field's earlier rule. Takes effect at once for every request and open
    /// subscription, on every instance. Returns the whole policy.
    async fn restrict_field(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The field.")] field: SensitiveField,
        #[graphql(desc = "Roles that may read it besides ADMIN (not INTEGRATION: give scopes).")] roles: Vec<Role>,
        #[graphql(desc = "Service accounts holding one of these scopes may read it.", default)] scopes: Vec<String>,
    ) -> Result<Vec<FieldAccess>> {
        let rc = request(ctx)?;
        let roles = roles.into_iter().map(Into::into).collect();
        Ok(listed(&service::restrict(&rc.services, &rc.viewer(), field.into(), roles, scopes).await?))
    }

    /// Lifts a field's restriction (ADMIN): everyone who can read the record reads the field again. Returns the
    /// whole policy.
    async fn open_field(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The field.")] field: SensitiveField,
    ) -> Result<Vec<FieldAccess>> {
        let rc = request(ctx)?;
        Ok(listed(&service::open(&rc.services, &rc.viewer(), field.into()).await?))
    }
}
