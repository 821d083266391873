//! Computed features: reports and scores that a CRUD store cannot answer,
//! computed with SQL aggregates over whole pages, scoped by the viewer like
//! every other read. Read-only: nothing here writes, and nothing here knows
//! about GraphQL (its adapters live in the schema layer).
