//! Playbooks in the API.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use entity::{enums as domain, playbook};

use crate::{
    graphql::{
        analytics::health::HealthLevel, support::context::request, support::enums::TaskPriority, support::ids,
        tasks::Task, users::User,
    },
    rules::health::HealthLevel as DomainLevel,
    service::playbooks::{self as service, PlaybookDefinition},
};

/// What fires a playbook. Each occurrence creates one task, once (see the README's occurrence keys).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::PlaybookTrigger")]
pub enum PlaybookTrigger {
    /// The account's health level fell to `level` or worse (once per customer, level and day).
    HealthDropped,
    /// A key contact (executive, or influence or relationship strength 4+) left (once per contact).
    ChampionLeft,
    /// An open ticket missed its first-response or resolution target (once per ticket and target).
    SlaBreached,
    /// A commitment passed its due date unfulfilled (once per commitment and due date).
    CommitmentOverdue,
    /// A key date (a contract renewal, an anniversary) is `days` away or less (once per key date and year).
    KeyDateApproaching,
    /// No executive meeting or communication with an executive contact for `days` days (once per customer and last
    /// executive contact).
    NoExecutiveContact,
    /// A communication's follow-up date arrived and its follow-up is not closed (once per communication).
    FollowUpDue,
}

/// Who gets a playbook's task.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::PlaybookAssignee")]
pub enum PlaybookAssignee {
    /// The account's owner.
    Owner,
    /// The active team lead of the owner's team (the owner when the team has none).
    TeamLead,
    /// `assigneeUserId`, when they see the account and are active (the owner otherwise).
    User,
}

/// A rule `trigger -> task`, defined by ADMIN or LEADER.
pub struct Playbook(pub playbook::Model);

/// A rule `trigger -> task`, defined by ADMIN or LEADER: each occurrence of the trigger creates one task.
#[Object]
impl Playbook {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("Playbook", self.0.id)
    }
    /// A name people recognise.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What fires it.
    async fn trigger(&self) -> PlaybookTrigger {
        self.0.trigger_kind.into()
    }
    /// HEALTH_DROPPED: the level (or worse) that fires it.
    async fn level(&self) -> Option<HealthLevel> {
        self.0.trigger_level.as_deref().and_then(DomainLevel::parse).map(Into::into)
    }
    /// KEY_DATE_APPROACHING: days ahead; NO_EXECUTIVE_CONTACT: days without executive contact.
    async fn days(&self) -> Option<i32> {
        self.0.trigger_days
    }
    /// The task's title.
    async fn task_title(&self) -> &str {
        &self.0.task_title
    }
    /// The task is due this many days after the trigger fires.
    async fn task_due_in_days(&self) -> i32 {
        self.0.task_due_in_days
    }
    /// The task's priority.
    async fn task_priority(&self) -> TaskPriority {
        self.0.task_priority.into()
    }
    /// Who gets the task.
    async fn assignee(&self) -> PlaybookAssignee {
        self.0.assignee.into()
    }
    /// The named user (assignee USER).
    async fn assignee_user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.assignee_user_id else { return Ok(None) };
        let rc = request(ctx)?;
        Ok(rc.loaders.user_by_id().load_one(id).await.map_err(crate::graphql::loaders::load_error)?.map(User::one))
    }
    /// Whether it is paused (a paused playbook does not fire).
    async fn paused(&self) -> bool {
        self.0.paused_at.is_some()
    }
    /// When it was paused.
    async fn paused_at(&self) -> Option<DateTime<Utc>> {
        self.0.paused_at
    }
    /// Optimistic-locking version; pass it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was defined.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A playbook's rule: the trigger and the task it creates.
#[derive(InputObject)]
pub struct PlaybookInput {
    /// A name people recognise (1 to 200 characters).
    pub name: String,
    /// What fires it.
    pub trigger: PlaybookTrigger,
    /// HEALTH_DROPPED: WATCH, AT_RISK or CRITICAL (fires at that level or worse).
    pub level: Option<HealthLevel>,
    /// KEY_DATE_APPROACHING and NO_EXECUTIVE_CONTACT: days (1 to 365).
    pub days: Option<i32>,
    /// The task's title (1 to 300 characters).
    pub task_title: String,
    /// The task is due this many days after the trigger fires (0 to 365).
    #[graphql(default = 7)]
    pub task_due_in_days: i32,
    /// The task's priority.
    #[graphql(default_with = "TaskPriority::Medium")]
    pub task_priority: TaskPriority,
    /// Who gets the task.
    #[graphql(default_with = "PlaybookAssignee::Owner")]
    pub assignee: PlaybookAssignee,
    /// The user for assignee USER.
    pub assignee_user_id: Option<ID>,
}

impl PlaybookInput {
    fn into_definition(self) -> crate::error::AppResult<PlaybookDefinition> {
        Ok(PlaybookDefinition {
            name: self.name,
            trigger: self.trigger.into(),
            level: self.level.map(Into::into),
            days: self.days,
            task_title: self.task_title,
            task_due_in_days: self.task_due_in_days,
            task_priority: self.task_priority.into(),
            assignee: self.assignee.into(),
            assignee_user_id: ids::decode_opt("User", "assigneeUserId", self.assignee_user_id.as_ref())?,
        })
    }
}

#[derive(Default)]
pub struct PlaybookQuery;

#[Object]
impl PlaybookQuery {
    /// Every playbook, newest first (people only: service accounts are FORBIDDEN).
    async fn playbooks(&self, ctx: &Context<'_>) -> Result<Vec<Playbook>> {
        let rc = request(ctx)?;
        Ok(service::list(&rc.services, &rc.viewer()).await?.into_iter().map(Playbook).collect())
    }
}

#[derive(Default)]
pub struct PlaybookMutation;

#[Object]
impl PlaybookMutation {
    /// Defines a playbook (ADMIN or LEADER). It fires from the next sweep on.
    async fn define_playbook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule.")] input: PlaybookInput,
    ) -> Result<Playbook> {
        let rc = request(ctx)?;
        Ok(Playbook(service::define(&rc.services, &rc.viewer(), input.into_definition()?).await?))
    }

    /// Replaces a playbook's rule (ADMIN or LEADER); the tasks it created stay.
    async fn update_playbook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The playbook.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "The new rule.")] input: PlaybookInput,
    ) -> Result<Playbook> {
        let rc = request(ctx)?;
        let id = ids::decode("Playbook", "id", &id)?;
        Ok(Playbook(service::update(&rc.services, &rc.viewer(), id, expected_version, input.into_definition()?).await?))
    }

    /// Pauses a playbook (ADMIN or LEADER): it does not fire until resumed.
    async fn pause_playbook(&self, ctx: &Context<'_>, #[graphql(desc = "The playbook.")] id: ID) -> Result<Playbook> {
        let rc = request(ctx)?;
        let id = ids::decode("Playbook", "id", &id)?;
        Ok(Playbook(service::pause(&rc.services, &rc.viewer(), id, true).await?))
    }

    /// Resumes a paused playbook (ADMIN or LEADER): it acts on the recent occurrences it has not acted on.
    async fn resume_playbook(&self, ctx: &Context<'_>, #[graphql(desc = "The playbook.")] id: ID) -> Result<Playbook> {
        let rc = request(ctx)?;
        let id = ids::decode("Playbook", "id", &id)?;
        Ok(Playbook(service::pause(&rc.services, &rc.viewer(), id, false).await?))
    }

    /// Runs every active playbook now (ADMIN or LEADER), as the sweep does every `RAPPORT_TASK_SWEEP_SECS`;
    /// returns the tasks created (an occurrence already acted on creates nothing).
    async fn run_playbooks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        let rc = request(ctx)?;
        Ok(Task::page(service::run_now(&rc.services, &rc.viewer()).await?))
    }
}
