//! The relationship behind each account over the three years, so that the
//! health history and the backtest have a past to read: a touchpoint most
//! months and an executive meeting every quarter where there is an executive
//! to meet, up to the recent touchpoints `account` writes. A lost account
//! goes the way lost accounts do: most lose their executive or key contact
//! three to ten weeks before the loss, and nobody talks to it in the
//! last four months. The draws come from a generator of their own, so the rest of the
//! demo is the same with or without them.

use chrono::Duration;
use entity::{communication, communication_contact, contact, enums::*};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr};

use super::{Account, Clock, Plan, Rng, at};
use crate::error::AppResult;

/// Months of silence before a loss.
const SILENT_MONTHS: u32 = 4;
/// The recent touchpoints `account` writes reach this many days back; the history stops before them.
const RECENT_DAYS: i64 = 200;

pub async fn seed(db: &impl ConnectionTrait, clock: Clock, plans: &[Plan], accounts: &[Account]) -> AppResult<()> {
    let mut rng = Rng(0x0005_EED0_4157_0127);
    let recent_from = clock.now - Duration::days(RECENT_DAYS);
    for (p, a) in plans.iter().zip(accounts) {
        let contacts = contact::Entity::find()
            .filter(contact::Column::CustomerId.eq(a.id))
            .order_by_asc(contact::Column::Id)
            .all(db)
            .await?;
        let Some(first) = contacts.first() else { continue };
        let executive = contacts.iter().find(|k| k.org_level == OrgLevel::Executive);
        let until = match p.lost_in_month {
            Some(lost) => lost.saturating_sub(SILENT_MONTHS),
            None => a.until,
        };
        let mut rows = Vec::new();
        for m in a.from..until {
            let month = at(clock.nth_month(m));
            let touch = |channel: Channel, rng: &mut Rng| {
                let when = month + Duration::days(rng.below(27) as i64) + Duration::hours(rng.below(8) as i64);
                (when < recent_from).then(|| communication::ActiveModel {
                    customer_id: Set(a.id),
                    user_id: Set(a.owner),
                    channel: Set(channel),
                    direction: Set(Direction::Outbound),
                    occurred_at: Set(when),
                    summary: Set(format!("{channel:?}: the month's orders and what is coming")),
                    follow_up_on: Set(None),
                    archived_at: Set(None),
                    created_at: Set(when),
                    updated_at: Set(when),
                    ..Default::default()
                })
            };
            if rng.chance(90) {
                let channel = *rng.pick(&[Channel::Call, Channel::Visit, Channel::Email, Channel::Meeting]);
                rows.extend(touch(channel, &mut rng));
            }
            if executive.is_some() && m % 3 == 0 {
                rows.extend(touch(Channel::ExecutiveMeeting, &mut rng));
            }
        }
        let written = communication::Entity::insert_many(rows).exec_with_returning(db).await?;
        let links: Vec<communication_contact::ActiveModel> = written
            .iter()
            .map(|m| {
                let with = match (m.channel, executive) {
                    (Channel::ExecutiveMeeting, Some(executive)) => executive.id,
                    _ => first.id,
                };
                communication_contact::ActiveModel { communication_id: Set(m.id), contact_id: Set(with) }
            })
            .collect();
        communication_contact::Entity::insert_many(links).exec_without_returning(db).await?;
        // Most lost accounts lose their champion first.
        let champion = executive.or_else(|| contacts.iter().find(|k| k.influence.is_some_and(|i| i >= 4)));
        if let (Some(lost), Some(champion)) = (p.lost_in_month, champion)
            && rng.chance(70)
        {
            let left = clock.nth_month(lost) - Duration::days(20 + rng.below(50) as i64);
            contact::Entity::update_many()
                .col_expr(contact::Column::EndedOn, Expr::value(left))
                .filter(contact::Column::Id.eq(champion.id))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}
