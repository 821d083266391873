//! A rule that turns a trigger occurrence into a task.

#[allow(unused_imports)]
use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "playbook")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub trigger_kind: PlaybookTrigger,
    /// HEALTH_DROPPED: the level (or worse) that fires it.
    pub trigger_level: Option<String>,
    /// KEY_DATE_APPROACHING: days ahead; NO_EXECUTIVE_CONTACT: days of silence.
    pub trigger_days: Option<i32>,
    pub task_title: String,
    pub task_due_in_days: i32,
    pub task_priority: TaskPriority,
    pub assignee: PlaybookAssignee,
    pub assignee_user_id: Option<i64>,
    pub paused_at: Option<DateTimeUtc>,
    pub created_by: i64,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
