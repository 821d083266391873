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
    /// Every customer the viewer sees whose history had started by this day (`crate::rules::customer_start_sql`).
    StartedBy(chrono::NaiveDate),
}

/// The facts of the given customers now (`now` is the request's clock), in one statement.
pub async fn load(
    db: &impl ConnectionTrait,
    viewer: Option<&Viewer>,
    customers: Customers<'_>,
    now: DateTime<Utc>,
) -> AppResult<Vec<Facts>> {
    load_with(db, viewer, customers, now, false).await
}

/// The facts of the given customers as they were at the past instant `at`,
/// in one statement (the same statement, every row read as it was then).
pub async fn load_as_of(
    db: &impl ConnectionTrait,
    viewer: Option<&Viewer>,
    customers: Customers<'_>,
    at: DateTime<Utc>,
) -> AppResult<Vec<Facts>> {
    load_with(db, viewer, customers, at, true).await
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

#[tracing::instrument(level = "debug", skip_all)]
async fn load_with(
    db: &impl ConnectionTrait,
    viewer: Option<&Viewer>,
    customers: Customers<'_>,
    now: DateTime<Utc>,
    past: bool,
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
        Customers::StartedBy(day) => {
            let visible =
                viewer.map(|v| crate::policy::visible_sql(dialect, v, Resource::Customers, "c.id")).unwrap_or_default();
            let start = crate::rules::customer_start_sql("c");
            (format!("{start} <= {} {visible}", dialect.date(day)), Vec::new())
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
    let mut values = params(now);
    values.extend(keys);
    let rows = dialect.rows_with(db, facts_sql(dialect, &filter, past), values).await?;
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

fn level_order(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(LEVELS.len())
}

/// Parameters every facts statement binds first, in this order.
const PARAMS: usize = 9;

/// The instants and days the facts are measured against: bound, not written
/// into the text, so that the statement is prepared and planned once.
fn params(now: DateTime<Utc>) -> Vec<sea_orm::Value> {
    let today = now.date_naive();
    let month = month_start(today);
    vec![
        now.into(),
        today.into(),
        (today - Duration::days(CHAMPION_WINDOW_DAYS)).into(),
        (now - Duration::days(COMPLAINT_WINDOW_DAYS)).into(),
        (now - Duration::days(2 * COMPLAINT_WINDOW_DAYS)).into(),
        month.into(),
        add_months(month, -REVENUE_WINDOW_MONTHS).into(),
        add_months(month, -2 * REVENUE_WINDOW_MONTHS).into(),
        crate::rules::last_12_complete_months(today).last.into(),
    ]
}

/// The facts statement. Live (`past` false), rows are read as they are now.
/// As of a past instant (`past`), every row is read as it was then: created by
/// then and not archived by then; tickets open then (opened, not yet
/// resolved), promises and tasks open then, communications, surveys and
/// departures dated by then; the owner and tier from `customer_history`, the
/// status from the churn events. The inputs without a history (purchasing
/// fit, whether the owner is active, contacts' level, influence and strength)
/// are read as they are now.
fn facts_sql(dialect: Dialect, filter: &str, past: bool) -> String {
    let p = |n| dialect.param(n);
    let (at, day, champion_since, recent, prior) = (p(1), p(2), p(3), p(4), p(5));
    let (month_now, month_recent, month_prior, last_complete) = (p(6), p(7), p(8), p(9));
    // A row alive at the instant: not archived (then), and (as of a past instant) created by then.
    let alive = |a: &str| {
        if past {
            format!("({a}.archived_at IS NULL OR {a}.archived_at > {at}) AND {a}.created_at <= {at}")
        } else {
            format!("{a}.archived_at IS NULL")
        }
    };
    let dated = |expr: &str, bound: &str| if past { format!(" AND {expr} <= {bound}") } else { String::new() };
    // As of a past instant, `column` from the row of `history` (keyed by `key` = `of`) in force then; before that
    // history begins, the current value.
    let then = |history: &str, key: &str, of: &str, column: &str, current: &str| {
        if past {
            let rows = format!("FROM {history} hx WHERE hx.{key} = {of} AND hx.valid_from <= {at}");
            format!(
                "(CASE WHEN EXISTS (SELECT 1 {rows}) THEN (SELECT hx.{column} {rows} \
                 ORDER BY hx.valid_from DESC, hx.id DESC LIMIT 1) ELSE {current} END)"
            )
        } else {
            current.to_owned()
        }
    };
    let of_contact = |column: &str| then("contact_history", "contact_id", "k.id", column, &format!("k.{column}"));
    let level = of_contact("org_level");
    let champion = crate::rules::champion_sql(&level, &of_contact("influence"), &of_contact("relationship_strength"));
    let levels = dialect.distinct_list(&level);
    // A contact is there from its `startedOn`, or (without one) from its creation.
    let contact_alive = if past {
        format!(
            "(k.archived_at IS NULL OR k.archived_at > {at}) AND COALESCE(k.started_on <= {day}, k.created_at <= {at})"
        )
    } else {
        alive("k")
    };
    let current = format!("k.customer_id = c.id AND {contact_alive} AND (k.ended_on IS NULL OR k.ended_on > {day})");
    let left = format!(
        "k.customer_id = c.id AND {contact_alive} AND k.ended_on > {champion_since} AND k.ended_on <= {day} AND {champion}"
    );
    let breached = if past {
        crate::rules::sla::breached_flag_as_of_sql("t", &at)
    } else {
        crate::rules::sla::breached_flag_sql("t", &at)
    };
    let open_then = if past {
        format!("t.created_at <= {at} AND (t.resolved_at IS NULL OR t.resolved_at > {at})")
    } else {
        crate::rules::sla::open_ticket_sql("t")
    };
    let open = format!("t.customer_id = c.id AND {} AND {open_then}", alive("t"));
    let tickets = format!("t.customer_id = c.id AND {}", alive("t"));
    let overdue = if past {
        format!(
            "o.customer_id = c.id AND (o.fulfilled_on IS NULL OR o.fulfilled_on >= {day}) AND {} AND o.due_on < {day}",
            alive("o")
        )
    } else {
        format!("o.customer_id = c.id AND {}", crate::rules::overdue_commitment_sql("o", &day))
    };
    let overdue_tasks = if past {
        format!(
            "w.customer_id = c.id AND w.created_at <= {at} AND w.due_on < {day} \
             AND (w.status = 'OPEN' OR (w.closed_at IS NOT NULL AND w.closed_at > {at}))"
        )
    } else {
        format!("w.customer_id = c.id AND {}", crate::rules::overdue_task_sql("w", &day))
    };
    let communication = format!("m.customer_id = c.id AND {}{}", alive("m"), dated("m.occurred_at", &at));
    let latest_survey = format!(
        "FROM survey_response s WHERE s.customer_id = c.id{} ORDER BY s.responded_on DESC, s.id DESC LIMIT 1",
        dated("s.responded_on", &day)
    );
    // Owner, tier, status and archiving as they were.
    let of_customer = |column: &str| then("customer_history", "customer_id", "c.id", column, &format!("c.{column}"));
    let (owner, tier, status, archived) = if past {
        let status = format!(
            "COALESCE((SELECT e.kind FROM churn_event e WHERE e.customer_id = c.id AND e.occurred_on <= {day} \
             ORDER BY e.occurred_on DESC, e.id DESC LIMIT 1), CASE WHEN c.status IN ('LOST', 'WON_BACK') THEN 'ACTIVE' \
             ELSE c.status END)"
        );
        let archived = format!("CASE WHEN c.archived_at IS NULL OR c.archived_at > {at} THEN 0 ELSE 1 END");
        (of_customer("owner_id"), of_customer("tier"), status, archived)
    } else {
        (
            "c.owner_id".to_owned(),
            "c.tier".to_owned(),
            "c.status".to_owned(),
            "CASE WHEN c.archived_at IS NULL THEN 0 ELSE 1 END".to_owned(),
        )
    };
    let recent_upper = dated("t.created_at", &at);
    format!(
        "SELECT c.id AS customer_id, c.name, {status} AS status, \
           {archived} AS archived, {tier} AS tier, c.segment, {fit} AS purchasing_fit, \
           COALESCE((SELECT r.revenue_cents FROM revenue_t12 r WHERE r.customer_id = c.id AND r.month = {last_complete}), 0) \
             AS revenue_t12m, {owner} AS owner_id, u.name AS owner_name, u.phone AS owner_phone, u.team_id AS owner_team, {owner_active} AS owner_active, \
           (SELECT COUNT(*) FROM contact k WHERE {current}) AS current_contacts, \
           (SELECT {levels} FROM contact k WHERE {current}) AS levels, \
           (SELECT COUNT(*) FROM contact k WHERE {left}) AS champions_left, \
           (SELECT k.name || '|' || {level} || '|' || CAST(k.ended_on AS TEXT) FROM contact k WHERE {left} \
              ORDER BY k.ended_on DESC, k.id DESC LIMIT 1) AS champion, \
           (SELECT MAX(m.occurred_at) FROM communication m WHERE {communication}) AS last_communication, \
           (SELECT MAX(m.occurred_at) FROM communication m WHERE {communication} \
              AND m.channel = 'EXECUTIVE_MEETING') AS last_executive_meeting, \
           (SELECT MAX(m.occurred_at) FROM contact k \
              JOIN communication_contact cc ON cc.contact_id = k.id \
              JOIN communication m ON m.id = cc.communication_id AND {alive_m}{dated_m} \
              WHERE k.customer_id = c.id AND {level} = 'EXECUTIVE') AS last_executive_contact, \
           (SELECT COUNT(*) FROM ticket t WHERE {open}) AS open_tickets, \
           (SELECT COUNT(*) FROM ticket t WHERE {open} \
              AND {breached} = 1) \
              AS past_sla, \
           (SELECT COUNT(*) FROM ticket t WHERE {tickets} AND t.created_at >= {recent}{recent_upper}) AS tickets_recent, \
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
         FROM customer c LEFT JOIN app_user u ON u.id = {owner} \
         WHERE {filter} ORDER BY c.id",
        alive_m = alive("m"),
        dated_m = dated("m.occurred_at", &at),
        fit = then("fit_history", "customer_id", "c.id", "purchasing_fit", "c.purchasing_fit"),
        owner_active = then("user_activity_history", "user_id", "u.id", "active", "u.active"),
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
