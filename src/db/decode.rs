//! The rows of the hottest relations (a page's contacts, communications and
//! tickets) decoded by position. SeaORM's decoding looks every column up by
//! name and, for each NULL, formats an error message it then discards; on a
//! page of a few hundred rows with optional columns that was a tenth of the
//! server's time. [`by_position!`] reads the same columns, in the entity's
//! column order (the order SeaORM selects them in), straight from the
//! driver's row, with the same types; any other row decodes through SeaORM.

use sea_orm::{
    ActiveEnum, DbErr, QueryResult,
    sqlx::{ColumnIndex, Decode, Row, Type},
};

/// A model that can be read from a row by position.
pub trait ByPosition: Sized {
    /// The model in the row's first columns, in the entity's column order.
    fn decode(row: &QueryResult) -> Result<Self, DbErr>;
}

/// Column `index` of a driver row, as `T`.
pub fn column<'r, R, T>(row: &'r R, index: usize) -> Result<T, DbErr>
where
    R: Row,
    usize: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    // Unchecked: the types are the entity's own, which SeaORM's checked decoding of the same
    // columns elsewhere (and the tests comparing both) hold to the schema.
    row.try_get_unchecked(index).map_err(|err| DbErr::Type(format!("column {index}: {err}")))
}

/// A stored enum value from its text.
pub fn enumerated<E: ActiveEnum<Value = String>>(text: String) -> Result<E, DbErr> {
    E::try_from_value(&text)
}

/// Implements [`ByPosition`] for an entity's model: every field in column
/// order, each a plain value (`value`) or a stored enum (`enumerated`,
/// `optional_enumerated`).
macro_rules! by_position {
    ($model:ty { $($field:ident: $how:ident),* $(,)? }) => {
        impl $crate::db::decode::ByPosition for $model {
            // The last column's increment is never read.
            #[allow(unused_assignments)]
            fn decode(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
                if let Some(row) = row.try_as_pg_row() {
                    let mut index = 0usize;
                    return Ok(Self { $($field: $crate::db::decode::by_position!(@read row, index, $how)),* });
                }
                if let Some(row) = row.try_as_sqlite_row() {
                    let mut index = 0usize;
                    return Ok(Self { $($field: $crate::db::decode::by_position!(@read row, index, $how)),* });
                }
                <$model as sea_orm::FromQueryResult>::from_query_result(row, "")
            }
        }
    };
    (@read $row:ident, $index:ident, value) => {{
        let value = $crate::db::decode::column($row, $index)?;
        $index += 1;
        value
    }};
    (@read $row:ident, $index:ident, enumerated) => {{
        let text: String = $crate::db::decode::column($row, $index)?;
        $index += 1;
        $crate::db::decode::enumerated(text)?
    }};
    (@read $row:ident, $index:ident, optional_enumerated) => {{
        let text: Option<String> = $crate::db::decode::column($row, $index)?;
        $index += 1;
        text.map($crate::db::decode::enumerated).transpose()?
    }};
}
pub(crate) use by_position;

by_position!(entity::contact::Model {
    id: value,
    customer_id: value,
    name: value,
    title: value,
    department: value,
    org_level: enumerated,
    influence: value,
    relationship_strength: value,
    birthday: value,
    email: value,
    phone: value,
    started_on: value,
    ended_on: value,
    version: value,
    archived_at: value,
    created_at: value,
    updated_at: value,
    merged_into_id: value,
});

by_position!(entity::communication::Model {
    id: value,
    customer_id: value,
    user_id: value,
    channel: enumerated,
    direction: enumerated,
    occurred_at: value,
    summary: value,
    follow_up_on: value,
    archived_at: value,
    created_at: value,
    updated_at: value,
});

by_position!(entity::ticket::Model {
    id: value,
    customer_id: value,
    contact_id: value,
    assignee_id: value,
    title: value,
    description: value,
    category: enumerated,
    priority: enumerated,
    status: enumerated,
    first_response_due_at: value,
    resolution_due_at: value,
    first_responded_at: value,
    resolved_at: value,
    version: value,
    archived_at: value,
    created_at: value,
    updated_at: value,
});

by_position!(entity::ticket_event::Model {
    id: value,
    ticket_id: value,
    kind: enumerated,
    actor_id: value,
    body: value,
    from_value: value,
    to_value: value,
    created_at: value,
    updated_at: value,
});

by_position!(entity::customer::Model {
    id: value,
    name: value,
    industry: value,
    region: value,
    status: enumerated,
    owner_id: value,
    parent_id: value,
    tier: optional_enumerated,
    purchasing_fit: optional_enumerated,
    strategic_importance: enumerated,
    segment: optional_enumerated,
    segment_rank: value,
    revenue_t12m_cents: value,
    gross_profit_t12m_cents: value,
    customer_since: value,
    next_review_on: value,
    version: value,
    archived_at: value,
    created_at: value,
    updated_at: value,
    merged_into_id: value,
});

by_position!(entity::commitment::Model {
    id: value,
    customer_id: value,
    kind: enumerated,
    description: value,
    amount_cents: value,
    due_on: value,
    fulfilled_on: value,
    owner_id: value,
    version: value,
    archived_at: value,
    created_at: value,
    updated_at: value,
});

by_position!(entity::task::Model {
    id: value,
    customer_id: value,
    contact_id: value,
    ticket_id: value,
    commitment_id: value,
    communication_id: value,
    title: value,
    notes: value,
    owner_id: value,
    due_on: value,
    priority: enumerated,
    status: enumerated,
    source: enumerated,
    playbook_id: value,
    occurrence_key: value,
    created_by: value,
    closed_by: value,
    closed_at: value,
    version: value,
    created_at: value,
    updated_at: value,
});
