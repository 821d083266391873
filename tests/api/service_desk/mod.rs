//! Tickets, their SLA and history, live subscriptions and webhooks.

mod subscriptions;
mod ticket_lifecycle;
mod tickets;
mod webhooks;
