//! Users and teams in the API.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{team, user};
use sea_orm::EntityTrait;

use crate::{
    error::AppError,
    graphql::loaders::page_cost,
    graphql::{
        loaders::load_error,
        support::context::request,
        support::enums::{Role, to_domain},
        support::ids,
        support::pagination::{Conn, PageArgs, connection, order_by},
        support::patch::patch,
    },
    policy::{self, UserDetail},
    service::users::{self as service, NewUser, UserChanges, UserFilter},
    service::validate,
};

/// An employee of our company, or a service account.
///
/// Anyone who meets a user (as an account's owner, a ticket's assignee, an
/// event's actor) sees their id, name, team and whether they are active. The
/// details (e-mail, phone, role, scopes, version) are null unless you may see
/// them: your own, your team's when you lead it, everyone's for ADMIN and LEADER.
pub struct User {
    pub model: user::Model,
    /// The user is the one who just signed in (no viewer yet): their own details.
    own: bool,
}

impl User {
    pub fn one(model: user::Model) -> Self {
        Self { model, own: false }
    }

    /// The user who just signed in, shown to themselves.
    pub fn signed_in(model: user::Model) -> Self {
        Self { model, own: true }
    }

    /// The detail, when the viewer may read it (`policy::may_read_user_detail`).
    fn detail<T>(
        &self,
        ctx: &Context<'_>,
        detail: UserDetail,
        value: impl FnOnce(&user::Model) -> T,
    ) -> Result<Option<T>> {
        if self.own {
            return Ok(Some(value(&self.model)));
        }
        Ok(policy::user_detail(&request(ctx)?.viewer(), &self.model, detail, value))
    }
}

/// Only what anyone who meets a user sees: the details follow the field rule, through the resolvers.
impl crate::graphql::support::fast::Plain for User {
    fn plain(&self, name: &str, _hidden: Option<crate::policy::HiddenFields>) -> Option<async_graphql::Value> {
        use crate::graphql::support::fast::{global_id, scalar, text};
        Some(match name {
            "id" => global_id("User", self.model.id),
            "name" => text(&self.model.name),
            "active" => scalar(self.model.active),
            _ => return None,
        })
    }
}

/// An employee of our company, or a service account. Details (e-mail, phone,
/// role, scopes) are null unless you may see them.
#[Object]
impl User {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("User", self.model.id)
    }
    /// Full name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// Inactive users cannot sign in and own no customers.
    async fn active(&self) -> bool {
        self.model.active
    }
    /// E-mail address (login). Null unless you may see this user's details.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.detail(ctx, UserDetail::Email, |u| u.email.clone())
    }
    /// Phone number. Null unless you may see this user's details (or none is recorded).
    async fn phone(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.detail(ctx, UserDetail::Phone, |u| u.phone.clone())?.flatten())
    }
    /// What the user may do. Null unless you may see this user's details.
    async fn role(&self, ctx: &Context<'_>) -> Result<Option<Role>> {
        self.detail(ctx, UserDetail::Role, |u| u.role.into())
    }
    /// Scopes of a service account (empty for people). Null unless you may see this user's details.
    async fn scopes(&self, ctx: &Context<'_>) -> Result<Option<Vec<String>>> {
        self.detail(ctx, UserDetail::Scopes, |u| u.scopes.split_whitespace().map(str::to_owned).collect())
    }
    /// Optimistic-locking version; pass it back as `expectedVersion`. Null unless you may see this user's details.
    async fn version(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        self.detail(ctx, UserDetail::Version, |u| u.version)
    }
    /// When the user was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// The user's sales team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(team_id) = self.model.team_id else {
            return Ok(None);
        };
        let rc = request(ctx)?;
        Ok(rc.loaders.team_by_id().load_one(team_id).await.map_err(load_error)?.map(Team::from))
    }
}

/// A sales team.
#[derive(SimpleObject)]
pub struct Team {
    /// Global ID.
    #[graphql(owned)]
    pub id: ID,
    /// Name.
    pub name: String,
    /// The team lead's user ID.
    pub lead_id: Option<ID>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<team::Model> for Team {
    fn from(m: team::Model) -> Self {
        Self {
            id: ids::encode("Team", m.id),
            name: m.name,
            lead_id: m.lead_id.map(|l| ids::encode("User", l)),
            created_at: m.created_at,
        }
    }
}

/// Filters of the user list.
#[derive(InputObject, Default)]
pub struct UserFilterInput {
    /// Members of this team.
    pub team_id: Option<ID>,
    /// Any of these roles.
    pub roles: Option<Vec<Role>>,
    /// Active or inactive only.
    pub active: Option<bool>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
}

order_by!(
    /// Sort order of the list.
    UserOrder, UserOrderField, user::Column,
    default(Name, Asc),
    {
        /// By name, case-insensitively.
        Name => user::Column::Name, text;
        /// By creation time.
        CreatedAt => user::Column::CreatedAt;
    }
);

order_by!(
    /// Sort order of the list.
    TeamOrder, TeamOrderField, team::Column,
    default(Name, Asc),
    {
        /// By name, case-insensitively.
        Name => team::Column::Name, text;
        /// By creation time.
        CreatedAt => team::Column::CreatedAt;
    }
);

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// You.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<User> {
        let rc = request(ctx)?;
        let me = user::Entity::find_by_id(rc.viewer().user_id)
            .one(&rc.db)
            .await
            .map_err(AppError::from)?
            .ok_or(AppError::NotFound("user"))?;
        Ok(User::one(me))
    }

    /// Users you can see: leadership all, a team lead their team, others themselves.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<UserFilterInput>,
        #[graphql(desc = "Sort order (default: by name).")] order_by: Option<UserOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<User>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = UserFilter {
            team_id: ids::decode_opt("Team", "teamId", f.team_id.as_ref())?,
            roles: to_domain(f.roles),
            active: f.active,
            search: validate::filter_text("filter.search", f.search)?,
        };
        let sort = order_by.unwrap_or_default().sort(user::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<user::Model>| rows.into_iter().map(User::one).collect();
        Ok(connection(ctx, &rc.db, service::select(&rc.viewer(), &filter), sort, args, |u| u.id, wrap).await?)
    }

    /// Teams you can see: leadership all, others their own.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sort order (default: by name).")] order_by: Option<TeamOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Team>> {
        let rc = request(ctx)?;
        let sort = order_by.unwrap_or_default().sort(team::Column::Id);
        let args = PageArgs::new(first, after, last, before);
        let wrap = |rows: Vec<team::Model>| rows.into_iter().map(Team::from).collect();
        Ok(connection(ctx, &rc.db, service::select_teams(&rc.viewer()), sort, args, |t| t.id, wrap).await?)
    }
}

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// E-mail address, unique.
    pub email: String,
    /// Full name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Sales team.
    pub team_id: Option<ID>,
    /// Scopes (INTEGRATION only): customers:read, graph:read, revenue:write, tickets:read.
    #[graphql(default)]
    pub scopes: Vec<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// Changes to a user: omitted fields stay, `null` clears.
#[derive(InputObject, Default)]
pub struct UpdateUserInput {
    /// Full name.
    pub name: Option<String>,
    /// Role; takes effect at once, also on open WebSocket connections. A service account given a
    /// person's role loses its API tokens in the same change (they are revoked, not restored).
    pub role: Option<Role>,
    /// Sales team; `null` takes the user out of every team.
    pub team_id: MaybeUndefined<ID>,
    /// Scopes of a service account (replaces them all).
    pub scopes: Option<Vec<String>>,
    /// Phone number; `null` clears it.
    pub phone: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct UserMutation;

/// An invitation to set a first password, as issued: the token is shown this once.
#[derive(SimpleObject)]
pub struct Invitation {
    /// Give it to the user; they redeem it with `acceptInvitation`. Only its hash is kept.
    pub token: String,
    /// After this the invitation is refused.
    pub expires_at: DateTime<Utc>,
    /// Who is invited.
    pub user: User,
}

#[Object]
impl UserMutation {
    /// Creates a user or service account (ADMIN only).
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to record.")] input: CreateUserInput,
    ) -> Result<User> {
        let rc = request(ctx)?;
        let new = NewUser {
            email: input.email,
            name: input.name,
            role: input.role.into(),
            team_id: ids::decode_opt("Team", "teamId", input.team_id.as_ref())?,
            scopes: input.scopes,
            phone: input.phone,
        };
        Ok(User::one(service::create_user(&rc.services, &rc.viewer(), new).await?))
    }

    /// Lets a user in without shell access to the server (ADMIN only): returns an
    /// invitation token, once (there is no e-mail: pass it on yourself), which the user
    /// redeems with `acceptInvitation` to choose a password. A newer invitation replaces
    /// an open one. Only a user without a password can be invited (CONFLICT otherwise:
    /// a password is changed by its owner, with `changePassword`). Service accounts get
    /// API tokens instead (BAD_USER_INPUT); an inactive user cannot be invited (CONFLICT).
    async fn invite_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to invite (created with `createUser`).")] id: ID,
        #[graphql(desc = "How long the invitation stays good, in hours: 1 to 336 (14 days); 72 when left out.")]
        valid_for_hours: Option<i32>,
    ) -> Result<Invitation> {
        let rc = request(ctx)?;
        let user_id = ids::decode("User", "id", &id)?;
        let issued =
            crate::service::invitations::invite(&rc.services, &rc.viewer(), user_id, valid_for_hours.map(i64::from))
                .await?;
        Ok(Invitation { token: issued.token, expires_at: issued.expires_at, user: User::one(issued.user) })
    }

    /// Changes a user's name, role, team, scopes or phone (ADMIN only). Effective at once:
    /// from the next HTTP request, and on open WebSocket connections from the next
    /// operation or event. With `expectedVersion`, a stale version is a CONFLICT.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] id: ID,
        #[graphql(desc = "The version you last read; a different current version is a CONFLICT.")]
        expected_version: Option<i32>,
        #[graphql(desc = "The changes.")] input: UpdateUserInput,
    ) -> Result<User> {
        let rc = request(ctx)?;
        let id = ids::decode("User", "id", &id)?;
        let team_id = match input.team_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(team) => Some(Some(ids::decode("Team", "teamId", &team)?)),
        };
        let changes = UserChanges {
            name: input.name,
            role: input.role.map(Into::into),
            team_id,
            scopes: input.scopes,
            phone: patch(input.phone, |p| p),
        };
        Ok(User::one(service::update_user(&rc.services, &rc.viewer(), id, expected_version, changes).await?))
    }

    /// Moves customers (all of `fromUserId`'s, or only `customerIds`) to another owner, with
    /// their open commitments and assigned open tickets, in one transaction (LEADER or ADMIN).
    /// Returns the customers moved.
    async fn reassign_customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current owner.")] from_user_id: ID,
        #[graphql(desc = "The new owner.")] to_user_id: ID,
        #[graphql(desc = "Only these customers (default: all of them).")] customer_ids: Option<Vec<ID>>,
    ) -> Result<Vec<ID>> {
        let rc = request(ctx)?;
        let from = ids::decode("User", "fromUserId", &from_user_id)?;
        let to = ids::decode("User", "toUserId", &to_user_id)?;
        let customer_ids = customer_ids
            .map(|list| list.iter().map(|id| ids::decode("Customer", "customerIds", id)).collect::<Result<Vec<_>, _>>())
            .transpose()?;
        let moved =
            crate::service::ownership::reassign_customers(&rc.services, &rc.viewer(), from, to, customer_ids).await?;
        Ok(moved.into_iter().map(|id| ids::encode("Customer", id)).collect())
    }

    /// Deactivates a user and hands all their customers to `reassignTo` in the same
    /// transaction (LEADER or ADMIN); their tokens stop working at once.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] id: ID,
        #[graphql(desc = "Who takes over their customers, open commitments and open tickets.")] reassign_to: ID,
    ) -> Result<User> {
        let rc = request(ctx)?;
        let id = ids::decode("User", "id", &id)?;
        let to = ids::decode("User", "reassignTo", &reassign_to)?;
        Ok(User::one(service::deactivate(&rc.services, &rc.viewer(), id, to).await?))
    }

    /// Creates a sales team (ADMIN only).
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team name.")] name: String,
        #[graphql(desc = "The team lead.")] lead_id: Option<ID>,
    ) -> Result<Team> {
        let rc = request(ctx)?;
        let lead_id = ids::decode_opt("User", "leadId", lead_id.as_ref())?;
        Ok(service::create_team(&rc.services, &rc.viewer(), &name, lead_id).await?.into())
    }
}
