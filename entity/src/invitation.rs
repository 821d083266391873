//! An invitation to set a first password (only the token's SHA-256 is stored).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The ADMIN who issued it.
    pub created_by: i64,
    pub expires_at: DateTimeUtc,
    /// Set when redeemed: an invitation is good once.
    pub accepted_at: Option<DateTimeUtc>,
    /// Set when a newer invitation for the same user replaced it.
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
