//! The computed reports in the API: thin adapters over `crate::analytics`,
//! one per report. Every report is scoped by the viewer like every list: a
//! rep's report covers the rep's customers.

/// `customerAggregates`.
pub mod aggregates;
/// `upcomingCareDates`.
pub mod care_dates;
/// `errorAudit`.
pub mod error_audit;
/// `excluded { reason count }` of the reports.
pub mod excluded;
/// `relationshipGraph`.
pub mod graph;
/// `Customer.health`, `atRiskCustomers`, `accountStatus`, `refreshAccountHealth`.
pub mod health;
/// `paretoReport`.
pub mod pareto;
/// `retentionReport` and `silentChurn`.
pub mod retention;
/// `segmentationSummary`.
pub mod segments;
/// Customer groups and their figures.
pub mod groups;
/// One account's timeline.
pub mod timeline;
