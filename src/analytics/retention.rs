//! The retention report: who the company kept, gained, lost and won back over
//! a window, what the lost ones were worth, why they left, and whether the
//! causes were in its hands. Everything is counted in SQL over the viewer's
//! customers (a rep's report covers the rep's customers); Rust only divides.
//!
//! Two definitions of "active on day d" (the report's `basis`):
//! - EVENTS: `customer_since <= d`, not archived, and the latest churn event on
//!   or before d is not LOST (archived customers are left out entirely:
//!   archiving withdraws a record, losing a customer is `markCustomerLost`).
//! - ACTIVITY: some revenue in the `inactive_months` months up to d, whatever
//!   churn events say (most companies never record a loss; customers just stop).
//!
//! The window is `(from, to]`: a customer gained or lost on `from` belongs to
//! the previous window. "The 12 months before `from`" are the months dated in
//! `[from - 12 months, from)`; "the last 12 months of the window" those in
//! `(to - 12 months, to]`.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::enums::{ChurnReason, PartnershipTier, Segment};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection};

use crate::analytics::ratio;
use crate::db::rows::{date, int, text};
use crate::db::{Dialect, begin_read};
use crate::rules::{add_months, month_end, month_start};
use crate::{
    analytics::segments::{Ranked, SegmentRules, segment_sql},
    error::{AppError, AppResult},
    policy::Resource,
    policy::Viewer,
};

/// Longest window a report covers (its points stay a chart, not a table).
pub const MAX_MONTHS: i32 = 120;

/// How a report is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    None,
    Owner,
    Team,
    Tier,
    /// The segment each customer had on `from` (its rank in the 12 months before).
    Segment,
    Region,
    Industry,
    /// The top visible ancestor, by the hierarchy as it is now (`crate::analytics::groups`).
    Group,
}

/// What "active" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Events,
    Activity { inactive_months: u32 },
}

/// What the viewer asks for.
#[derive(Debug, Clone, Copy)]
pub struct RetentionQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    pub basis: Basis,
}

/// The counts and sums of one set of customers (the whole report or a group).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub at_start: i64,
    pub gained: i64,
    pub lost: i64,
    /// Lost customers who were customers at the start (the churn rate's numerator).
    pub lost_from_start: i64,
    pub won_back: i64,
    pub retained: i64,
    pub at_end: i64,
    pub revenue_before: i64,
    pub lost_revenue_before: i64,
    pub gained_revenue: i64,
    /// Revenue retention's later period (the window's last L months, L the
    /// window's length in whole months), customers at start.
    pub revenue_after: i64,
    /// The same, each customer capped at its revenue in the earlier period.
    pub revenue_after_capped: i64,
    /// Revenue retention's earlier period: the L months before `from`,
    /// customers at start (`revenue_before` for a 12-month window).
    pub retention_base: i64,
}

impl Counts {
    fn add(&mut self, other: &Self) {
        self.at_start += other.at_start;
        self.gained += other.gained;
        self.lost += other.lost;
        self.lost_from_start += other.lost_from_start;
        self.won_back += other.won_back;
        self.retained += other.retained;
        self.at_end += other.at_end;
        self.revenue_before += other.revenue_before;
        self.lost_revenue_before += other.lost_revenue_before;
        self.gained_revenue += other.gained_revenue;
        self.revenue_after += other.revenue_after;
        self.revenue_after_capped += other.revenue_after_capped;
        self.retention_base += other.retention_base;
    }

    pub fn retention_rate(&self) -> Option<f64> {
        ratio(self.retained as f64, self.at_start as f64)
    }
    pub fn churn_rate(&self) -> Option<f64> {
        ratio(self.lost_from_start as f64, self.at_start as f64)
    }
    pub fn gain_rate(&self) -> Option<f64> {
        ratio(self.gained as f64, self.at_start as f64)
    }
    pub fn net_change_rate(&self) -> Option<f64> {
        ratio((self.at_end - self.at_start) as f64, self.at_start as f64)
    }
    pub fn lost_revenue_share(&self) -> Option<f64> {
        ratio(self.lost_revenue_before as f64, self.revenue_before as f64)
    }
    /// Mean revenue of a gained customer over mean revenue of a lost one.
    pub fn new_customer_revenue_ratio(&self) -> Option<f64> {
        let gained_mean = ratio(self.gained_revenue as f64, self.gained as f64)?;
        let lost_mean = ratio(self.lost_revenue_before as f64, self.lost_from_start as f64)?;
        ratio(gained_mean, lost_mean)
    }
    pub fn gross_revenue_retention(&self) -> Option<f64> {
        ratio(self.revenue_after_capped as f64, self.retention_base as f64)
    }
    pub fn net_revenue_retention(&self) -> Option<f64> {
        ratio(self.revenue_after as f64, self.retention_base as f64)
    }
}

/// One group of a split report.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Stable key: a user or team id (`User:`/`Team:` + id), an enum name, or the text; `NONE` when unset.
    pub key: String,
    pub label: String,
    pub counts: Counts,
}

/// Lost customers by the reason of their loss.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonFigure {
    /// None: no churn event recorded (activity basis).
    pub reason: Option<ChurnReason>,
    pub controllable: Option<bool>,
    pub count: i64,
    pub lost_revenue_before: i64,
}

/// One month of the window, for charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub month: NaiveDate,
    /// Active at the month's end (or at `to`, for the last month).
    pub customers: i64,
    pub gained: i64,
    pub lost: i64,
    pub revenue: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetentionReport {
    pub query: RetentionQuery,
    /// The viewer's customers the report left out, by reason.
    pub excluded: Vec<crate::analytics::excluded::Excluded>,
    pub total: Counts,
    pub groups: Vec<Group>,
    pub reasons: Vec<ReasonFigure>,
    pub points: Vec<Point>,
}

impl PartialEq for RetentionQuery {
    fn eq(&self, other: &Self) -> bool {
        (self.from, self.to, self.group_by, self.basis) == (other.from, other.to, other.group_by, other.basis)
    }
}

impl RetentionReport {
    /// Share of the lost customers whose reason was in our hands.
    pub fn controllable_share(&self) -> Option<f64> {
        let controllable: i64 = self.reasons.iter().filter(|r| r.controllable == Some(true)).map(|r| r.count).sum();
        ratio(controllable as f64, self.total.lost as f64)
    }
}

/// The SQL of the report, for one query.
struct Plan {
    dialect: Dialect,
    query: RetentionQuery,
    /// `AND <customer> IN (...)` for the viewer, on the customer table (`c.id`) and on revenue (`r.customer_id`).
    visible: (String, String),
    /// The same, on the owner of a per-owner rollup (`o.owner_id`).
    visible_owner: String,
    rules: SegmentRules,
    /// The CTEs of each customer's top visible ancestor (`grp`), when grouping by GROUP.
    groups: String,
}

impl Plan {
    fn d(&self, date: NaiveDate) -> String {
        self.dialect.date(date)
    }

    /// The viewer's customers the report looks at, as the CTE `vc`. Their
    /// `customer_since` is where their history starts (`crate::rules`: the
    /// date set, else the first month with revenue).
    fn customers(&self) -> String {
        let since = match self.query.basis {
            Basis::Events => {
                format!("WHERE s.customer_since IS NOT NULL AND s.customer_since <= {}", self.d(self.query.to))
            }
            Basis::Activity { .. } => String::new(),
        };
        // Only the columns the report needs: the facts are materialised, row by row.
        let extra = match self.query.group_by {
            GroupBy::Region => ", c.region",
            GroupBy::Industry => ", c.industry",
            _ => "",
        };
        format!(
            "vc AS (SELECT * FROM (SELECT c.id, c.owner_id, {start} AS customer_since{extra} FROM customer c \
             WHERE c.archived_at IS NULL {visible}) s {since})",
            start = crate::rules::customer_start_sql("c"),
            visible = self.visible.0
        )
    }

    /// Why the viewer's customers left out of the report are: archived ones
    /// count nowhere; on the events basis those without a start (no
    /// `customerSince`, no revenue) or starting after `to`, on the activity
    /// basis those that never bought.
    fn exclusions(&self) -> String {
        match self.query.basis {
            Basis::Events => format!(
                "CASE WHEN c.archived_at IS NOT NULL THEN 'ARCHIVED' WHEN {start} IS NULL THEN 'NO_START_DATE' \
                 WHEN {start} > {to} THEN 'NOT_A_CUSTOMER' END",
                start = crate::rules::customer_start_sql("c"),
                to = self.d(self.query.to),
            ),
            Basis::Activity { .. } => "CASE WHEN c.archived_at IS NOT NULL THEN 'ARCHIVED' \
                 WHEN NOT EXISTS (SELECT 1 FROM revenue_entry r WHERE r.customer_id = c.id AND r.revenue_cents > 0) \
                 THEN 'NEVER_BOUGHT' END"
                .to_owned(),
        }
    }

    /// The latest churn event of each customer in a date range, as a CTE.
    fn latest_event(&self, name: &str, range: &str) -> String {
        format!(
            "{name} AS (SELECT customer_id, kind, reason, occurred_on FROM ( \
               SELECT e.customer_id, e.kind, e.reason, e.occurred_on, \
                 ROW_NUMBER() OVER (PARTITION BY e.customer_id ORDER BY e.occurred_on DESC, e.id DESC) AS rn \
               FROM churn_event e WHERE {range} {visible} \
             ) ranked WHERE rn = 1)",
            visible = self.visible.1.replace("r.customer_id", "e.customer_id"),
        )
    }

    /// Per customer: revenue in the 12 months before `from` (`rb`) and in the
    /// window's last 12 months (`rl`), as the CTE `rv`. Each is one row of the
    /// 12-month rollup: the months before `from` end with the month of the day
    /// before it; the window's last ones with the month of `to`. On the activity
    /// basis the revenue rows are read too, for who bought when.
    fn revenue(&self) -> String {
        let RetentionQuery { from, to, .. } = self.query;
        let Basis::Activity { inactive_months } = self.query.basis else {
            return String::new();
        };
        let months = i32::try_from(inactive_months).unwrap_or(MAX_MONTHS);
        let (start_from, start_to) = (self.d(add_months(from, -months)), self.d(add_months(to, -months)));
        let (from, to) = (self.d(from), self.d(to));
        format!(
            "rv AS (SELECT r.customer_id, \
               MAX(CASE WHEN r.month > {start_from} AND r.month <= {from} AND r.revenue_cents > 0 THEN 1 ELSE 0 END) AS act_from, \
               MAX(CASE WHEN r.month > {start_to} AND r.month <= {to} AND r.revenue_cents > 0 THEN 1 ELSE 0 END) AS act_to, \
               MAX(CASE WHEN r.month > {from} AND r.month <= {to} AND r.revenue_cents > 0 THEN 1 ELSE 0 END) AS act_win, \
               MAX(CASE WHEN r.month <= {to} AND r.revenue_cents > 0 THEN r.month END) AS last_month \
             FROM revenue_entry r WHERE r.month > {start_from} AND r.month <= {to} {visible} GROUP BY r.customer_id)",
            visible = self.visible.1,
        )
    }

    /// Joins of each customer's revenue in the 12 months before `from` (`rb`)
    /// and in the window's last 12 months (`rl`): one row of the 12-month
    /// rollup each (the months before `from` end with the month of the day
    /// before it; the window's last ones with the month of `to`).
    fn revenue_joins(&self) -> String {
        let RetentionQuery { from, to, .. } = self.query;
        let before = self.d(month_start(from.pred_opt().unwrap_or(from)));
        let last = self.d(month_start(to));
        format!(
            "LEFT JOIN revenue_t12 tb ON tb.month = {before} AND tb.customer_id = vc.id \
             LEFT JOIN revenue_t12 tl ON tl.month = {last} AND tl.customer_id = vc.id"
        )
    }

    /// The window's length in whole months (at least 1): revenue retention
    /// compares the L months of the window's end with the L months before
    /// `from`, two periods of the same length that never overlap.
    fn window_months(&self) -> i32 {
        let RetentionQuery { from, to, .. } = self.query;
        (1..=MAX_MONTHS).take_while(|n| add_months(from, *n) <= to).last().unwrap_or(1)
    }

    /// For a window of other than 12 months, each customer's revenue in the L
    /// months before `from` (`rrb`) and in the window's last L months (`rra`),
    /// as the CTE `rr`; a 12-month window reads both from the rollup.
    fn retention_periods(&self) -> Option<String> {
        let months = self.window_months();
        if months == 12 {
            return None;
        }
        let RetentionQuery { from, to, .. } = self.query;
        // The later period never starts before `from`, so the two cannot overlap.
        let (before, after) = (self.d(add_months(from, -months)), self.d(add_months(to, -months).max(from)));
        let (from, to) = (self.d(from), self.d(to));
        Some(format!(
            "rr AS (SELECT r.customer_id, \
               CAST(SUM(CASE WHEN r.month >= {before} AND r.month < {from} THEN r.revenue_cents ELSE 0 END) AS BIGINT) AS rrb, \
               CAST(SUM(CASE WHEN r.month > {after} AND r.month <= {to} THEN r.revenue_cents ELSE 0 END) AS BIGINT) AS rra \
             FROM revenue_entry r WHERE r.month >= {before} AND r.month <= {to} {visible} GROUP BY r.customer_id)",
            visible = self.visible.1,
        ))
    }

    /// Everything the report counts, one row per customer, as the CTE `facts`.
    fn facts(&self) -> String {
        let (from, to) = (self.d(self.query.from), self.d(self.query.to));
        let mut ctes = vec![
            self.customers(),
            self.latest_event("ev_from", &format!("e.occurred_on <= {from}")),
            self.latest_event("ev_win", &format!("e.occurred_on > {from} AND e.occurred_on <= {to}")),
            // One row per customer with both (one join: SQLite indexes it; two it may scan).
            "ev AS (SELECT customer_id, MAX(f_kind) AS f_kind, MAX(w_kind) AS w_kind, MAX(w_reason) AS w_reason, \
               MAX(w_on) AS w_on FROM ( \
               SELECT customer_id, kind AS f_kind, NULL AS w_kind, NULL AS w_reason, NULL AS w_on FROM ev_from \
               UNION ALL SELECT customer_id, NULL, kind, reason, occurred_on FROM ev_win) both_events \
             GROUP BY customer_id)"
                .to_owned(),
        ];
        if let Basis::Activity { .. } = self.query.basis {
            ctes.push(self.revenue());
        }
        let states = self.life_cycle_columns(&mut ctes);
        let (activity_join, firsts_join) = match self.query.basis {
            Basis::Activity { .. } => {
                ("LEFT JOIN rv ON rv.customer_id = vc.id", "LEFT JOIN firsts fm ON fm.customer_id = vc.id")
            }
            Basis::Events => ("", ""),
        };
        let segment_join = if self.query.group_by == GroupBy::Segment {
            // The segment a customer had on `from`: its rank over the last 12
            // complete months then, among the customers live then.
            ctes.push(format!(
                "seg AS ({})",
                segment_sql(self.dialect, self.rules, self.query.from, Ranked::LiveOn(self.query.from))
            ));
            "LEFT JOIN seg ON seg.customer_id = vc.id"
        } else {
            ""
        };
        let revenue_joins = self.revenue_joins();
        let (retention_columns, retention_join) = match self.retention_periods() {
            None => {
                ("COALESCE(tb.revenue_cents, 0) AS rrb, COALESCE(tl.revenue_cents, 0) AS rra".to_owned(), String::new())
            }
            Some(cte) => {
                ctes.push(cte);
                (
                    "COALESCE(rr.rrb, 0) AS rrb, COALESCE(rr.rra, 0) AS rra".to_owned(),
                    "LEFT JOIN rr ON rr.customer_id = vc.id".to_owned(),
                )
            }
        };
        let (key, team_join) = self.group_column(&mut ctes);
        ctes.push(format!(
            "facts AS MATERIALIZED (SELECT vc.id, {key} AS gkey, \
               {states}, COALESCE(tb.revenue_cents, 0) AS rb, COALESCE(tl.revenue_cents, 0) AS rl, \
               {retention_columns}, \
               CASE WHEN ev.w_kind = 'LOST' THEN ev.w_reason END AS reason \
             FROM vc {team_join} \
               LEFT JOIN ev ON ev.customer_id = vc.id \
               {revenue_joins} {activity_join} {firsts_join} {segment_join} {retention_join})"
        ));
        let recursive = if self.query.group_by == GroupBy::Group { "RECURSIVE " } else { "" };
        format!("WITH {recursive}{}", ctes.join(", "))
    }

    /// The life-cycle flags of each customer over the window (`at_start`,
    /// `at_end`, `gained`, `lost`, `won_back`, with their dates), by churn
    /// events or by revenue activity; the activity basis adds the CTE `firsts`.
    fn life_cycle_columns(&self, ctes: &mut Vec<String>) -> String {
        let (from, to) = (self.d(self.query.from), self.d(self.query.to));
        match self.query.basis {
            Basis::Events => format!(
                "CASE WHEN vc.customer_since <= {from} AND (ev.f_kind IS NULL OR ev.f_kind <> 'LOST') THEN 1 ELSE 0 END AS at_start, \
                 CASE WHEN COALESCE(ev.w_kind, ev.f_kind, 'NONE') <> 'LOST' THEN 1 ELSE 0 END AS at_end, \
                 CASE WHEN vc.customer_since > {from} THEN 1 ELSE 0 END AS gained, \
                 CASE WHEN ev.w_kind = 'LOST' THEN 1 ELSE 0 END AS lost, \
                 CASE WHEN vc.customer_since <= {from} AND ev.f_kind = 'LOST' AND ev.w_kind = 'WON_BACK' THEN 1 ELSE 0 END AS won_back, \
                 CASE WHEN ev.w_kind = 'LOST' THEN ev.w_on END AS lost_on, \
                 CASE WHEN vc.customer_since > {from} THEN vc.customer_since END AS gained_on"
            ),
            Basis::Activity { inactive_months } => {
                ctes.push(
                    "firsts AS (SELECT r.customer_id, MIN(r.month) AS first_month FROM revenue_entry r \
                     JOIN vc ON vc.id = r.customer_id WHERE r.revenue_cents > 0 GROUP BY r.customer_id)"
                        .to_owned(),
                );
                let lost_on = self.dialect.plus_months("rv.last_month", inactive_months);
                format!(
                    "COALESCE(rv.act_from, 0) AS at_start, COALESCE(rv.act_to, 0) AS at_end, \
                     CASE WHEN fm.first_month > {from} AND fm.first_month <= {to} THEN 1 ELSE 0 END AS gained, \
                     CASE WHEN (COALESCE(rv.act_from, 0) = 1 OR COALESCE(rv.act_win, 0) = 1) AND COALESCE(rv.act_to, 0) = 0 \
                       THEN 1 ELSE 0 END AS lost, \
                     CASE WHEN COALESCE(rv.act_from, 0) = 0 AND fm.first_month <= {from} AND COALESCE(rv.act_win, 0) = 1 \
                       THEN 1 ELSE 0 END AS won_back, \
                     CASE WHEN (COALESCE(rv.act_from, 0) = 1 OR COALESCE(rv.act_win, 0) = 1) AND COALESCE(rv.act_to, 0) = 0 \
                       THEN {lost_on} END AS lost_on, \
                     CASE WHEN fm.first_month > {from} AND fm.first_month <= {to} THEN fm.first_month END AS gained_on"
                )
            }
        }
    }

    /// The group a customer counts in, and the join it needs; owner, team
    /// and tier are as they were at the start of the window (the CTE `st`).
    fn group_column(&self, ctes: &mut Vec<String>) -> (&'static str, &'static str) {
        if matches!(self.query.group_by, GroupBy::Owner | GroupBy::Team | GroupBy::Tier) {
            ctes.push(self.as_of_start());
        }
        if self.query.group_by == GroupBy::Group {
            ctes.push(self.groups.clone());
        }
        match self.query.group_by {
            GroupBy::None => ("'ALL'", ""),
            GroupBy::Owner => ("CAST(st.owner_id AS TEXT)", "JOIN st ON st.id = vc.id"),
            GroupBy::Team => ("CAST(st.team_id AS TEXT)", "JOIN st ON st.id = vc.id"),
            GroupBy::Tier => ("st.tier", "JOIN st ON st.id = vc.id"),
            GroupBy::Segment => ("seg.segment", ""),
            GroupBy::Region => ("vc.region", ""),
            GroupBy::Industry => ("vc.industry", ""),
            GroupBy::Group => ("CAST(grp.top AS TEXT)", "LEFT JOIN grp ON grp.start = vc.id"),
        }
    }

    /// Each customer's owner, owner's team and tier at the start of the
    /// window (the end of `from`), as the CTE `st`: from the history the
    /// database keeps (`customer_history`, `user_team_history`), the row in
    /// force then, or, for a customer or user whose history starts later,
    /// its first row; without any history, the values as they are now.
    fn as_of_start(&self) -> String {
        let start = self.dialect.timestamp(self.query.from.succ_opt().unwrap_or(self.query.from));
        let customer_row = format!(
            "COALESCE( \
               (SELECT hh.id FROM customer_history hh WHERE hh.customer_id = vc.id AND hh.valid_from < {start} \
                ORDER BY hh.valid_from DESC, hh.id DESC LIMIT 1), \
               (SELECT hh.id FROM customer_history hh WHERE hh.customer_id = vc.id ORDER BY hh.valid_from, hh.id LIMIT 1))"
        );
        let team_row = format!(
            "COALESCE( \
               (SELECT tt.id FROM user_team_history tt WHERE tt.user_id = o.owner_id AND tt.valid_from < {start} \
                ORDER BY tt.valid_from DESC, tt.id DESC LIMIT 1), \
               (SELECT tt.id FROM user_team_history tt WHERE tt.user_id = o.owner_id ORDER BY tt.valid_from, tt.id LIMIT 1))"
        );
        format!(
            "own AS (SELECT vc.id, COALESCE(h.owner_id, c.owner_id) AS owner_id, \
               CASE WHEN h.id IS NULL THEN c.tier ELSE h.tier END AS tier \
             FROM vc JOIN customer c ON c.id = vc.id LEFT JOIN customer_history h ON h.id = {customer_row}), \
             st AS (SELECT o.id, o.owner_id, o.tier, CASE WHEN t.id IS NULL THEN u.team_id ELSE t.team_id END AS team_id \
             FROM own o LEFT JOIN app_user u ON u.id = o.owner_id LEFT JOIN user_team_history t ON t.id = {team_row})"
        )
    }

    fn group_key(&self) -> &'static str {
        // Without a split there is no GROUP BY, and a column may not be selected bare.
        if self.query.group_by == GroupBy::None { "'ALL'" } else { "gkey" }
    }

    /// Everything counted from the facts, in one pass: the figures per group
    /// (`part` G), the lost customers per reason (R) and gains and losses per
    /// month (M), as rows of one shape (`k` and up to 12 numbers).
    fn figures_sql(&self) -> String {
        let key = self.group_key();
        let group = if self.query.group_by == GroupBy::None { String::new() } else { format!("GROUP BY {key}") };
        let month = |expr: &str| format!("CAST({} AS TEXT)", self.dialect.month_of(expr));
        let pad = |n: usize| vec!["0"; n].join(", ");
        format!(
            "{facts} \
             SELECT 'G' AS part, {key} AS k, \
               CAST(SUM(at_start) AS BIGINT) AS v1, CAST(SUM(gained) AS BIGINT) AS v2, \
               CAST(SUM(lost) AS BIGINT) AS v3, CAST(SUM(lost * at_start) AS BIGINT) AS v4, \
               CAST(SUM(won_back) AS BIGINT) AS v5, CAST(SUM(at_start * at_end) AS BIGINT) AS v6, \
               CAST(SUM(at_end) AS BIGINT) AS v7, CAST(SUM(at_start * rb) AS BIGINT) AS v8, \
               CAST(SUM(at_start * lost * rb) AS BIGINT) AS v9, CAST(SUM(gained * rl) AS BIGINT) AS v10, \
               CAST(SUM(at_start * rra) AS BIGINT) AS v11, \
               CAST(SUM(at_start * (CASE WHEN rra < rrb THEN rra ELSE rrb END)) AS BIGINT) AS v12, \
               CAST(SUM(at_start * rrb) AS BIGINT) AS v13 \
             FROM facts {group} \
             UNION ALL SELECT 'R', reason, COUNT(*), CAST(SUM(at_start * rb) AS BIGINT), {pad10} \
             FROM facts WHERE lost = 1 GROUP BY reason \
             UNION ALL SELECT 'M', m, CAST(SUM(g) AS BIGINT), CAST(SUM(l) AS BIGINT), {pad10} FROM ( \
               SELECT {gained_month} AS m, 1 AS g, 0 AS l FROM facts WHERE gained = 1 \
               UNION ALL SELECT {lost_month} AS m, 0 AS g, 1 AS l FROM facts WHERE lost = 1 \
             ) monthly GROUP BY m",
            facts = self.facts(),
            pad10 = pad(11),
            gained_month = month("gained_on"),
            lost_month = month("lost_on"),
        )
    }
}

/// Months of the window: the month of `from` to the month of `to`.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut months = Vec::new();
    let mut month = month_start(from);
    while month <= to {
        months.push(month);
        month = add_months(month, 1);
    }
    months
}

fn counts(row: &sea_orm::QueryResult) -> AppResult<Counts> {
    Ok(Counts {
        at_start: int(row, "v1")?,
        gained: int(row, "v2")?,
        lost: int(row, "v3")?,
        lost_from_start: int(row, "v4")?,
        won_back: int(row, "v5")?,
        retained: int(row, "v6")?,
        at_end: int(row, "v7")?,
        revenue_before: int(row, "v8")?,
        lost_revenue_before: int(row, "v9")?,
        gained_revenue: int(row, "v10")?,
        revenue_after: int(row, "v11")?,
        revenue_after_capped: int(row, "v12")?,
        retention_base: int(row, "v13")?,
    })
}

/// Checks a report's window.
pub fn check_window(from: NaiveDate, to: NaiveDate) -> AppResult<()> {
    if to < from {
        return Err(AppError::bad_input("to", "`to` must not be before `from`"));
    }
    if add_months(from, MAX_MONTHS) < to {
        return Err(AppError::bad_input("to", format!("a report covers at most {MAX_MONTHS} months")));
    }
    Ok(())
}

/// Computes the report for the viewer's customers.
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn report(
    db: &DatabaseConnection,
    viewer: &Viewer,
    rules: SegmentRules,
    query: RetentionQuery,
) -> AppResult<RetentionReport> {
    check_window(query.from, query.to)?;
    let txn = begin_read(db).await?;
    let db = &txn;
    if let Basis::Activity { inactive_months } = query.basis
        && !(1..=36).contains(&inactive_months)
    {
        return Err(AppError::bad_input("inactiveMonths", "inactiveMonths must be between 1 and 36"));
    }
    let dialect = Dialect::of(db);
    let visible = (
        crate::policy::visible_sql(dialect, viewer, Resource::Customers, "c.id"),
        crate::policy::visible_sql(dialect, viewer, Resource::Customers, "r.customer_id"),
    );
    let visible_owner = crate::policy::visible_owner_sql(dialect, viewer, Resource::Customers, "o.owner_id");
    let groups = if query.group_by == GroupBy::Group {
        crate::analytics::groups::top_ancestor_ctes(dialect, viewer, "grp", "1 = 1")
    } else {
        String::new()
    };
    let plan = Plan { dialect, query, visible, visible_owner, rules, groups };

    let mut groups = Vec::new();
    let mut total = Counts::default();
    let mut reasons = Vec::new();
    let mut monthly = HashMap::new();
    for row in dialect.rows(db, plan.figures_sql()).await? {
        let key = text(&row, "k")?;
        match text(&row, "part")?.as_deref() {
            Some("G") => {
                let counts = counts(&row)?;
                total.add(&counts);
                groups.push((key, counts));
            }
            Some("R") => {
                let reason = key.and_then(|r| ChurnReason::try_from_value(&r).ok());
                reasons.push(ReasonFigure {
                    reason,
                    controllable: reason.and_then(ChurnReason::controllability),
                    count: int(&row, "v1")?,
                    lost_revenue_before: int(&row, "v2")?,
                });
            }
            Some("M") => {
                if let Some(month) = key.and_then(|k| NaiveDate::parse_from_str(&k[..k.len().min(10)], "%Y-%m-%d").ok())
                {
                    monthly.insert(month_start(month), (int(&row, "v1")?, int(&row, "v2")?));
                }
            }
            _ => {}
        }
    }
    let groups =
        if query.group_by == GroupBy::None { Vec::new() } else { label(db, dialect, query.group_by, groups).await? };
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.map(|r| r.as_str()).cmp(&b.reason.map(|r| r.as_str()))));

    let points = points(db, &plan, &monthly).await?;
    let excluded = crate::analytics::excluded::count(db, dialect, viewer, &plan.exclusions()).await?;
    Ok(RetentionReport { query, excluded, total, groups, reasons, points })
}

/// Labels and sorts the groups: owners and teams by name, the rest by key.
async fn label(
    db: &impl ConnectionTrait,
    dialect: Dialect,
    group_by: GroupBy,
    groups: Vec<(Option<String>, Counts)>,
) -> AppResult<Vec<Group>> {
    let table = match group_by {
        GroupBy::Owner => Some(("app_user", "User", "No owner")),
        GroupBy::Team => Some(("team", "Team", "No team")),
        GroupBy::Group => Some(("customer", "Customer", "No group")),
        _ => None,
    };
    let mut names: HashMap<String, String> = HashMap::new();
    if let Some((table, _, _)) = table {
        let ids: Vec<String> =
            groups.iter().filter_map(|(k, _)| k.clone()).filter(|k| k.parse::<i64>().is_ok()).collect();
        if !ids.is_empty() {
            let sql = format!("SELECT CAST(id AS TEXT) AS id, name FROM {table} WHERE id IN ({})", ids.join(","));
            for row in dialect.rows(db, sql).await? {
                if let (Some(id), Some(name)) = (text(&row, "id")?, text(&row, "name")?) {
                    names.insert(id, name);
                }
            }
        }
    }
    let mut labelled: Vec<Group> = groups
        .into_iter()
        .map(|(key, counts)| {
            let (key, label) = match (key, table) {
                (None, Some((_, _, missing))) => ("NONE".to_owned(), missing.to_owned()),
                (None, None) => ("NONE".to_owned(), "Not set".to_owned()),
                (Some(id), Some((_, kind, _))) => {
                    let label = names.get(&id).cloned().unwrap_or_else(|| id.clone());
                    (format!("{kind}:{id}"), label)
                }
                (Some(value), None) => {
                    let label = match group_by {
                        GroupBy::Tier => {
                            PartnershipTier::try_from_value(&value).map_or(value.clone(), |t| title(t.as_str()))
                        }
                        GroupBy::Segment => {
                            Segment::try_from_value(&value).map_or(value.clone(), |s| title(s.as_str()))
                        }
                        _ => value.clone(),
                    };
                    (value, label)
                }
            };
            Group { key, label, counts }
        })
        .collect();
    labelled.sort_by(|a, b| {
        (a.key == "NONE").cmp(&(b.key == "NONE")).then(a.label.to_lowercase().cmp(&b.label.to_lowercase()))
    });
    Ok(labelled)
}

/// `LARGE_QUALITY` as "Large quality".
fn title(name: &str) -> String {
    let words = name.to_lowercase().replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The chart of the window: one point per month.
async fn points(
    db: &impl ConnectionTrait,
    plan: &Plan,
    monthly: &HashMap<NaiveDate, (i64, i64)>,
) -> AppResult<Vec<Point>> {
    let RetentionQuery { from, to, basis, .. } = plan.query;
    let dialect = plan.dialect;
    let months = months(from, to);
    let ends: Vec<NaiveDate> = months.iter().map(|m| month_end(*m).min(to)).collect();

    let mut revenue = HashMap::new();
    // The owners' monthly rollup: a handful of rows per month, whatever the book's size.
    let sql = format!(
        "SELECT o.month AS m, CAST(SUM(o.revenue_cents) AS BIGINT) AS rev FROM revenue_by_owner o \
         WHERE o.month >= {first} AND o.month <= {to} {visible} GROUP BY o.month",
        visible = plan.visible_owner,
        first = dialect.date(month_start(from)),
        to = dialect.date(to),
    );
    for row in dialect.rows(db, sql).await? {
        if let Some(month) = date(&row, "m")? {
            *revenue.entry(month_start(month)).or_insert(0) += int(&row, "rev")?;
        }
    }

    let active = match basis {
        Basis::Events => active_by_events(db, plan, &months, &ends).await?,
        Basis::Activity { inactive_months } => active_by_activity(db, plan, &ends, inactive_months).await?,
    };
    Ok(months
        .iter()
        .zip(active)
        .map(|(month, customers)| Point {
            month: *month,
            customers,
            gained: monthly.get(month).map_or(0, |m| m.0),
            lost: monthly.get(month).map_or(0, |m| m.1),
            revenue: revenue.get(month).copied().unwrap_or(0),
        })
        .collect())
}

/// Active customers at each month's end on the events basis, from monthly
/// deltas: +1 when a customer starts, +1/-1 when a LOST state begins/ends.
async fn active_by_events(
    db: &impl ConnectionTrait,
    plan: &Plan,
    months: &[NaiveDate],
    ends: &[NaiveDate],
) -> AppResult<Vec<i64>> {
    let dialect = plan.dialect;
    let to = dialect.date(plan.query.to);
    let sql = format!(
        "WITH {customers}, spans AS ( \
           SELECT e.kind, e.occurred_on, \
             LEAD(e.occurred_on) OVER (PARTITION BY e.customer_id ORDER BY e.occurred_on, e.id) AS next_on \
           FROM churn_event e JOIN vc ON vc.id = e.customer_id WHERE e.occurred_on <= {to}) \
         SELECT m, CAST(SUM(delta) AS BIGINT) AS delta FROM ( \
           SELECT {since} AS m, 1 AS delta FROM vc \
           UNION ALL SELECT {occurred} AS m, -1 AS delta FROM spans WHERE kind = 'LOST' \
           UNION ALL SELECT {next} AS m, 1 AS delta FROM spans WHERE kind = 'LOST' AND next_on IS NOT NULL AND next_on <= {to} \
         ) x GROUP BY m",
        customers = plan.customers(),
        since = dialect.month_of("customer_since"),
        occurred = dialect.month_of("occurred_on"),
        next = dialect.month_of("next_on"),
    );
    let mut deltas: Vec<(NaiveDate, i64)> = Vec::new();
    for row in dialect.rows(db, sql).await? {
        if let Some(month) = date(&row, "m")? {
            deltas.push((month_start(month), int(&row, "delta")?));
        }
    }
    Ok(months
        .iter()
        .zip(ends)
        .map(|(month, _)| deltas.iter().filter(|(m, _)| m <= month).map(|(_, d)| d).sum())
        .collect())
}

/// Active customers at each month's end on the activity basis: those with
/// revenue in the `inactive_months` months up to it.
async fn active_by_activity(
    db: &impl ConnectionTrait,
    plan: &Plan,
    ends: &[NaiveDate],
    inactive_months: u32,
) -> AppResult<Vec<i64>> {
    let dialect = plan.dialect;
    let months = i32::try_from(inactive_months).unwrap_or(MAX_MONTHS);
    let ends_table = ends
        .iter()
        .map(|end| format!("SELECT {} AS d, {} AS lo", dialect.date(*end), dialect.date(add_months(*end, -months))))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let sql = format!(
        "WITH {customers} SELECT p.d AS d, COUNT(DISTINCT r.customer_id) AS n FROM ({ends_table}) p \
         JOIN revenue_entry r ON r.month > p.lo AND r.month <= p.d JOIN vc ON vc.id = r.customer_id \
         WHERE r.revenue_cents > 0 GROUP BY p.d",
        customers = plan.customers(),
    );
    let mut active = HashMap::new();
    for row in dialect.rows(db, sql).await? {
        if let Some(end) = date(&row, "d")? {
            active.insert(end, int(&row, "n")?);
        }
    }
    Ok(ends.iter().map(|end| active.get(end).copied().unwrap_or(0)).collect())
}
