//! The facts of account health as they were at past instants, for any
//! number of instants at once: each customer's dated rows (its communications,
//! tickets, promises, tasks, contacts, revenue months, survey answers, churn
//! events and the histories of the inputs that change in place) are read once,
//! by one statement per table for a chunk of the book, and the facts at each
//! instant are computed from them here. A backtest of three years reads the
//! book once instead of once per month start.
//!
//! This is the one definition of "as it was then", used by
//! `Customer.health(asOf:)` and by the backtest; the live facts are
//! `crate::analytics::health_facts`, and a test holds the two equal now for
//! every customer of the demo. A row counts at the instant `at` when
//! it was created by then and not archived by then; tickets open then (opened,
//! not yet resolved), promises and tasks open then, communications, surveys
//! and departures dated by then; the owner and tier from `customer_history`,
//! the status from the churn events. An input with a history (purchasing fit,
//! whether the owner is active, contacts' level, influence and strength) is
//! read from the history row in force then, and before its history begins as
//! it is now.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use crate::{
    analytics::health_facts::{Departure, Facts, Windows, level_order},
    db::{
        Dialect,
        rows::{date, flag, int, opt_int, text, timestamp},
    },
    error::AppResult,
    policy::{self, Resource, Viewer},
    rules::{commitment_overdue_on, sla::breached_as_of, task_overdue_at},
};

/// Which customers to read.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// One customer, if the viewer sees it.
    One(i64),
    /// The customers the viewer sees with an id in `(after, up_to]`.
    Range { after: i64, up_to: i64 },
}

/// Customers read per chunk of the book: a chunk's rows are held in memory
/// together, so the chunk bounds what a backtest holds, whatever the book.
pub const CHUNK: i64 = 5_000;

/// A value that changes in place, with the history of its values: the value in
/// force at an instant is the latest history row from by then, and before the
/// history begins the current value.
#[derive(Debug, Clone, Default)]
struct Kept<T> {
    current: T,
    /// (valid from, row id, value), sorted.
    history: Vec<(DateTime<Utc>, i64, T)>,
}

impl<T: Clone> Kept<T> {
    fn new(current: T) -> Self {
        Self { current, history: Vec::new() }
    }

    fn at(&self, at: DateTime<Utc>) -> &T {
        let then = self.history.partition_point(|(from, _, _)| *from <= at);
        match then {
            0 => &self.current,
            n => &self.history[n - 1].2,
        }
    }

    fn sort(&mut self) {
        self.history.sort_by_key(|(from, id, _)| (*from, *id));
    }
}

/// When a row exists: from its creation until it is archived.
#[derive(Debug, Clone, Copy)]
struct Life {
    created_at: DateTime<Utc>,
    archived_at: Option<DateTime<Utc>>,
}

impl Life {
    fn alive(&self, at: DateTime<Utc>) -> bool {
        self.created_at <= at && self.archived_at.is_none_or(|gone| gone > at)
    }
}

#[derive(Debug, Clone)]
struct Role {
    org_level: String,
    influence: Option<i64>,
    strength: Option<i64>,
}

#[derive(Debug, Clone)]
struct Contact {
    id: i64,
    name: String,
    role: Kept<Role>,
    started_on: Option<NaiveDate>,
    life: Life,
    ended_on: Option<NaiveDate>,
}

impl Contact {
    /// At the customer then: there from its `startedOn` (or, without one, its creation), not archived by then.
    fn there(&self, at: DateTime<Utc>, day: NaiveDate) -> bool {
        self.life.archived_at.is_none_or(|gone| gone > at)
            && self.started_on.map_or(self.life.created_at <= at, |started| started <= day)
    }

    fn champion(&self, at: DateTime<Utc>) -> bool {
        let role = self.role.at(at);
        crate::rules::is_champion(&role.org_level, role.influence, role.strength)
    }
}

#[derive(Debug, Clone, Copy)]
struct Communication {
    occurred_at: DateTime<Utc>,
    life: Life,
}

#[derive(Debug, Clone, Copy)]
struct Ticket {
    life: Life,
    resolved_at: Option<DateTime<Utc>>,
    first_response_due_at: DateTime<Utc>,
    first_responded_at: Option<DateTime<Utc>>,
    resolution_due_at: DateTime<Utc>,
}

impl Ticket {
    fn open(&self, at: DateTime<Utc>) -> bool {
        self.life.alive(at) && self.resolved_at.is_none_or(|resolved| resolved > at)
    }

    fn breached(&self, at: DateTime<Utc>) -> bool {
        breached_as_of(
            self.first_response_due_at,
            self.first_responded_at,
            self.resolution_due_at,
            self.resolved_at,
            at,
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Commitment {
    life: Life,
    due_on: NaiveDate,
    fulfilled_on: Option<NaiveDate>,
    amount_cents: i64,
}

#[derive(Debug, Clone, Copy)]
struct Task {
    created_at: DateTime<Utc>,
    due_on: NaiveDate,
    open: bool,
    closed_at: Option<DateTime<Utc>>,
}

/// One customer's dated rows.
#[derive(Debug, Clone, Default)]
pub struct Record {
    id: i64,
    name: String,
    segment: Option<String>,
    status: String,
    archived_at: Option<DateTime<Utc>>,
    /// When its history starts (`crate::rules::customer_start_sql`).
    started_on: Option<NaiveDate>,
    owner_and_tier: Kept<(i64, Option<String>)>,
    fit: Kept<Option<String>>,
    /// (day, row id, kind), sorted.
    churn: Vec<(NaiveDate, i64, String)>,
    contacts: Vec<Contact>,
    communications: Vec<Communication>,
    executive_meetings: Vec<Communication>,
    /// Communications with each contact who is, or was, an EXECUTIVE: (contact, communication).
    executive_touches: Vec<(usize, Communication)>,
    tickets: Vec<Ticket>,
    commitments: Vec<Commitment>,
    tasks: Vec<Task>,
    /// (month, revenue), sorted.
    revenue: Vec<(NaiveDate, i64)>,
    /// (day, row id, score), sorted.
    surveys: Vec<(NaiveDate, i64, i64)>,
}

#[derive(Debug, Clone)]
struct Owner {
    name: String,
    phone: Option<String>,
    team: Option<i64>,
    active: Kept<bool>,
}

/// The users who owned the customers read, with the history of whether they were active.
#[derive(Debug, Default)]
pub struct Owners(HashMap<i64, Owner>);

/// The dated rows of a chunk of customers.
#[derive(Debug, Default)]
pub struct Ledger {
    records: Vec<Record>,
}

impl Record {
    /// Whether the customer's history had started by `day`.
    pub fn started_by(&self, day: NaiveDate) -> bool {
        self.started_on.is_some_and(|started| started <= day)
    }

    /// The days it was lost (LOST churn events), in order.
    pub fn losses(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.churn.iter().filter(|(_, _, kind)| kind == "LOST").map(|(day, _, _)| *day)
    }

    /// Every user who owned it, now or in its history.
    fn owner_ids(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::once(self.owner_and_tier.current.0).chain(self.owner_and_tier.history.iter().map(|h| h.2.0))
    }

    /// Its facts as they were at the instant of `w` (`Windows::at`, made once
    /// per instant for a whole chunk: a backtest computes millions).
    pub fn facts_at(&self, w: &Windows, owners: &Owners) -> Facts {
        let r = self;
        let (at, day) = (w.at, w.day);
        let status = match r.churn.partition_point(|(on, _, _)| *on <= day) {
            0 if matches!(r.status.as_str(), "LOST" | "WON_BACK") => "ACTIVE".to_owned(),
            0 => r.status.clone(),
            n => r.churn[n - 1].2.clone(),
        };
        let (owner_id, tier) = r.owner_and_tier.at(at).clone();
        let owner = owners.0.get(&owner_id);
        let (mut current_contacts, mut levels) = (0, Vec::<String>::new());
        for k in r.contacts.iter().filter(|k| k.there(at, day) && k.ended_on.is_none_or(|ended| ended > day)) {
            current_contacts += 1;
            let level = &k.role.at(at).org_level;
            if !levels.contains(level) {
                levels.push(level.clone());
            }
        }
        levels.sort_by_key(|l| level_order(l));
        let left = r.contacts.iter().filter(|k| {
            k.there(at, day)
                && k.ended_on.is_some_and(|ended| ended > w.champion_since && ended <= day)
                && k.champion(at)
        });
        let (mut champions_left, mut last_left) = (0, None::<&Contact>);
        for k in left {
            champions_left += 1;
            if last_left.is_none_or(|l| (k.ended_on, k.id) > (l.ended_on, l.id)) {
                last_left = Some(k);
            }
        }
        let latest = |rows: &[Communication]| {
            rows.iter().filter(|m| m.life.alive(at) && m.occurred_at <= at).map(|m| m.occurred_at).max()
        };
        let last_executive_contact = r
            .executive_touches
            .iter()
            .filter(|(k, m)| {
                m.life.alive(at) && m.occurred_at <= at && r.contacts[*k].role.at(at).org_level == "EXECUTIVE"
            })
            .map(|(_, m)| m.occurred_at)
            .max();
        let (mut open_tickets, mut tickets_past_sla) = (0, 0);
        for t in r.tickets.iter().filter(|t| t.open(at)) {
            open_tickets += 1;
            tickets_past_sla += i64::from(t.breached(at));
        }
        let alive = |t: &&Ticket| t.life.alive(at);
        let (mut overdue_commitments, mut overdue_amount_cents) = (0, 0);
        for o in r.commitments.iter().filter(|o| commitment_overdue_on(o.life.alive(at), o.due_on, o.fulfilled_on, day))
        {
            overdue_commitments += 1;
            overdue_amount_cents += o.amount_cents;
        }
        let revenue = |from: NaiveDate, to: NaiveDate| -> i64 {
            let start = r.revenue.partition_point(|(month, _)| *month < from);
            r.revenue[start..].iter().take_while(|(month, _)| *month < to).map(|(_, cents)| cents).sum()
        };
        let surveys = r.surveys.partition_point(|(on, _, _)| *on <= day);
        let survey = |back: usize| surveys.checked_sub(back).map(|i| r.surveys[i].2);
        Facts {
            customer_id: r.id,
            name: r.name.clone(),
            status,
            archived: r.archived_at.is_some_and(|gone| gone <= at),
            tier,
            segment: r.segment.clone(),
            purchasing_fit: r.fit.at(at).clone(),
            revenue_t12m_cents: revenue(w.last_12_months.first, w.last_12_months.end_exclusive()),
            owner_id,
            owner_name: owner.map(|o| o.name.clone()),
            owner_phone: owner.and_then(|o| o.phone.clone()),
            owner_team: owner.and_then(|o| o.team),
            owner_active: owner.is_some_and(|o| *o.active.at(at)),
            current_contacts,
            levels,
            champions_left,
            last_champion_left: last_left.and_then(|k| {
                Some(Departure {
                    name: k.name.clone(),
                    org_level: k.role.at(at).org_level.clone(),
                    ended_on: k.ended_on?,
                })
            }),
            last_communication_at: latest(&r.communications),
            last_executive_at: latest(&r.executive_meetings).max(last_executive_contact),
            open_tickets,
            tickets_past_sla,
            tickets_recent: r
                .tickets
                .iter()
                .filter(alive)
                .filter(|t| t.life.created_at >= w.recent && t.life.created_at <= at)
                .count() as i64,
            tickets_prior: r
                .tickets
                .iter()
                .filter(alive)
                .filter(|t| t.life.created_at >= w.prior && t.life.created_at < w.recent)
                .count() as i64,
            overdue_commitments,
            overdue_amount_cents,
            overdue_tasks: r
                .tasks
                .iter()
                .filter(|t| task_overdue_at(t.created_at, t.due_on, t.open, t.closed_at, at))
                .count() as i64,
            revenue_recent_cents: revenue(w.month_recent, w.month_now),
            revenue_prior_cents: revenue(w.month_prior, w.month_recent),
            satisfaction_latest: survey(1),
            satisfaction_previous: survey(2),
            now: at,
        }
    }
}

impl Ledger {
    pub fn records(&self) -> &[Record] {
        &self.records
    }
}

/// Reads the dated rows of the customers in `scope` that the viewer sees,
/// with the revenue months from `revenue_from` on.
pub async fn read(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    scope: Scope,
    revenue_from: NaiveDate,
) -> AppResult<Ledger> {
    let dialect = Dialect::of(db);
    // Every statement keeps to the customers the viewer sees: a rep's chunk reads their customers' rows only.
    let of = |column: &str| {
        let visible = policy::visible_sql(dialect, viewer, Resource::Customers, column);
        match scope {
            Scope::One(id) => format!("{column} = {id} {visible}"),
            Scope::Range { after, up_to } => format!("{column} > {after} AND {column} <= {up_to} {visible}"),
        }
    };
    let customers = format!(
        "SELECT c.id, c.name, c.segment, c.status, c.archived_at, c.owner_id, c.tier, c.purchasing_fit, {start} AS started_on \
         FROM customer c WHERE {range} ORDER BY c.id",
        start = crate::rules::customer_start_sql("c"),
        range = of("c.id"),
    );
    let mut records = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for row in dialect.rows(db, customers).await? {
        let id = int(&row, "id")?;
        let tier = text(&row, "tier")?;
        index.insert(id, records.len());
        records.push(Record {
            id,
            name: text(&row, "name")?.unwrap_or_default(),
            segment: text(&row, "segment")?,
            status: text(&row, "status")?.unwrap_or_default(),
            archived_at: timestamp(&row, "archived_at")?,
            started_on: date(&row, "started_on")?,
            owner_and_tier: Kept::new((int(&row, "owner_id")?, tier)),
            fit: Kept::new(text(&row, "purchasing_fit")?),
            churn: Vec::new(),
            contacts: Vec::new(),
            communications: Vec::new(),
            executive_meetings: Vec::new(),
            executive_touches: Vec::new(),
            tickets: Vec::new(),
            commitments: Vec::new(),
            tasks: Vec::new(),
            revenue: Vec::new(),
            surveys: Vec::new(),
        });
    }
    if records.is_empty() {
        return Ok(Ledger::default());
    }
    // Rows find their customer through the index, so no statement needs an ORDER BY for the database to sort.
    macro_rules! each {
        ($sql:expr, |$row:ident, $r:ident| $body:block) => {
            for $row in dialect.rows(db, $sql).await? {
                if let Some(&i) = index.get(&int(&$row, "customer_id")?) {
                    let $r = &mut records[i];
                    $body
                }
            }
        };
    }
    // A row whose creation time cannot be read is left out, as a comparison with NULL leaves it out in SQL.
    let life = |row: &sea_orm::QueryResult| -> AppResult<Option<Life>> {
        let archived_at = timestamp(row, "archived_at")?;
        Ok(timestamp(row, "created_at")?.map(|created_at| Life { created_at, archived_at }))
    };
    each!(
        format!(
            "SELECT h.customer_id, h.id, h.valid_from, h.owner_id, h.tier FROM customer_history h WHERE {}",
            of("h.customer_id")
        ),
        |row, r| {
            if let Some(from) = timestamp(&row, "valid_from")? {
                r.owner_and_tier.history.push((from, int(&row, "id")?, (int(&row, "owner_id")?, text(&row, "tier")?)));
            }
        }
    );
    each!(
        format!(
            "SELECT h.customer_id, h.id, h.valid_from, h.purchasing_fit FROM fit_history h WHERE {}",
            of("h.customer_id")
        ),
        |row, r| {
            if let Some(from) = timestamp(&row, "valid_from")? {
                r.fit.history.push((from, int(&row, "id")?, text(&row, "purchasing_fit")?));
            }
        }
    );
    each!(
        format!("SELECT e.customer_id, e.id, e.occurred_on, e.kind FROM churn_event e WHERE {}", of("e.customer_id")),
        |row, r| {
            if let Some(on) = date(&row, "occurred_on")? {
                r.churn.push((on, int(&row, "id")?, text(&row, "kind")?.unwrap_or_default()));
            }
        }
    );
    // Contacts, then their history and the communications with those who are or were executives.
    let mut contact_at: HashMap<i64, (usize, usize)> = HashMap::new();
    each!(
        format!(
            "SELECT k.customer_id, k.id, k.name, k.org_level, k.influence, k.relationship_strength, k.started_on, \
               k.ended_on, k.created_at, k.archived_at FROM contact k WHERE {}",
            of("k.customer_id")
        ),
        |row, r| {
            let Some(life) = life(&row)? else { continue };
            let id = int(&row, "id")?;
            contact_at.insert(id, (index[&r.id], r.contacts.len()));
            r.contacts.push(Contact {
                id,
                name: text(&row, "name")?.unwrap_or_default(),
                role: Kept::new(Role {
                    org_level: text(&row, "org_level")?.unwrap_or_default(),
                    influence: opt_int(&row, "influence")?,
                    strength: opt_int(&row, "relationship_strength")?,
                }),
                started_on: date(&row, "started_on")?,
                life,
                ended_on: date(&row, "ended_on")?,
            });
        }
    );
    let contact_rows = |sql: String| {
        let contact_at = &contact_at;
        async move {
            let rows = dialect.rows(db, sql).await?;
            let mut found = Vec::with_capacity(rows.len());
            for row in rows {
                if let Some(&place) = contact_at.get(&int(&row, "contact_id")?) {
                    found.push((place, row));
                }
            }
            AppResult::Ok(found)
        }
    };
    for ((i, k), row) in contact_rows(format!(
        "SELECT h.contact_id, h.id, h.valid_from, h.org_level, h.influence, h.relationship_strength \
         FROM contact_history h JOIN contact k ON k.id = h.contact_id WHERE {}",
        of("k.customer_id")
    ))
    .await?
    {
        if let Some(from) = timestamp(&row, "valid_from")? {
            let role = Role {
                org_level: text(&row, "org_level")?.unwrap_or_default(),
                influence: opt_int(&row, "influence")?,
                strength: opt_int(&row, "relationship_strength")?,
            };
            records[i].contacts[k].role.history.push((from, int(&row, "id")?, role));
        }
    }
    for ((i, k), row) in contact_rows(format!(
        "SELECT cc.contact_id, m.occurred_at, m.created_at, m.archived_at FROM contact k \
         JOIN communication_contact cc ON cc.contact_id = k.id JOIN communication m ON m.id = cc.communication_id \
         WHERE {} AND (k.org_level = 'EXECUTIVE' OR EXISTS (SELECT 1 FROM contact_history h \
           WHERE h.contact_id = k.id AND h.org_level = 'EXECUTIVE'))",
        of("k.customer_id")
    ))
    .await?
    {
        if let (Some(occurred_at), Some(life)) = (timestamp(&row, "occurred_at")?, life(&row)?) {
            records[i].executive_touches.push((k, Communication { occurred_at, life }));
        }
    }
    each!(
        format!(
            "SELECT m.customer_id, m.occurred_at, m.created_at, m.archived_at, \
               CASE WHEN m.channel = 'EXECUTIVE_MEETING' THEN 1 ELSE 0 END AS executive FROM communication m WHERE {}",
            of("m.customer_id")
        ),
        |row, r| {
            if let (Some(occurred_at), Some(life)) = (timestamp(&row, "occurred_at")?, life(&row)?) {
                let m = Communication { occurred_at, life };
                if int(&row, "executive")? == 1 {
                    r.executive_meetings.push(m);
                }
                r.communications.push(m);
            }
        }
    );
    each!(
        format!(
            "SELECT t.customer_id, t.created_at, t.archived_at, t.resolved_at, t.first_response_due_at, \
               t.first_responded_at, t.resolution_due_at FROM ticket t WHERE {}",
            of("t.customer_id")
        ),
        |row, r| {
            let deadlines = (timestamp(&row, "first_response_due_at")?, timestamp(&row, "resolution_due_at")?);
            if let (Some(life), (Some(first_response_due_at), Some(resolution_due_at))) = (life(&row)?, deadlines) {
                r.tickets.push(Ticket {
                    life,
                    resolved_at: timestamp(&row, "resolved_at")?,
                    first_response_due_at,
                    first_responded_at: timestamp(&row, "first_responded_at")?,
                    resolution_due_at,
                });
            }
        }
    );
    each!(
        format!(
            "SELECT o.customer_id, o.due_on, o.fulfilled_on, o.amount_cents, o.created_at, o.archived_at \
             FROM commitment o WHERE {}",
            of("o.customer_id")
        ),
        |row, r| {
            if let (Some(due_on), Some(life)) = (date(&row, "due_on")?, life(&row)?) {
                r.commitments.push(Commitment {
                    life,
                    due_on,
                    fulfilled_on: date(&row, "fulfilled_on")?,
                    amount_cents: int(&row, "amount_cents")?,
                });
            }
        }
    );
    each!(
        format!(
            "SELECT w.customer_id, w.created_at, w.due_on, CASE WHEN w.status = 'OPEN' THEN 1 ELSE 0 END AS open, \
               w.closed_at FROM task w WHERE {}",
            of("w.customer_id")
        ),
        |row, r| {
            if let (Some(created_at), Some(due_on)) = (timestamp(&row, "created_at")?, date(&row, "due_on")?) {
                r.tasks.push(Task {
                    created_at,
                    due_on,
                    open: int(&row, "open")? == 1,
                    closed_at: timestamp(&row, "closed_at")?,
                });
            }
        }
    );
    each!(
        format!(
            // One row per customer and month (a unique key): no grouping to do.
            "SELECT r.customer_id, r.month, r.revenue_cents AS cents FROM revenue_entry r WHERE {} AND r.month >= {}",
            of("r.customer_id"),
            dialect.date(revenue_from)
        ),
        |row, r| {
            if let Some(month) = date(&row, "month")? {
                r.revenue.push((month, int(&row, "cents")?));
            }
        }
    );
    each!(
        format!(
            "SELECT s.customer_id, s.id, s.responded_on, s.score FROM survey_response s WHERE {}",
            of("s.customer_id")
        ),
        |row, r| {
            if let Some(on) = date(&row, "responded_on")? {
                r.surveys.push((on, int(&row, "id")?, int(&row, "score")?));
            }
        }
    );
    for r in &mut records {
        r.owner_and_tier.sort();
        r.fit.sort();
        r.churn.sort();
        r.revenue.sort();
        r.surveys.sort();
        for k in &mut r.contacts {
            k.role.sort();
        }
    }
    Ok(Ledger { records })
}

/// One customer's facts as they were at `at`, if the viewer sees it.
pub async fn one(db: &impl ConnectionTrait, viewer: &Viewer, id: i64, at: DateTime<Utc>) -> AppResult<Option<Facts>> {
    let windows = Windows::at(at);
    let ledger = read(db, viewer, Scope::One(id), windows.last_12_months.first).await?;
    let Some(record) = ledger.records().first() else { return Ok(None) };
    let ids: Vec<i64> = record.owner_ids().collect();
    Ok(Some(record.facts_at(&windows, &owners(db, Some(&ids)).await?)))
}

/// The users who may own a customer (these, or every user), each with the
/// history of whether they were active: read once for a whole backtest.
pub async fn owners(db: &impl ConnectionTrait, ids: Option<&[i64]>) -> AppResult<Owners> {
    let dialect = Dialect::of(db);
    let of = |column: &str| match ids {
        Some(ids) => format!(" WHERE {column} IN ({})", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
        None => String::new(),
    };
    let mut owners = HashMap::new();
    for row in dialect.rows(db, format!("SELECT id, name, phone, team_id, active FROM app_user{}", of("id"))).await? {
        owners.insert(
            int(&row, "id")?,
            Owner {
                name: text(&row, "name")?.unwrap_or_default(),
                phone: text(&row, "phone")?,
                team: opt_int(&row, "team_id")?,
                active: Kept::new(flag(&row, "active")?.unwrap_or(false)),
            },
        );
    }
    let history = format!("SELECT user_id, id, valid_from, active FROM user_activity_history{}", of("user_id"));
    for row in dialect.rows(db, history).await? {
        if let (Some(owner), Some(from)) = (owners.get_mut(&int(&row, "user_id")?), timestamp(&row, "valid_from")?) {
            owner.active.history.push((from, int(&row, "id")?, flag(&row, "active")?.unwrap_or(false)));
        }
    }
    for owner in owners.values_mut() {
        owner.active.sort();
    }
    Ok(Owners(owners))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default() + chrono::Duration::hours(hours)
    }

    /// Ties and instants between rows: the later row of the same instant or
    /// day wins, an answer given after the instant is not known then, and a
    /// level is the one its history gave it then.
    #[test]
    fn facts_at_read_each_row_as_it_was_then() {
        let day = t(0).date_naive();
        let life = Life { created_at: t(-1000), archived_at: None };
        let mut role = Kept::new(Role { org_level: "TECHNICAL".into(), influence: None, strength: None });
        role.history = vec![
            (t(-500), 1, Role { org_level: "EXECUTIVE".into(), influence: None, strength: None }),
            (t(10), 2, Role { org_level: "TECHNICAL".into(), influence: None, strength: None }),
        ];
        let mut owner_and_tier = Kept::new((1, Some("PRICE".to_owned())));
        owner_and_tier.history =
            vec![(t(-5), 3, (1, Some("SERVICE".into()))), (t(-5), 4, (1, Some("STRATEGIC".into())))];
        let record = Record {
            id: 7,
            status: "LOST".into(),
            started_on: Some(day),
            owner_and_tier,
            churn: vec![(day, 1, "LOST".into()), (day, 2, "WON_BACK".into())],
            contacts: vec![Contact { id: 1, name: "Ann".into(), role, started_on: None, life, ended_on: None }],
            tickets: vec![Ticket {
                life: Life { created_at: t(-3), archived_at: None },
                resolved_at: None,
                first_response_due_at: t(-1),
                first_responded_at: Some(t(2)),
                resolution_due_at: t(100),
            }],
            surveys: vec![(day, 1, 9), (day, 2, 3)],
            ..Default::default()
        };
        let facts = |hours| record.facts_at(&Windows::at(t(hours)), &Owners::default());
        let now = facts(0);
        assert_eq!(now.status, "WON_BACK");
        assert_eq!(now.tier.as_deref(), Some("STRATEGIC"));
        assert_eq!((now.satisfaction_latest, now.satisfaction_previous), (Some(3), Some(9)));
        assert_eq!((now.open_tickets, now.tickets_past_sla), (1, 1), "the late answer is not known yet");
        assert_eq!(facts(-2).tickets_past_sla, 0, "the deadline had not passed");
        assert_eq!(facts(3).tickets_past_sla, 1, "answered late");
        assert_eq!(now.levels, ["EXECUTIVE"]);
        assert_eq!(facts(11).levels, ["TECHNICAL"]);
        assert_eq!(facts(-600).levels, ["TECHNICAL"], "before its history, the level as it is now");
        assert_eq!(facts(-10).tier.as_deref(), Some("PRICE"), "before its history, the tier as it is now");
    }
}
