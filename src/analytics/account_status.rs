//! The status of one account, for a phone: who it is, how healthy, what is
//! open, what is next and whom to call. Computed per request (never stale):
//! one statement for the facts and health, three for the next care date; the
//! owner comes from the in-memory user directory.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::{
    analytics::{
        care_dates::{self, CareDate},
        health::{AccountHealth, HealthRules, assess},
        health_facts::{self, Customers, Facts},
    },
    error::{AppError, AppResult},
    policy::Viewer,
    policy::{self, UserDetail},
};

/// One account at a glance.
#[derive(Debug, Clone)]
pub struct AccountStatus {
    pub facts: Facts,
    pub health: AccountHealth,
    pub next_care_date: Option<CareDate>,
}

impl AccountStatus {
    /// The date of the last communication.
    pub fn last_contact(&self) -> Option<DateTime<Utc>> {
        self.facts.last_communication_at
    }
}

/// The status of a customer the viewer sees; NOT_FOUND otherwise.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn of(
    db: &DatabaseConnection,
    viewer: &Viewer,
    rules: &HealthRules,
    customer_id: i64,
) -> AppResult<AccountStatus> {
    let now = Utc::now();
    let facts = health_facts::load(db, Some(viewer), Customers::Ids(&[customer_id]), now).await?;
    let mut facts = facts.into_iter().next().ok_or(AppError::NotFound("customer"))?;
    // Whom to call follows the one rule for people's details.
    if !policy::may_read_user_detail(viewer, facts.owner_id, facts.owner_team, UserDetail::Phone) {
        facts.owner_phone = None;
    }
    let health = assess(&facts, rules);
    let next_care_date = care_dates::next_of(db, viewer, customer_id, now.date_naive()).await?;
    Ok(AccountStatus { facts, health, next_care_date })
}
