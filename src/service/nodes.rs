//! Rows by kind and id, through the policy: the one read behind `node`,
//! `nodes`, the change feed's rows and the relationship graph's nodes. One
//! statement per kind asked for, whatever the number of ids; an id that
//! names nothing the viewer may see is simply absent from the answer.

use std::collections::HashMap;

use entity::{
    churn_event, commitment, communication, contact, customer, customer_link, partnership, partnership_change,
    revenue_entry, supply_priority, survey_response, task, team, ticket, ticket_event, user,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::{
    error::AppResult,
    policy::{self, Resource, Viewer},
    service::{Services, changes::ChangeEntity, links, tickets, users},
};

macro_rules! kinds {
    ($($(#[$meta:meta])* $kind:ident($model:ty),)*) => {
        /// A kind of row the API addresses by global ID (the ID's type name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind { $($(#[$meta])* $kind,)* }

        /// A row of one kind.
        #[derive(Debug, Clone)]
        pub enum Row { $($kind($model),)* }

        impl Kind {
            const ALL: &[Kind] = &[$(Kind::$kind,)*];

            /// The global ID's type name.
            pub fn name(self) -> &'static str {
                match self { $(Kind::$kind => stringify!($kind),)* }
            }
        }
    };
}

kinds! {
    Customer(customer::Model),
    Contact(contact::Model),
    Communication(communication::Model),
    Ticket(ticket::Model),
    TicketEvent(ticket_event::Model),
    /// A user addressed by id: only those whose details the viewer may see.
    User(user::Model),
    Team(team::Model),
    Partnership(partnership::Model),
    PartnershipChange(partnership_change::Model),
    SupplyPriority(supply_priority::Model),
    Commitment(commitment::Model),
    RevenueEntry(revenue_entry::Model),
    ChurnEvent(churn_event::Model),
    CustomerLink(customer_link::Model),
    SurveyResponse(survey_response::Model),
    Task(task::Model),
}

impl Kind {
    /// The kind a global ID's type name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// What a service account needs to read it.
    pub fn resource(self) -> Resource {
        match self {
            Self::Ticket | Self::TicketEvent => Resource::Tickets,
            _ => Resource::Customers,
        }
    }

    /// Whether reading a row of this kind counts toward the bulk-read audit
    /// (`crate::service::exports`): the accounts and the people in them, the
    /// list a departing rep would walk off with, whichever path reads them.
    pub fn counts_toward_exports(self) -> bool {
        matches!(self, Self::Customer | Self::Contact)
    }
}

impl From<ChangeEntity> for Kind {
    fn from(entity: ChangeEntity) -> Self {
        match entity {
            ChangeEntity::Customer => Self::Customer,
            ChangeEntity::Contact => Self::Contact,
            ChangeEntity::Communication => Self::Communication,
            ChangeEntity::Ticket => Self::Ticket,
            ChangeEntity::Commitment => Self::Commitment,
            ChangeEntity::RevenueEntry => Self::RevenueEntry,
            ChangeEntity::CustomerLink => Self::CustomerLink,
            ChangeEntity::Task => Self::Task,
        }
    }
}

/// The rows found, by kind and id.
pub type Rows = HashMap<(Kind, i64), Row>;

/// Rows of one kind: `$select` filtered by id.
macro_rules! load {
    ($rows:ident, $db:expr, $kind:ident, $select:expr, $column:path, $ids:expr) => {{
        for row in $select.filter($column.is_in($ids)).all($db).await? {
            $rows.insert((Kind::$kind, row.id), Row::$kind(row));
        }
    }};
}

/// Rows of a kind that belongs to a customer, scoped by the customer's visibility.
macro_rules! through_customer {
    ($rows:ident, $db:expr, $viewer:expr, $kind:ident, $module:ident, $ids:expr) => {
        load!(
            $rows,
            $db,
            $kind,
            $module::Entity::find().filter(policy::visible_through($viewer, $module::Column::CustomerId)),
            $module::Column::Id,
            $ids
        )
    };
}

/// The rows among `wanted` the viewer may read, one statement per kind.
/// Customers and contacts count toward the bulk-read audit
/// ([`Kind::counts_toward_exports`]).
pub async fn fetch(svc: &Services, viewer: &Viewer, wanted: &[(Kind, i64)]) -> AppResult<Rows> {
    let mut by_kind: HashMap<Kind, Vec<i64>> = HashMap::new();
    for (kind, id) in wanted {
        if policy::ensure_can_read(viewer, kind.resource()).is_ok() {
            by_kind.entry(*kind).or_default().push(*id);
        }
    }
    let db = &svc.db;
    let mut rows = Rows::new();
    for (kind, ids) in by_kind {
        match kind {
            Kind::Customer => load!(
                rows,
                db,
                Customer,
                customer::Entity::find().filter(policy::visible_customers(viewer)),
                customer::Column::Id,
                ids
            ),
            Kind::Contact => through_customer!(rows, db, viewer, Contact, contact, ids),
            Kind::Communication => through_customer!(rows, db, viewer, Communication, communication, ids),
            Kind::Ticket => load!(
                rows,
                db,
                Ticket,
                ticket::Entity::find().filter(policy::visible_tickets(viewer)),
                ticket::Column::Id,
                ids
            ),
            Kind::TicketEvent => {
                let all = tickets::TicketFilter { include_archived: true, ..Default::default() };
                let visible = tickets::select(viewer, &all).select_only().column(ticket::Column::Id).into_query();
                load!(
                    rows,
                    db,
                    TicketEvent,
                    ticket_event::Entity::find().filter(ticket_event::Column::TicketId.in_subquery(visible)),
                    ticket_event::Column::Id,
                    ids
                )
            }
            Kind::User => {
                load!(rows, db, User, user::Entity::find().filter(policy::visible_users(viewer)), user::Column::Id, ids)
            }
            Kind::Team => load!(rows, db, Team, users::select_teams(viewer), team::Column::Id, ids),
            Kind::Partnership => through_customer!(rows, db, viewer, Partnership, partnership, ids),
            Kind::PartnershipChange => through_customer!(rows, db, viewer, PartnershipChange, partnership_change, ids),
            Kind::SupplyPriority => through_customer!(rows, db, viewer, SupplyPriority, supply_priority, ids),
            Kind::Commitment => through_customer!(rows, db, viewer, Commitment, commitment, ids),
            Kind::RevenueEntry => through_customer!(rows, db, viewer, RevenueEntry, revenue_entry, ids),
            Kind::ChurnEvent => through_customer!(rows, db, viewer, ChurnEvent, churn_event, ids),
            Kind::CustomerLink => {
                load!(rows, db, CustomerLink, links::select(viewer, None, &[]), customer_link::Column::Id, ids)
            }
            Kind::SurveyResponse => through_customer!(rows, db, viewer, SurveyResponse, survey_response, ids),
            Kind::Task => through_customer!(rows, db, viewer, Task, task, ids),
        }
    }
    let counted = rows.keys().filter(|(kind, _)| kind.counts_toward_exports()).count();
    svc.exports.record(db, viewer, counted).await?;
    Ok(rows)
}
