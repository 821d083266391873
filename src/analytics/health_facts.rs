//! What account health is computed from: one row of measured facts per
//! customer, read by one statement for a whole page (or a chunk of the book)
//! of customers. Every figure is a scalar subquery on an index made for it, so
//! a page of 100 costs one statement and about as much as 100 lookups.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use crate::db::Dialect;
use crate::db::rows::{flag, int, opt_int, text, timestamp};
use crate::rules::{add_months, month_start};
use crate::{error::AppResult, policy::Resource, policy::Viewer};

/// Days a contact who left still counts as "our champion left".
pub const CHAMPION_WINDOW_DAYS: i64 = 90;
/// Days of each half of the complaint trend.
pub const COMPLAINT_WINDOW_DAYS: i64 = 90;
/// Months of each half of the revenue trend.
pub const REVENUE_WINDOW_MONTHS: i32 = 6;

/// The champion who left last.
#[derive(Debug, Clone, PartialEq)]
pub struct Departure {
    pub name: String,
    pub org_level: String,
    pub ended_on: NaiveDate,
}

/// The measured facts of one customer, as of `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub customer_id: i64,
    pub name: String,
    pub status: String,
    pub archived: bool,
    pub tier: Option<String>,
    pub segment: Option<String>,
    pub purchasing_fit: Option<String>,
    /// Revenue of the last 12 complete months (`crate::rules`; the rollup, current within the push's transaction).
    pub revenue_t12m_cents: i64,
    pub owner_id: i64,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub owner_team: Option<i64>,
    pub owner_active: bool,
    /// Contacts not archived whose relationship has not ended.
    pub current_contacts: i64,
    /// Organisational levels of the current contacts, sorted.
    pub levels: Vec<String>,
    /// Champions who left in the last [`CHAMPION_WINDOW_DAYS`] days.
    pub champions_left: i64,
    pub last_champion_left: Option<Departure>,
    pub last_communication_at: Option<DateTime<Utc>>,
    /// Last EXECUTIVE_MEETING, or communication with an EXECUTIVE contact.
    pub last_executive_at: Option<DateTime<Utc>>,
    pub open_tickets: i64,
    pub tickets_past_sla: i64,
    /// Tickets opened in the last [`COMPLAINT_WINDOW_DAYS`] days, and in the as many days before.
    pub tickets_recent: i64,
    pub tickets_prior: i64,
    pub overdue_commitments: i64,
    pub overdue_amount_cents: i64,
    /// Open tasks past their due date.
    pub overdue_tasks: i64,
    /// Revenue of the last [`REVENUE_WINDOW_MONTHS`] full months, and of the as many before.
    pub revenue_recent_cents: i64,
    pub revenue_prior_cents: i64,
    pub satisfaction_latest: Option<i64>,
    pub satisfaction_previous: Option<i64>,
    pub now: DateTime<Utc>,
}

impl Facts {
    /// An account the at-risk list can hold: a live customer (`crate::rules::is_live`).
    pub fn live(&self) -> bool {
        crate::rules::is_live(&self.status, self.archived)
    }
}

/// Which customers to read.
pub enum Customers<'a> {
    /// These, if the viewer sees them (the others are left out).
    Ids(&'a [i64]),
    /// Every customer not archived with an id in `(after, up_to]`, whoever may see them (the snapshot's sweep).
    Range { after: i64, up_to: i64 },
}

/// The first day from which every input of the score keeps its history (the
/// latest start of the histories), or `None` before any history exists.
/// Before it, the inputs whose history had not begun are read as they are now.
pub async fn history_complete_from(db: &impl ConnectionTrait) -> AppResult<Option<chrono::NaiveDate>> {
    let dialect = Dialect::of(db);
    let sql = "SELECT MAX(x.s) AS s FROM (SELECT MIN(valid_from) AS s FROM contact_history \
               UNION ALL SELECT MIN(valid_from) FROM fit_history \
               UNION ALL SELECT MIN(valid_from) FROM user_activity_history \
               UNION ALL SELECT MIN(valid_from) FROM customer_history) x";
    let rows = dialect.rows(db, sql.to_owned()).await?;
    Ok(match rows.first() {
        Some(row) => timestamp(row, "s")?.map(|at| at.date_naive()),
        None => None,
    })
}

/// The facts of the given customers now (`now` is the request's clock), in one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(
    db: &impl ConnectionTrait,
    viewer: Option<&Viewer>,
    customers: Customers<'_>,
    now: DateTime<Utc>,
) -> AppResult<Vec<Facts>> {
    let dialect = Dialect::of(db);
    let (filter, keys): (String, Vec<sea_orm::Value>) = match customers {
        Customers::Ids([]) => return Ok(Vec::new()),
        // One customer (an account status): a plain key, so the plan is the same every time.
        Customers::Ids([id]) => {
            let visible =
                viewer.map(|v| crate::policy::visible_sql(dialect, v, Resource::Customers, "c.id")).unwrap_or_default();
            (format!("c.id = {} {visible}", dialect.param(PARAMS + 1)), vec![(*id).into()])
        }
        Customers::Ids(ids) => {
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let visible =
                viewer.map(|v| crate::policy::visible_sql(dialect, v, Resource::Customers, "c.id")).unwrap_or_default();
            (format!("{} {visible}", dialect.in_id_list("c.id", PARAMS + 1)), vec![list.into()])
        }
        Customers::Range { after, up_to } => (
            format!(
                "c.archived_at IS NULL AND c.id > {} AND c.id <= {}",
                dialect.param(PARAMS + 1),
                dialect.param(PARAMS + 2)
            ),
            vec![after.into(), up_to.into()],
        ),
    };
    let mut values = Windows::at(now).params();
    values.extend(keys);
    let rows = dialect.rows_with(db, facts_sql(dialect, &filter), values).await?;
    let mut facts = Vec::with_capacity(rows.len());
    for row in &rows {
        let levels = text(row, "levels")?.unwrap_or_default();
        let mut levels: Vec<String> = levels.split(',').filter(|l| !l.is_empty()).map(str::to_owned).collect();
        levels.sort_by_key(|l| level_order(l));
        facts.push(Facts {
            customer_id: int(row, "customer_id")?,
            name: text(row, "name")?.unwrap_or_default(),
            status: text(row, "status")?.unwrap_or_default(),
            archived: int(row, "archived")? != 0,
            tier: text(row, "tier")?,
            segment: text(row, "segment")?,
            purchasing_fit: text(row, "purchasing_fit")?,
            revenue_t12m_cents: int(row, "revenue_t12m")?,
            owner_id: int(row, "owner_id")?,
            owner_name: text(row, "owner_name")?,
            owner_phone: text(row, "owner_phone")?,
            owner_team: opt_int(row, "owner_team")?,
            owner_active: flag(row, "owner_active")?.unwrap_or(false),
            current_contacts: int(row, "current_contacts")?,
            levels,
            champions_left: int(row, "champions_left")?,
            last_champion_left: text(row, "champion")?.and_then(|t| parse_departure(&t)),
            last_communication_at: timestamp(row, "last_communication")?,
            last_executive_at: later(
                timestamp(row, "last_executive_meeting")?,
                timestamp(row, "last_executive_contact")?,
            ),
            open_tickets: int(row, "open_tickets")?,
            tickets_past_sla: int(row, "past_sla")?,
            tickets_recent: int(row, "tickets_recent")?,
            tickets_prior: int(row, "tickets_prior")?,
            overdue_commitments: int(row, "overdue")?,
            overdue_amount_cents: int(row, "overdue_amount")?,
            overdue_tasks: int(row, "overdue_tasks")?,
            revenue_recent_cents: int(row, "revenue_recent")?,
            revenue_prior_cents: int(row, "revenue_prior")?,
            satisfaction_latest: opt_int(row, "sat_latest")?,
            satisfaction_previous: opt_int(row, "sat_previous")?,
            now,
        });
    }
    Ok(facts)
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    a.max(b)
}

/// `name|LEVEL|YYYY-MM-DD`; the name may itself hold `|`.
fn parse_departure(text: &str) -> Option<Departure> {
    let mut parts = text.rsplitn(3, '|');
    let ended_on = parts.next()?;
    let org_level = parts.next()?.to_owned();
    let name = parts.next()?.to_owned();
    let ended_on = NaiveDate::parse_from_str(&ended_on[..ended_on.len().min(10)], "%Y-%m-%d").ok()?;
    Some(Departure { name, org_level, ended_on })
}

/// The organisational levels from the top down.
pub const LEVELS: [&str; 5] = ["EXECUTIVE", "MANAGEMENT", "PURCHASING", "TECHNICAL", "END_USER"];

pub fn level_order(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(LEVELS.len())
}

/// Parameters every facts statement binds first, in this order.
const PARAMS: usize = 9;

/// The instants, days and months the facts are measured against, from the
/// instant they are measured at.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub at: DateTime<Utc>,
    pub day: NaiveDate,
    /// Departures after this day count (the [`CHAMPION_WINDOW_DAYS`] before `day`).
    pub champion_since: NaiveDate,
    /// The starts of the two halves of the complaint trend.
    pub recent: DateTime<Utc>,
    pub prior: DateTime<Utc>,
    /// The current month and the starts of the two halves of the revenue trend.
    pub month_now: NaiveDate,
    pub month_recent: NaiveDate,
    pub month_prior: NaiveDate,
    pub last_12_months: crate::rules::Months,
}

impl Windows {
    pub fn at(at: DateTime<Utc>) -> Self {
        let day = at.date_naive();
        let month_now = month_start(day);
        Self {
            at,
            day,
            champion_since: day - Duration::days(CHAMPION_WINDOW_DAYS),
            recent: at - Duration::days(COMPLAINT_WINDOW_DAYS),
            prior: at - Duration::days(2 * COMPLAINT_WINDOW_DAYS),
            month_now,
            month_recent: add_months(month_now, -REVENUE_WINDOW_MONTHS),
            month_prior: add_months(month_now, -2 * REVENUE_WINDOW_MONTHS),
            last_12_months: crate::rules::last_12_complete_months(day),
        }
    }

    /// Bound, not written into the text, so that the statement is prepared and planned once.
    fn params(&self) -> Vec<sea_orm::Value> {
        vec![
            self.at.into(),
            self.day.into(),
            self.champion_since.into(),
            self.recent.into(),
            self.prior.into(),
            self.month_now.into(),
            self.month_recent.into(),
            self.month_prior.into(),
            self.last_12_months.last.into(),
        ]
    }
}

/// The facts statement: every row as it is now (the facts as they were at a
/// past instant are `crate::analytics::facts_as_of`).
fn facts_sql(dialect: Dialect, filter: &str) -> String {
    let p = |n| dialect.param(n);
    let (at, day, champion_since, recent, prior) = (p(1), p(2), p(3), p(4), p(5));
    let (month_now, month_recent, month_prior, last_complete) = (p(6), p(7), p(8), p(9));
    let alive = |a: &str| format!("{a}.archived_at IS NULL");
    let champion = crate::rules::champion_sql("k.org_level", "k.influence", "k.relationship_strength");
    let levels = dialect.distinct_list("k.org_level");
    let current = format!("k.customer_id = c.id AND {} AND (k.ended_on IS NULL OR k.ended_on > {day})", alive("k"));
    let left = format!(
        "k.customer_id = c.id AND {} AND k.ended_on > {champion_since} AND k.ended_on <= {day} AND {champion}",
        alive("k")
    );
    let breached = crate::rules::sla::breached_flag_sql("t", &at);
    let open = format!("t.customer_id = c.id AND {} AND {}", alive("t"), crate::rules::sla::open_ticket_sql("t"));
    let tickets = format!("t.customer_id = c.id AND {}", alive("t"));
    let overdue = format!("o.customer_id = c.id AND {}", crate::rules::overdue_commitment_sql("o", &day));
    let overdue_tasks = format!("w.customer_id = c.id AND {}", crate::rules::overdue_task_sql("w", &day));
    let communication = format!("m.customer_id = c.id AND {}", alive("m"));
    let latest_survey =
        "FROM survey_response s WHERE s.customer_id = c.id ORDER BY s.responded_on DESC, s.id DESC LIMIT 1";
    format!(
        "SELECT c.id AS customer_id, c.name, c.status, \
           CASE WHEN c.archived_at IS NULL THEN 0 ELSE 1 END AS archived, c.tier, c.segment, c.purchasing_fit, \
           COALESCE((SELECT r.revenue_cents FROM revenue_t12 r WHERE r.customer_id = c.id AND r.month = {last_complete}), 0) \
             AS revenue_t12m, c.owner_id, u.name AS owner_name, u.phone AS owner_phone, u.team_id AS owner_team, u.active AS owner_active, \
           (SELECT COUNT(*) FROM contact k WHERE {current}) AS current_contacts, \
           (SELECT {levels} FROM contact k WHERE {current}) AS levels, \
           (SELECT COUNT(*) FROM contact k WHERE {left}) AS champions_left, \
           (SELECT k.name || '|' || k.org_level || '|' || CAST(k.ended_on AS TEXT) FROM contact k WHERE {left} \
              ORDER BY k.ended_on DESC, k.id DESC LIMIT 1) AS champion, \
           (SELECT MAX(m.occurred_at) FROM communication m WHERE {communication}) AS last_communication, \
           (SELECT MAX(m.occurred_at) FROM communication m WHERE {communication} \
              AND m.channel = 'EXECUTIVE_MEETING') AS last_executive_meeting, \
           (SELECT MAX(m.occurred_at) FROM contact k \
              JOIN communication_contact cc ON cc.contact_id = k.id \
              JOIN communication m ON m.id = cc.communication_id AND {alive_m} \
              WHERE k.customer_id = c.id AND k.org_level = 'EXECUTIVE') AS last_executive_contact, \
           (SELECT COUNT(*) FROM ticket t WHERE {open}) AS open_tickets, \
           (SELECT COUNT(*) FROM ticket t WHERE {open} \
              AND {breached} = 1) \
              AS past_sla, \
           (SELECT COUNT(*) FROM ticket t WHERE {tickets} AND t.created_at >= {recent}) AS tickets_recent, \
           (SELECT COUNT(*) FROM ticket t WHERE {tickets} AND t.created_at >= {prior} AND t.created_at < {recent}) \
              AS tickets_prior, \
           (SELECT COUNT(*) FROM commitment o WHERE {overdue}) AS overdue, \
           (SELECT CAST(COALESCE(SUM(o.amount_cents), 0) AS BIGINT) FROM commitment o WHERE {overdue}) AS overdue_amount, \
           (SELECT COUNT(*) FROM task w WHERE {overdue_tasks}) AS overdue_tasks, \
           (SELECT CAST(COALESCE(SUM(r.revenue_cents), 0) AS BIGINT) FROM revenue_entry r WHERE r.customer_id = c.id \
              AND r.month >= {month_recent} AND r.month < {month_now}) AS revenue_recent, \
           (SELECT CAST(COALESCE(SUM(r.revenue_cents), 0) AS BIGINT) FROM revenue_entry r WHERE r.customer_id = c.id \
              AND r.month >= {month_prior} AND r.month < {month_recent}) AS revenue_prior, \
           (SELECT s.score {latest_survey}) AS sat_latest, \
           (SELECT s.score {latest_survey} OFFSET 1) AS sat_previous \
         FROM customer c LEFT JOIN app_user u ON u.id = c.owner_id \
         WHERE {filter} ORDER BY c.id",
        alive_m = alive("m"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_departure_keeps_a_name_with_bars() {
        let parsed = parse_departure("Ann | Bo|EXECUTIVE|2026-11-01");
        assert_eq!(
            parsed,
            NaiveDate::from_ymd_opt(2026, 11, 1).map(|ended_on| Departure {
                name: "Ann | Bo".into(),
                org_level: "EXECUTIVE".into(),
                ended_on
            })
        );
        assert_eq!(parse_departure("garbage"), None);
    }
}
