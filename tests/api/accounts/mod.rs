//! Customers and what hangs off them: contacts, hierarchy, links, communications, commitments, partnerships, pushes by external id, lists, the graph and the change feed.

mod care_dates;
mod changes;
mod commitments;
mod playbooks;
mod tasks;
mod timeline;
mod communications;
mod contacts;
mod custom_fields;
mod duplicates;
mod customers;
mod external;
mod graph;
mod hierarchy;
mod lists;
mod partnerships;
mod plain_fields;
mod relations;
