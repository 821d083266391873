//! Computed features: reports and scores that a CRUD store cannot answer,
//! computed with SQL aggregates over whole pages, scoped by the viewer like
//! every other read. Read-only: nothing here writes, and nothing here knows
//! about GraphQL (its adapters live in the schema layer).

/// One account at a glance, for mobile.
pub mod account_status;
/// Counts and trailing revenue per combination of dimensions.
pub mod aggregates;
/// The accounts slipping, worst first.
pub mod at_risk;
/// Birthdays and customer anniversaries coming up.
pub mod care_dates;
/// Failures by category over time, resolution times, recurrences.
pub mod error_audit;
/// Customers a report left out, and why.
pub mod excluded;
/// Explainable account health: the score, its level and its signals.
pub mod health;
/// The measured facts account health is computed from.
pub mod health_facts;
/// The facts of account health as they were at past instants, many at once.
pub mod facts_as_of;
/// A backtest of the health score on the company's history.
pub mod backtest;
/// The daily history of each customer's health.
pub mod health_history;
/// The 80/20 rule: top customers' shares, loss makers, the Lorenz curve.
pub mod pareto;
/// The relationship network around a customer, paged and bounded.
pub mod relationship_graph;
/// Retention and churn over a window, with their revenue impact.
pub mod retention;
/// The 80/20 segments: rules, and the summary of a date.
pub mod segments;
/// Customers that stopped buying without a recorded loss.
pub mod silent_churn;
/// Who gets scarce stock of a product line, and the rule that decided it.
pub mod supply_plan;
/// Groups of customers (a parent and its subsidiaries) and their figures.
pub mod groups;
/// One account's timeline across every table that records it.
pub mod timeline;

/// `part / whole`, or `None` when the whole is zero.
pub fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole != 0.0).then(|| part / whole)
}
