//! The authenticated user of a request, loaded fresh from the database so that a
//! deactivated user or a changed role takes effect on the next request.

use entity::{enums::Role, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    auth::jwt::Subject,
    error::{AppError, AppResult},
};

/// Scope a service account needs to read customers and everything under them.
pub const SCOPE_CUSTOMERS_READ: &str = "customers:read";
/// Scope a service account needs to read the relationship graph.
pub const SCOPE_GRAPH_READ: &str = "graph:read";
/// Scope a service account needs to read service tickets.
pub const SCOPE_TICKETS_READ: &str = "tickets:read";
/// Scope a service account needs to push revenue.
pub const SCOPE_REVENUE_WRITE: &str = "revenue:write";

#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: i64,
    pub role: Role,
    pub team_id: Option<i64>,
    pub scopes: Vec<String>,
    /// Who is calling, for the audit trail (set by the transport).
    pub client: Option<String>,
}

impl Viewer {
    /// Loads the active user behind a verified token.
    pub async fn load(db: &impl ConnectionTrait, subject: &Subject) -> AppResult<Self> {
        let query = match subject {
            Subject::UserId(id) => user::Entity::find_by_id(*id),
            Subject::Email(email) => user::Entity::find().filter(user::Column::Email.eq(email.as_str())),
        };
        let user = query
            .one(db)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| AppError::Unauthenticated("the token's user is unknown or inactive".to_owned()))?;
        Ok(Self::from_model(&user))
    }

    pub fn from_model(user: &user::Model) -> Self {
        Self {
            user_id: user.id,
            role: user.role,
            team_id: user.team_id,
            scopes: user.scopes.split_whitespace().map(str::to_owned).collect(),
            client: None,
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
