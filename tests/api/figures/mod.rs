//! Computed figures, each checked against a fixture worked out by hand.

mod backtest;
mod churn_rules;
mod company_fixture;
mod counts;
mod data_paths;
mod groups;
mod health;
mod import;
mod reports;
mod retention;
mod revenue;
mod supply_plan;
