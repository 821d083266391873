//! Rapport's SeaORM entities: persistence only, no API concerns.
//! Every table has an `i64` id, `created_at` and `updated_at`; rows people edit
//! carry a `version` for optimistic locking; user data is archived, never deleted.

pub mod enums;
pub mod external_ref;
pub mod field_access;
pub mod invitation;

pub mod api_token;
pub mod audit_log;
pub mod change_log;
pub mod churn_event;
pub mod commitment;
pub mod communication;
pub mod communication_contact;
pub mod contact;
pub mod custom_field;
pub mod custom_value;
pub mod customer;
pub mod customer_link;
pub mod key_date;
pub mod partnership;
pub mod partnership_change;
pub mod playbook;
pub mod refresh_token;
pub mod revenue_entry;
pub mod supply_priority;
pub mod survey_response;
pub mod task;
pub mod team;
pub mod ticket;
pub mod ticket_event;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod webhook_event;
