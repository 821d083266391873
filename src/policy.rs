//! The one place that decides which rows and scopes a viewer may use
//! (DESIGN.md "Who sees what"). Every query of customer-owned data goes through
//! these conditions, folded into the SQL `WHERE`, so invisible rows never load;
//! every write starts with one of the `ensure_*` or `writable` checks.
//!
//! - People: ADMIN and LEADER see every customer, a TEAM_LEAD the customers
//!   owned by the team's members, a REP the customers they own.
//! - Service accounts (INTEGRATION) see what their scopes name, nothing else:
//!   `customers:read` customers and everything under them except tickets,
//!   `tickets:read` tickets (with their history), `graph:read` the relationship
//!   graph, `revenue:write` pushing revenue, `customers:write` pushing
//!   customers and contacts by their own ids. They never edit customer data
//!   otherwise.
//! - A row outside the view is reported exactly like a row that does not exist.

use entity::{customer, enums::Role, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, SelectStatement},
};

use crate::{
    db::Dialect,
    error::{AppError, AppResult},
};

pub mod fields;

pub use fields::{HiddenFields, SensitiveField, ensure_may_use};

/// Who is asking: the signed-in user as the rules here see them. The
/// transport makes one per request (`crate::auth`); every rule below decides
/// from it.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: i64,
    pub role: Role,
    pub team_id: Option<i64>,
    pub scopes: Vec<String>,
    /// Who is calling, for the audit trail (set by the transport).
    pub client: Option<String>,
    /// The sensitive fields this viewer may not read (set by the transport from
    /// the stored policy, [`fields::FieldPolicy`]; none for work done on a
    /// user's behalf, which reads no field back to anyone).
    pub hidden: HiddenFields,
}

impl Viewer {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// A person (not a service account).
    pub fn is_person(&self) -> bool {
        self.role != Role::Integration
    }
}

/// Scope of a service account: read customers and everything under them (not tickets).
pub const SCOPE_CUSTOMERS_READ: &str = "customers:read";
/// Scope of a service account: read the relationship graph.
pub const SCOPE_GRAPH_READ: &str = "graph:read";
/// Scope of a service account: read service tickets and their history.
pub const SCOPE_TICKETS_READ: &str = "tickets:read";
/// Scope of a service account: push revenue entries.
pub const SCOPE_REVENUE_WRITE: &str = "revenue:write";
/// Scope of a service account: push customers and contacts by their external ids.
pub const SCOPE_CUSTOMERS_WRITE: &str = "customers:write";
/// Every scope a service account may hold.
pub const SCOPES: [&str; 5] =
    [SCOPE_CUSTOMERS_READ, SCOPE_CUSTOMERS_WRITE, SCOPE_GRAPH_READ, SCOPE_REVENUE_WRITE, SCOPE_TICKETS_READ];

/// BAD_USER_INPUT on `scopes` naming the first scope that is not one of [`SCOPES`].
pub fn ensure_known_scopes(scopes: &[String]) -> AppResult<()> {
    match scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        Some(unknown) => Err(AppError::bad_input("scopes", format!("unknown scope {unknown:?}"))),
        None => Ok(()),
    }
}

/// The kind of customer data a read touches; a service account needs the
/// matching scope, a person's role decides alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Customers and everything under them but tickets.
    Customers,
    /// Service tickets and their history.
    Tickets,
    /// The relationship graph.
    Graph,
}

impl Resource {
    /// The scope a service account needs.
    pub fn scope(self) -> &'static str {
        match self {
            Self::Customers => SCOPE_CUSTOMERS_READ,
            Self::Tickets => SCOPE_TICKETS_READ,
            Self::Graph => SCOPE_GRAPH_READ,
        }
    }
}

/// Which customers a viewer can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerScope {
    All,
    /// Customers owned by members of this team.
    Team(i64),
    /// Customers owned by this user.
    Owner(i64),
    Nothing,
}

impl CustomerScope {
    /// In-memory twin of [`visible_customers`], for live events: whether a
    /// customer owned by `owner_id` (a member of `owner_team`) is in scope.
    pub fn admits(self, owner_id: i64, owner_team: Option<i64>) -> bool {
        match self {
            Self::All => true,
            Self::Team(team) => owner_team == Some(team),
            Self::Owner(owner) => owner == owner_id,
            Self::Nothing => false,
        }
    }
}

/// The customers whose `resource` the viewer may read.
pub fn customer_scope(viewer: &Viewer, resource: Resource) -> CustomerScope {
    match viewer.role {
        Role::Admin | Role::Leader => CustomerScope::All,
        Role::TeamLead => viewer.team_id.map_or(CustomerScope::Owner(viewer.user_id), CustomerScope::Team),
        Role::Rep => CustomerScope::Owner(viewer.user_id),
        Role::Integration if viewer.has_scope(resource.scope()) => CustomerScope::All,
        Role::Integration => CustomerScope::Nothing,
    }
}

/// People pass; a service account needs the resource's scope (FORBIDDEN otherwise).
pub fn ensure_can_read(viewer: &Viewer, resource: Resource) -> AppResult<()> {
    if viewer.is_person() || viewer.has_scope(resource.scope()) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("this needs the {} scope", resource.scope())))
    }
}

/// A service account needs `scope`; people are refused (it is a machine-only operation).
pub fn ensure_scope(viewer: &Viewer, scope: &str) -> AppResult<()> {
    if viewer.role == Role::Integration && !viewer.has_scope(scope) {
        return Err(AppError::Forbidden(format!("this needs the {scope} scope")));
    }
    Ok(())
}

fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

fn team_members(team_id: i64) -> SelectStatement {
    user::Entity::find().select_only().column(user::Column::Id).filter(user::Column::TeamId.eq(team_id)).into_query()
}

fn scope_condition(scope: CustomerScope) -> Condition {
    owned_within(scope, Expr::col(customer::Column::OwnerId))
}

/// The scope as a condition on an owner column: the scope is by owner, so a
/// table kept per owner (such as the customer counts) is scoped like the customers.
fn owned_within(scope: CustomerScope, owner: Expr) -> Condition {
    match scope {
        CustomerScope::All => Condition::all(),
        CustomerScope::Team(team) => Condition::all().add(owner.in_subquery(team_members(team))),
        CustomerScope::Owner(owner_id) => Condition::all().add(owner.eq(owner_id)),
        CustomerScope::Nothing => nothing(),
    }
}

/// Rows kept per customer owner (in `owner_column`) that stand for customers the viewer can see.
pub fn visible_owned(viewer: &Viewer, owner_column: Expr) -> Condition {
    owned_within(customer_scope(viewer, Resource::Customers), owner_column)
}

/// Rows kept per owner that stand for customers owned by a member of `team`.
pub fn team_owned(team: i64, owner_column: Expr) -> Condition {
    owned_within(CustomerScope::Team(team), owner_column)
}

/// Condition on the `customer` table itself.
pub fn visible_customers(viewer: &Viewer) -> Condition {
    scope_condition(customer_scope(viewer, Resource::Customers))
}

/// The visible customers' ids, as a subquery.
pub fn visible_customer_ids(viewer: &Viewer) -> SelectStatement {
    visible_customer_ids_for(viewer, Resource::Customers)
}

/// The ids of the customers whose `resource` the viewer may read, as a subquery.
pub fn visible_customer_ids_for(viewer: &Viewer, resource: Resource) -> SelectStatement {
    customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(scope_condition(customer_scope(viewer, resource)))
        .into_query()
}

/// Condition on a table whose `customer_column` refers to a customer, for a
/// read of `resource`: the row is visible exactly when its customer is.
pub fn visible_through_for(viewer: &Viewer, resource: Resource, customer_column: impl ColumnTrait) -> Condition {
    match customer_scope(viewer, resource) {
        CustomerScope::All => Condition::all(),
        CustomerScope::Nothing => nothing(),
        scope => {
            let visible = customer::Entity::find()
                .select_only()
                .column(customer::Column::Id)
                .filter(scope_condition(scope))
                .into_query();
            Condition::all().add(customer_column.in_subquery(visible))
        }
    }
}

/// [`visible_through_for`] customer data (contacts, communications, commitments, ...).
pub fn visible_through(viewer: &Viewer, customer_column: impl ColumnTrait) -> Condition {
    visible_through_for(viewer, Resource::Customers, customer_column)
}

/// Condition on `customer_link`: a link is visible, and alive, when both its
/// ends are.
pub fn visible_links(viewer: &Viewer) -> Condition {
    use entity::customer_link;
    Condition::all()
        .add(customer_link::Column::ArchivedAt.is_null())
        .add(visible_through(viewer, customer_link::Column::FromCustomerId))
        .add(visible_through(viewer, customer_link::Column::ToCustomerId))
}

/// Condition on the `ticket` table.
pub fn visible_tickets(viewer: &Viewer) -> Condition {
    visible_through_for(viewer, Resource::Tickets, entity::ticket::Column::CustomerId)
}

/// `AND {column} IN (the viewer's customers)` as SQL text, or nothing when the viewer
/// sees every customer (the filter would only cost a join).
pub fn visible_sql(dialect: Dialect, viewer: &Viewer, resource: Resource, column: &str) -> String {
    match customer_scope(viewer, resource) {
        CustomerScope::All => String::new(),
        _ => format!("AND {column} IN ({})", dialect.subquery(&visible_customer_ids_for(viewer, resource))),
    }
}

/// `AND {column} IN (the owners whose customers the viewer sees)`, for
/// rollups kept per owner; nothing when the viewer sees every customer.
pub fn visible_owner_sql(dialect: Dialect, viewer: &Viewer, resource: Resource, column: &str) -> String {
    match customer_scope(viewer, resource) {
        CustomerScope::All => String::new(),
        CustomerScope::Team(team) => format!("AND {column} IN ({})", dialect.subquery(&team_members(team))),
        CustomerScope::Owner(owner) => format!("AND {column} = {owner}"),
        CustomerScope::Nothing => "AND 1 = 0".to_owned(),
    }
}

/// The customer with this id, if the viewer can see it; NOT_FOUND otherwise.
pub async fn visible_customer(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<customer::Model> {
    customer::Entity::find_by_id(id)
        .filter(visible_customers(viewer))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("customer"))
}

/// A row of a customer-owned table by id, if the viewer can see it (its
/// customer is visible for `resource`); NOT_FOUND, named `what`, otherwise.
pub async fn find_visible<E>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    resource: Resource,
    (id_column, customer_column): (E::Column, E::Column),
    id: i64,
    what: &'static str,
) -> AppResult<E::Model>
where
    E: EntityTrait,
{
    E::find()
        .filter(id_column.eq(id))
        .filter(visible_through_for(viewer, resource, customer_column))
        .one(db)
        .await?
        .ok_or(AppError::NotFound(what))
}

/// [`find_visible`] for a write: the viewer must also be a person.
pub async fn writable<E>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    columns: (E::Column, E::Column),
    id: i64,
    what: &'static str,
) -> AppResult<E::Model>
where
    E: EntityTrait,
{
    ensure_can_write(viewer)?;
    find_visible::<E>(db, viewer, Resource::Customers, columns, id, what).await
}

/// Service accounts only read (and push revenue with their scope); people write
/// within what they can see.
pub fn ensure_can_write(viewer: &Viewer) -> AppResult<()> {
    if viewer.role == Role::Integration {
        return Err(AppError::Forbidden("service accounts cannot change customer data".to_owned()));
    }
    Ok(())
}

/// Same as [`visible_customer`], for a write: the customer must be visible and
/// the viewer must be a person.
pub async fn writable_customer(db: &impl ConnectionTrait, viewer: &Viewer, id: i64) -> AppResult<customer::Model> {
    ensure_can_write(viewer)?;
    visible_customer(db, viewer, id).await
}

/// Leadership and admins manage the company's structure.
pub fn ensure_leadership(viewer: &Viewer) -> AppResult<()> {
    match viewer.role {
        Role::Admin | Role::Leader => Ok(()),
        _ => Err(AppError::Forbidden("only ADMIN or LEADER may do this".to_owned())),
    }
}

pub fn ensure_admin(viewer: &Viewer) -> AppResult<()> {
    if viewer.is_admin() { Ok(()) } else { Err(AppError::Forbidden("only ADMIN may do this".to_owned())) }
}

/// The customers the viewer may push revenue for: every customer for a
/// service account with `revenue:write` (an ERP knows all accounts), the
/// visible ones for a person; FORBIDDEN for a service account without it.
pub fn revenue_writable_customers(viewer: &Viewer) -> AppResult<Condition> {
    if viewer.role == Role::Integration {
        if viewer.has_scope(SCOPE_REVENUE_WRITE) {
            return Ok(Condition::all());
        }
        return Err(AppError::Forbidden(format!("the {SCOPE_REVENUE_WRITE} scope is required")));
    }
    Ok(visible_customers(viewer))
}

/// Condition on `app_user`: the users whose details (e-mail, phone, role,
/// scopes) the viewer may see, and whom `users` lists: leadership everyone, a
/// team lead their team and themselves, anyone else themselves.
pub fn visible_users(viewer: &Viewer) -> Condition {
    match viewer.role {
        Role::Admin | Role::Leader => Condition::all(),
        Role::TeamLead => match viewer.team_id {
            Some(team) => Condition::any().add(user::Column::TeamId.eq(team)).add(user::Column::Id.eq(viewer.user_id)),
            None => Condition::all().add(user::Column::Id.eq(viewer.user_id)),
        },
        Role::Rep | Role::Integration => Condition::all().add(user::Column::Id.eq(viewer.user_id)),
    }
}

/// A detail of a user's record that not everyone who meets the user may read.
/// Anyone who meets a user (an account's owner, a ticket's assignee, an
/// event's actor, a graph node) sees the id, name, team and whether they are
/// active: enough to know who owns an account or works on a ticket, nothing to
/// contact or impersonate them with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDetail {
    Email,
    Phone,
    Role,
    Scopes,
    Version,
}

/// The one field rule for people's details, on every path that shows one (the
/// `User` type, the account status's owner phone, anything later): a detail
/// of the user `user_id` (a member of `user_team`) is readable by leadership,
/// by a team lead for their team and themselves, and by anyone for
/// themselves. In-memory twin of [`visible_users`]; every detail follows the
/// same rule. Customer data's sensitive fields (figures, terms, contacts'
/// personal details) follow the stored field policy instead
/// ([`fields::FieldPolicy`], read through [`Viewer::may_read`]).
pub fn may_read_user_detail(viewer: &Viewer, user_id: i64, user_team: Option<i64>, _detail: UserDetail) -> bool {
    match viewer.role {
        Role::Admin | Role::Leader => true,
        Role::TeamLead => user_id == viewer.user_id || (user_team.is_some() && user_team == viewer.team_id),
        Role::Rep | Role::Integration => user_id == viewer.user_id,
    }
}

/// [`may_read_user_detail`] for a loaded user: the detail, or `None`.
pub fn user_detail<T>(
    viewer: &Viewer,
    user: &user::Model,
    detail: UserDetail,
    value: impl FnOnce(&user::Model) -> T,
) -> Option<T> {
    may_read_user_detail(viewer, user.id, user.team_id, detail).then(|| value(user))
}

/// What decides everything a viewer may read: two viewers with the same class
/// see the same customers, tickets, user details and sensitive fields, so a subscription's
/// results computed for one are right for the other (shared subscription execution relies on it).
/// It follows [`customer_scope`] and [`may_read_user_detail`]: leadership sees
/// everything; a team lead sees their team; reps, team leads without a team
/// and service accounts see what is theirs (their own user details included),
/// service accounts also by their scopes.
pub fn visibility_class(viewer: &Viewer) -> String {
    let class = class_by_rows(viewer);
    if viewer.hidden.is_empty() {
        return class;
    }
    let hidden: Vec<&str> = viewer.hidden.iter().map(SensitiveField::as_str).collect();
    format!("{class}:hides:{}", hidden.join(" "))
}

fn class_by_rows(viewer: &Viewer) -> String {
    match viewer.role {
        Role::Admin => "ADMIN".to_owned(),
        Role::Leader => "LEADER".to_owned(),
        Role::TeamLead => match viewer.team_id {
            Some(team) => format!("TEAM_LEAD:team:{team}"),
            None => format!("TEAM_LEAD:user:{}", viewer.user_id),
        },
        Role::Rep => format!("REP:user:{}", viewer.user_id),
        Role::Integration => {
            let mut scopes = viewer.scopes.clone();
            scopes.sort();
            format!("INTEGRATION:user:{}:{}", viewer.user_id, scopes.join(" "))
        }
    }
}

/// The user `id` if the viewer may give them work (own a customer, be
/// assigned a ticket, own a commitment): an active person whose details the
/// viewer sees. Reps give work to themselves, team leads within their team,
/// leadership to anyone. Every refusal is the same BAD_USER_INPUT on `field`,
/// so the answer tells nothing about users the viewer cannot see.
pub async fn assignable_user(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
    field: &str,
) -> AppResult<user::Model> {
    let refused = || AppError::bad_input(field, format!("{field} must be an active colleague you may assign work to"));
    let user = user::Entity::find_by_id(id)
        .filter(visible_users(viewer))
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or_else(refused)?;
    if user.role == Role::Integration {
        return Err(refused());
    }
    Ok(user)
}

/// The viewer `user` is when signed in, for rules applied on their behalf
/// (whether work given to them is work they can open).
pub fn viewer_of(user: &user::Model) -> Viewer {
    Viewer {
        user_id: user.id,
        role: user.role,
        team_id: user.team_id,
        scopes: user.scopes.split_whitespace().map(str::to_owned).collect(),
        client: None,
        hidden: HiddenFields::default(),
    }
}

/// Whether `user` sees the customer `customer_id` (by their own role): work
/// on a customer goes only to someone who can read it.
pub async fn user_sees_customer(db: &impl ConnectionTrait, user: &user::Model, customer_id: i64) -> AppResult<bool> {
    let found = customer::Entity::find_by_id(customer_id).filter(visible_customers(&viewer_of(user))).count(db).await?;
    Ok(found > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(user_id: i64, role: Role, team_id: Option<i64>, scopes: &[&str]) -> Viewer {
        let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        Viewer { user_id, role, team_id, scopes, client: None, hidden: HiddenFields::default() }
    }

    #[test]
    fn viewers_share_a_visibility_class_only_when_they_see_the_same_data() {
        let class = |v: Viewer| visibility_class(&v);
        // Leadership and a team's leads see the same whoever they are.
        assert_eq!(class(viewer(1, Role::Leader, None, &[])), class(viewer(2, Role::Leader, Some(3), &[])));
        assert_eq!(class(viewer(1, Role::TeamLead, Some(7), &[])), class(viewer(2, Role::TeamLead, Some(7), &[])));
        assert_ne!(class(viewer(1, Role::TeamLead, Some(7), &[])), class(viewer(1, Role::TeamLead, Some(8), &[])));
        assert_ne!(class(viewer(1, Role::Admin, None, &[])), class(viewer(1, Role::Leader, None, &[])));
        // What is one's own is not shared.
        assert_ne!(class(viewer(1, Role::Rep, Some(7), &[])), class(viewer(2, Role::Rep, Some(7), &[])));
        assert_ne!(class(viewer(1, Role::TeamLead, None, &[])), class(viewer(2, Role::TeamLead, None, &[])));
        // Scopes are a set.
        assert_eq!(
            class(viewer(5, Role::Integration, None, &["read:tickets", "read:customers"])),
            class(viewer(5, Role::Integration, None, &["read:customers", "read:tickets"]))
        );
        assert_ne!(
            class(viewer(5, Role::Integration, None, &["read:customers"])),
            class(viewer(5, Role::Integration, None, &["read:customers", "read:tickets"]))
        );
    }
}
