//! `errorAudit`.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use crate::{
    analytics::error_audit::{self as report, Period},
    graphql::{
        loaders::load_error,
        support::{context::request, enums::TicketCategory, guards, scalars::Date},
        tickets::Ticket,
    },
};

/// The period an error audit counts by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorAuditGroupBy {
    /// Calendar months.
    #[default]
    Month,
    /// Calendar quarters.
    Quarter,
}

/// Tickets of one category opened in one period.
#[derive(SimpleObject)]
pub struct ErrorAuditFigure {
    /// First day of the month or quarter.
    pub period: Date,
    /// The category.
    pub category: TicketCategory,
    /// Tickets opened.
    pub tickets: i64,
    /// Of those, resolved so far.
    pub resolved: i64,
    /// Median time from opening to resolution, in hours, of the resolved ones (nearest rank); null if none.
    pub median_resolution_hours: Option<f64>,
    /// 90th percentile of the same (nearest rank); null if none.
    pub p90_resolution_hours: Option<f64>,
    /// Share of the tickets that missed a deadline (first response or resolution, late or overdue).
    pub sla_breach_rate: Option<f64>,
}

/// The same failure hitting a second customer: `second` was opened at another customer within 90 days
/// after `first`, of the same category, was resolved.
pub struct Recurrence {
    first: i64,
    second: i64,
}

/// A failure that came back at another customer.
#[Object]
impl Recurrence {
    /// The earlier ticket, resolved.
    async fn first(&self, ctx: &Context<'_>) -> Result<Option<Ticket>> {
        ticket(ctx, self.first).await
    }
    /// The later ticket, at another customer.
    async fn second(&self, ctx: &Context<'_>) -> Result<Option<Ticket>> {
        ticket(ctx, self.second).await
    }
}

async fn ticket(ctx: &Context<'_>, id: i64) -> Result<Option<Ticket>> {
    let rc = request(ctx)?;
    Ok(rc.loaders.ticket_by_id().load_one(id).await.map_err(load_error)?.map(Ticket::one))
}

/// Failures by category over time, how fast they were resolved, and recurrences.
#[derive(SimpleObject)]
pub struct ErrorAudit {
    /// First day of the audit.
    pub from: Date,
    /// Last day of the audit.
    pub to: Date,
    /// One entry per period and category with tickets, oldest period first.
    pub figures: Vec<ErrorAuditFigure>,
    /// The most recent recurrences in the audit's window, newest first.
    pub recurrences: Vec<Recurrence>,
}

#[derive(Default)]
pub struct ErrorAuditQuery;

#[Object]
impl ErrorAuditQuery {
    /// The error audit of the tickets you can see, opened in `[from, to]`.
    #[graphql(guard = "guards::TICKETS")]
    async fn error_audit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First day (default: the first day of the last 12 complete months).")] from: Option<Date>,
        #[graphql(desc = "Last day (default: the last day of the last complete month).")] to: Option<Date>,
        #[graphql(desc = "Period to count by (default MONTH).", default_with = "Some(ErrorAuditGroupBy::Month)")]
        group_by: Option<ErrorAuditGroupBy>,
        #[graphql(
            desc = "How many recurrences to list, newest first (0 to 200, default 50).",
            default_with = "Some(50)"
        )]
        recurrences: Option<i32>,
    ) -> Result<ErrorAudit> {
        let rc = request(ctx)?;
        let period = match group_by.unwrap_or_default() {
            ErrorAuditGroupBy::Month => Period::Month,
            ErrorAuditGroupBy::Quarter => Period::Quarter,
        };
        let limit = u32::try_from(recurrences.unwrap_or(50))
            .map_err(|_| crate::error::AppError::bad_input("recurrences", "recurrences must not be negative"))?;
        let (first, last) = crate::rules::default_window(chrono::Utc::now().date_naive());
        let (from, to) = (from.map_or(first, |d| d.0), to.map_or(last, |d| d.0));
        let audit = report::audit(&rc.db, &rc.viewer(), from, to, period, limit).await?;
        Ok(ErrorAudit {
            from: Date(audit.from),
            to: Date(audit.to),
            figures: audit
                .figures
                .iter()
                .map(|f| ErrorAuditFigure {
                    period: Date(f.period),
                    category: f.category.into(),
                    tickets: f.tickets,
                    resolved: f.resolved,
                    median_resolution_hours: f.median_resolution_hours,
                    p90_resolution_hours: f.p90_resolution_hours,
                    sla_breach_rate: f.breach_rate(),
                })
                .collect(),
            recurrences: audit
                .recurrences
                .iter()
                .map(|r| Recurrence { first: r.first_ticket_id, second: r.second_ticket_id })
                .collect(),
        })
    }
}
