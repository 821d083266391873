//! An employee of our company, or a service account (role INTEGRATION).

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<i64>,
    pub active: bool,
    /// Space-separated scopes of a service account (e.g. `graph:read revenue:write`).
    pub scopes: String,
    pub password_hash: Option<String>,
    /// Phone number, for colleagues and the mobile account status.
    pub phone: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
