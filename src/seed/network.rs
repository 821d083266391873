//! What the graph, the health score and the care dates need to show
//! something on the demo: a group hierarchy, distributor and referral links,
//! survey answers (some falling), and key dates in the coming weeks.

use chrono::Duration;
use entity::{customer, customer_link, enums::CustomerLinkKind, key_date, survey_response};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};

use super::{Account, Clock, Rng};
use crate::error::AppResult;

/// Adds the network around the seeded accounts (in seeding order: the largest first).
pub(super) async fn seed(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    accounts: &[Account],
) -> AppResult<()> {
    let live: Vec<&Account> = accounts.iter().filter(|a| a.until >= 36).collect();
    groups(db, &live).await?;
    links(db, clock, &live).await?;
    surveys(db, rng, clock, &live).await?;
    key_dates(db, rng, clock, &live).await
}

/// Three groups: a large account heads each, with three subsidiaries.
async fn groups(db: &impl ConnectionTrait, live: &[&Account]) -> AppResult<()> {
    for (head, members) in [(0, [10, 20, 30]), (1, [11, 21, 31]), (2, [12, 22, 32])] {
        let (Some(parent), ids) = (live.get(head), members.iter().filter_map(|m| live.get(*m)).map(|a| a.id)) else {
            continue;
        };
        customer::Entity::update_many()
            .col_expr(customer::Column::ParentId, Expr::value(parent.id))
            .filter(customer::Column::Id.is_in(ids.collect::<Vec<_>>()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Two distributors serving smaller accounts, and referrals from the newest customers to older ones.
async fn links(db: &impl ConnectionTrait, clock: Clock, live: &[&Account]) -> AppResult<()> {
    let mut pairs = Vec::new();
    for (distributor, served) in [(3, 40..46), (4, 46..52)] {
        for to in served {
            pairs.push((distributor, to, CustomerLinkKind::DistributesTo));
        }
    }
    let newest = live.len().saturating_sub(6)..live.len();
    for (n, from) in newest.enumerate() {
        pairs.push((from, 5 + n, CustomerLinkKind::ReferredBy));
    }
    for (from, to, kind) in pairs {
        let (Some(from), Some(to)) = (live.get(from), live.get(to)) else { continue };
        customer_link::ActiveModel {
            from_customer_id: Set(from.id),
            to_customer_id: Set(to.id),
            kind: Set(kind),
            archived_at: Set(None),
            created_at: Set(clock.now),
            updated_at: Set(clock.now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Two answers a year for half the live accounts; a fifth of them falling.
async fn surveys(db: &impl ConnectionTrait, rng: &mut Rng, clock: Clock, live: &[&Account]) -> AppResult<()> {
    for account in live.iter().step_by(2) {
        let first = 6 + rng.below(5) as i32;
        let falling = rng.chance(20);
        let second =
            if falling { (first - 3 - rng.below(3) as i32).max(0) } else { (first + rng.below(3) as i32 - 1).min(10) };
        for (score, days_ago) in [(first, 200 + rng.below(100)), (second, 10 + rng.below(120))] {
            survey_response::ActiveModel {
                customer_id: Set(account.id),
                contact_id: Set(None),
                score: Set(score),
                comment: Set(falling.then(|| "Deliveries were late all season.".to_owned())),
                responded_on: Set(clock.today - Duration::days(days_ago as i64)),
                created_at: Set(clock.now),
                updated_at: Set(clock.now),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// A contract renewal or project start in the coming six weeks for a tenth
/// of the live accounts, and each group head's founding anniversary.
async fn key_dates(db: &impl ConnectionTrait, rng: &mut Rng, clock: Clock, live: &[&Account]) -> AppResult<()> {
    let mut dates = Vec::new();
    for account in live.iter().step_by(10) {
        let kind = if rng.chance(70) { "CONTRACT_RENEWAL" } else { "PROJECT_START" };
        dates.push((account.id, kind, clock.today + Duration::days(1 + rng.below(42) as i64), false));
    }
    for account in live.iter().take(3) {
        let founded = clock.today + Duration::days(3 + rng.below(20) as i64) - Duration::days(365 * 25);
        dates.push((account.id, "COMPANY_ANNIVERSARY", founded, true));
    }
    for (customer_id, kind, on, recurring) in dates {
        key_date::ActiveModel {
            customer_id: Set(customer_id),
            contact_id: Set(None),
            kind: Set(kind.to_owned()),
            note: Set(Some(format!("{} (demo)", kind.to_lowercase().replace('_', " ")))),
            on_date: Set(on),
            recurring: Set(recurring),
            archived_at: Set(None),
            created_at: Set(clock.now),
            updated_at: Set(clock.now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
