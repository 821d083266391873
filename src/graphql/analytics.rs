//! The computed reports in the API: thin adapters over `crate::analytics`,
//! one per report. Every report is scoped by the viewer like every list: a
//! rep's report covers the rep's customers.

/// `retentionReport` and `silentChurn`.
pub mod retention;
/// `paretoReport`.
pub mod pareto;
/// `segmentationSummary`.
pub mod segments;
/// `errorAudit`.
pub mod error_audit;
/// `customerAggregates`.
pub mod aggregates;
