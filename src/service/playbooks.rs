//! Playbooks: rules that turn a trigger into a task for the right person.
//!
//! ADMIN or LEADER defines `trigger -> task template`; [`sweep`] (every
//! instance, every `RAPPORT_PLAYBOOK_SWEEP_SECS`, or `runPlaybooks`) finds each
//! active playbook's new trigger occurrences and creates one task per
//! occurrence. The unique index on (playbook, occurrence key) makes that
//! exactly once across sweeps and instances: a second insert of the same
//! occurrence does nothing. Occurrence keys:
//!
//! | trigger | key |
//! |---|---|
//! | HEALTH_DROPPED | customer:level:day (the history row where the level fell to the playbook's level or worse) |
//! | CHAMPION_LEFT | the contact |
//! | SLA_BREACHED | ticket:target (`first_response` or `resolution`) |
//! | COMMITMENT_OVERDUE | commitment:due date |
//! | KEY_DATE_APPROACHING | key date:year of the occurrence |
//! | NO_EXECUTIVE_CONTACT | customer:day of the last executive contact (`never`) |
//! | FOLLOW_UP_DUE | the communication |
//!
//! Occurrences dated from [`LOOKBACK_DAYS`] days ago to today fire (the drop,
//! the departure, the missed target, the due date, the follow-up date): a
//! playbook defined today acts on what is happening now, not on years of
//! imported history. KEY_DATE_APPROACHING looks ahead instead, and
//! NO_EXECUTIVE_CONTACT is a state (silence for `days`), keyed by the last
//! executive contact so that it fires again only after a new one.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use entity::{
    enums::{PlaybookAssignee, PlaybookTrigger, Role, TaskPriority, TaskSource, TaskStatus},
    playbook, task, user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, Statement};
use serde_json::json;

use crate::{
    db::{
        Dialect,
        rows::{int, opt_int, text},
    },
    error::{AppError, AppResult},
    policy::{self, CustomerScope, Resource, Viewer},
    rules::{health::HealthLevel, live_customer_sql},
    service::{Services, audit, now, tasks, update_versioned, validate, write::Write},
};

/// How far back an occurrence may lie and still fire.
pub const LOOKBACK_DAYS: i64 = 30;

/// The most occurrences one playbook turns into tasks per sweep; the next sweep takes the rest.
const SWEEP_BATCH: usize = 500;

/// What a definition or an update sets (the whole rule).
#[derive(Debug, Clone)]
pub struct PlaybookDefinition {
    pub name: String,
    pub trigger: PlaybookTrigger,
    pub level: Option<HealthLevel>,
    pub days: Option<i32>,
    pub task_title: String,
    pub task_due_in_days: i32,
    pub task_priority: TaskPriority,
    pub assignee: PlaybookAssignee,
    pub assignee_user_id: Option<i64>,
}

/// Checks a definition against its trigger; every refusal names its field.
async fn check(db: &impl ConnectionTrait, viewer: &Viewer, d: &PlaybookDefinition) -> AppResult<PlaybookDefinition> {
    let mut d = d.clone();
    d.name = validate::required_text("name", &d.name, 200)?;
    d.task_title = validate::required_text("taskTitle", &d.task_title, 300)?;
    validate::in_range("taskDueInDays", d.task_due_in_days, 0, 365)?;
    match d.trigger {
        PlaybookTrigger::HealthDropped => {
            match d.level {
                Some(HealthLevel::Healthy) | None => {
                    return Err(AppError::bad_input(
                        "level",
                        "HEALTH_DROPPED needs a level: WATCH, AT_RISK or CRITICAL",
                    ));
                }
                Some(_) => {}
            }
            d.days = None;
        }
        PlaybookTrigger::KeyDateApproaching | PlaybookTrigger::NoExecutiveContact => {
            let days = d.days.ok_or_else(|| AppError::bad_input("days", "this trigger needs days (1 to 365)"))?;
            validate::in_range("days", days, 1, 365)?;
            d.level = None;
        }
        _ => {
            d.level = None;
            d.days = None;
        }
    }
    match (d.assignee, d.assignee_user_id) {
        (PlaybookAssignee::User, Some(user)) => {
            policy::assignable_user(db, viewer, user, "assigneeUserId").await?;
        }
        (PlaybookAssignee::User, None) => {
            return Err(AppError::bad_input("assigneeUserId", "assignee USER needs assigneeUserId"));
        }
        (_, _) => d.assignee_user_id = None,
    }
    Ok(d)
}

fn apply(row: &mut playbook::ActiveModel, d: PlaybookDefinition) {
    row.name = Set(d.name);
    row.trigger_kind = Set(d.trigger);
    row.trigger_level = Set(d.level.map(|l| l.as_str().to_owned()));
    row.trigger_days = Set(d.days);
    row.task_title = Set(d.task_title);
    row.task_due_in_days = Set(d.task_due_in_days);
    row.task_priority = Set(d.task_priority);
    row.assignee = Set(d.assignee);
    row.assignee_user_id = Set(d.assignee_user_id);
}

/// Every playbook, newest first (people only: playbooks are how the company works, not customer data).
pub async fn list(svc: &Services, viewer: &Viewer) -> AppResult<Vec<playbook::Model>> {
    policy::ensure_can_write(viewer)?;
    Ok(playbook::Entity::find().order_by_desc(playbook::Column::Id).all(&svc.db).await?)
}

/// One playbook by id (people only).
pub async fn find(svc: &Services, viewer: &Viewer, id: i64) -> AppResult<playbook::Model> {
    policy::ensure_can_write(viewer)?;
    playbook::Entity::find_by_id(id).one(&svc.db).await?.ok_or(AppError::NotFound("playbook"))
}

#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn define(svc: &Services, viewer: &Viewer, definition: PlaybookDefinition) -> AppResult<playbook::Model> {
    policy::ensure_leadership(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let definition = check(&*w, viewer, &definition).await?;
    let at = now();
    let mut row = playbook::ActiveModel {
        paused_at: Set(None),
        created_by: Set(viewer.user_id),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    apply(&mut row, definition);
    let model = row.insert(&*w).await?;
    w.audit("create", "playbook", model.id, json!({"name": model.name, "trigger": model.trigger_kind.as_str()}));
    w.commit(svc).await?;
    Ok(model)
}

async fn change(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    action: &str,
    edit: impl AsyncFnOnce(&Write, &playbook::Model, &mut playbook::ActiveModel) -> AppResult<()>,
) -> AppResult<playbook::Model> {
    policy::ensure_leadership(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = playbook::Entity::find_by_id(id).one(&*w).await?.ok_or(AppError::NotFound("playbook"))?;
    validate::version("playbook", expected_version, current.version)?;
    let mut row = playbook::ActiveModel { ..Default::default() };
    edit(&w, &current, &mut row).await?;
    row.version = Set(current.version + 1);
    row.updated_at = Set(now());
    let key = (playbook::Column::Id, id);
    let version = (playbook::Column::Version, current.version);
    let updated = update_versioned::<playbook::Entity>(&*w, row, key, version, "playbook").await?;
    w.audit(action, "playbook", id, audit::diff(&current, &updated));
    w.commit(svc).await?;
    Ok(updated)
}

/// Replaces a playbook's rule; the tasks it created stay as they are.
pub async fn update(
    svc: &Services,
    viewer: &Viewer,
    id: i64,
    expected_version: Option<i32>,
    definition: PlaybookDefinition,
) -> AppResult<playbook::Model> {
    change(svc, viewer, id, expected_version, "update", async |w, current, row| {
        // Occurrence keys are per trigger: another trigger is another playbook.
        if definition.trigger != current.trigger_kind {
            return Err(AppError::bad_input("trigger", "a playbook keeps its trigger: define a new playbook instead"));
        }
        apply(row, check(&**w, viewer, &definition).await?);
        Ok(())
    })
    .await
}

/// Pauses (`true`) or resumes a playbook. A paused playbook does not fire; once
/// resumed, it acts on the occurrences of the lookback window it has not acted on.
pub async fn pause(svc: &Services, viewer: &Viewer, id: i64, paused: bool) -> AppResult<playbook::Model> {
    change(svc, viewer, id, None, if paused { "pause" } else { "resume" }, async |_, current, row| {
        row.paused_at = Set(if paused { Some(current.paused_at.unwrap_or_else(now)) } else { None });
        Ok(())
    })
    .await
}

/// One trigger occurrence, with the account it is on.
#[derive(Debug, Clone, Default)]
struct Occurrence {
    customer_id: i64,
    owner_id: i64,
    owner_team: Option<i64>,
    key: String,
    contact_id: Option<i64>,
    ticket_id: Option<i64>,
    commitment_id: Option<i64>,
    communication_id: Option<i64>,
}

/// Runs every active playbook once: the tasks created, in creation order.
pub async fn sweep(svc: &Services) -> AppResult<Vec<task::Model>> {
    let playbooks = playbook::Entity::find()
        .filter(playbook::Column::PausedAt.is_null())
        .order_by_asc(playbook::Column::Id)
        .all(&svc.db)
        .await?;
    let mut created = Vec::new();
    for playbook in playbooks {
        // One broken rule must not silence the others: it is logged, and retried next sweep.
        match run(svc, &playbook).await {
            Ok(tasks) => created.extend(tasks),
            Err(err) => tracing::warn!(error = %err, playbook = playbook.id, "running a playbook failed"),
        }
    }
    Ok(created)
}

/// Leadership runs the playbooks now (after loading data, or to see a new rule act at once).
pub async fn run_now(svc: &Services, viewer: &Viewer) -> AppResult<Vec<task::Model>> {
    policy::ensure_leadership(viewer)?;
    let created = sweep(svc).await?;
    // Who ran them, and what came of it (each task has its own entry, by the playbook).
    let mut w = Write::begin(svc, viewer).await?;
    w.audit("run", "playbook", 0, json!({"tasksCreated": created.iter().map(|t| t.id).collect::<Vec<_>>()}));
    w.commit(svc).await?;
    Ok(created)
}

async fn run(svc: &Services, playbook: &playbook::Model) -> AppResult<Vec<task::Model>> {
    let dialect = Dialect::of(&svc.db);
    let today = now().date_naive();
    let occurrences = occurrences(&svc.db, dialect, playbook, today).await?;
    if occurrences.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = Write::begin_as(svc, None, Some(format!("playbook {}", playbook.id))).await?;
    let assign = Assignment::load(&*w, playbook).await?;
    let due_on = today + Duration::days(i64::from(playbook.task_due_in_days));
    let at = now();
    let mut created = Vec::new();
    for occurrence in occurrences {
        let sql = format!(
            "INSERT INTO task (customer_id, contact_id, ticket_id, commitment_id, communication_id, title, owner_id, \
             due_on, priority, status, source, playbook_id, occurrence_key, version, created_at, updated_at) \
             VALUES ({}) ON CONFLICT DO NOTHING RETURNING id",
            (1..=16).map(|n| dialect.param(n)).collect::<Vec<_>>().join(", ")
        );
        let values: Vec<sea_orm::Value> = vec![
            occurrence.customer_id.into(),
            occurrence.contact_id.into(),
            occurrence.ticket_id.into(),
            occurrence.commitment_id.into(),
            occurrence.communication_id.into(),
            playbook.task_title.clone().into(),
            assign.owner_for(&occurrence).into(),
            due_on.into(),
            playbook.task_priority.as_str().into(),
            TaskStatus::Open.as_str().into(),
            TaskSource::Playbook.as_str().into(),
            playbook.id.into(),
            occurrence.key.clone().into(),
            1i32.into(),
            at.into(),
            at.into(),
        ];
        let inserted = w.query_one_raw(Statement::from_sql_and_values(dialect.0, sql, values)).await?;
        if let Some(row) = inserted {
            created.push(row.try_get_by_index::<i64>(0)?);
        }
    }
    let tasks =
        task::Entity::find().filter(task::Column::Id.is_in(created)).order_by_asc(task::Column::Id).all(&*w).await?;
    for task in &tasks {
        tasks::record_created(&mut w, task);
    }
    w.commit(svc).await?;
    Ok(tasks)
}

/// Who gets a playbook's tasks: the account's owner, the owner's team lead, or
/// a named user; a named user who would not see the account (or is no longer
/// active), and an owner without a team lead, leave the task with the owner.
struct Assignment {
    rule: PlaybookAssignee,
    named: Option<(i64, CustomerScope)>,
    /// The active team lead of each team (the longest-serving, by id, when there are several).
    leads: HashMap<i64, i64>,
}

impl Assignment {
    async fn load(db: &impl ConnectionTrait, playbook: &playbook::Model) -> AppResult<Self> {
        let mut leads = HashMap::new();
        if playbook.assignee == PlaybookAssignee::TeamLead {
            let found = user::Entity::find()
                .filter(user::Column::Role.eq(Role::TeamLead))
                .filter(user::Column::Active.eq(true))
                .order_by_desc(user::Column::Id)
                .all(db)
                .await?;
            for lead in found {
                if let Some(team) = lead.team_id {
                    leads.insert(team, lead.id);
                }
            }
        }
        let mut named = None;
        if let (PlaybookAssignee::User, Some(id)) = (playbook.assignee, playbook.assignee_user_id)
            && let Some(user) = user::Entity::find_by_id(id).filter(user::Column::Active.eq(true)).one(db).await?
        {
            named = Some((user.id, policy::customer_scope(&policy::viewer_of(&user), Resource::Customers)));
        }
        Ok(Self { rule: playbook.assignee, named, leads })
    }

    fn owner_for(&self, o: &Occurrence) -> i64 {
        match self.rule {
            PlaybookAssignee::Owner => o.owner_id,
            PlaybookAssignee::TeamLead => {
                o.owner_team.and_then(|team| self.leads.get(&team).copied()).unwrap_or(o.owner_id)
            }
            PlaybookAssignee::User => match self.named {
                Some((user, scope)) if scope.admits(o.owner_id, o.owner_team) => user,
                _ => o.owner_id,
            },
        }
    }
}

/// The levels at or below `level`, as an SQL list.
fn levels_from(level: HealthLevel) -> String {
    let worse: &[HealthLevel] = match level {
        HealthLevel::Critical => &[HealthLevel::Critical],
        HealthLevel::AtRisk => &[HealthLevel::AtRisk, HealthLevel::Critical],
        HealthLevel::Watch | HealthLevel::Healthy => &[HealthLevel::Watch, HealthLevel::AtRisk, HealthLevel::Critical],
    };
    worse.iter().map(|l| format!("'{}'", l.as_str())).collect::<Vec<_>>().join(", ")
}

/// The playbook's trigger occurrences not yet turned into a task, on live
/// accounts, within the lookback window.
async fn occurrences(
    db: &impl ConnectionTrait,
    dialect: Dialect,
    playbook: &playbook::Model,
    today: NaiveDate,
) -> AppResult<Vec<Occurrence>> {
    if playbook.trigger_kind == PlaybookTrigger::KeyDateApproaching {
        return key_dates(db, dialect, playbook, today).await;
    }
    let since = today - Duration::days(LOOKBACK_DAYS);
    let (day, from) = (dialect.date(today), dialect.date(since));
    let id = |expr: &str| format!("CAST({expr} AS TEXT)");
    let date_text = |expr: &str| dialect.text_of_date(expr);
    // (source rows and their condition, the key, contact, ticket, commitment, communication)
    let (source, key, refs) = match playbook.trigger_kind {
        PlaybookTrigger::HealthDropped => {
            let level = playbook.trigger_level.as_deref().and_then(HealthLevel::parse).unwrap_or(HealthLevel::AtRisk);
            let levels = levels_from(level);
            (
                format!(
                    "customer_health_history h JOIN customer c ON c.id = h.customer_id \
                     @WHERE@ h.day >= {from} AND h.level IN ({levels}) AND (SELECT p.level FROM customer_health_history p \
                       WHERE p.customer_id = h.customer_id AND p.day < h.day ORDER BY p.day DESC LIMIT 1) NOT IN ({levels})"
                ),
                format!("{} || ':' || h.level || ':' || {}", id("h.customer_id"), date_text("h.day")),
                "NULL, NULL, NULL, NULL",
            )
        }
        PlaybookTrigger::ChampionLeft => (
            format!(
                "contact k JOIN customer c ON c.id = k.customer_id @WHERE@ k.archived_at IS NULL \
                 AND k.ended_on >= {from} AND k.ended_on <= {day} AND {}",
                crate::rules::champion_sql("k.org_level", "k.influence", "k.relationship_strength")
            ),
            id("k.id"),
            "k.id, NULL, NULL, NULL",
        ),
        PlaybookTrigger::SlaBreached => {
            let now = dialect.instant(now());
            let since_at = dialect.timestamp(since);
            let open = crate::rules::sla::open_ticket_sql("t");
            let first = crate::rules::sla::first_response_breached_sql("t", &now);
            let resolution = crate::rules::sla::resolution_breached_sql("t", &now);
            (
                format!(
                    "(SELECT t.id, t.customer_id, 'first_response' AS target FROM ticket t WHERE t.archived_at IS NULL \
                       AND {open} AND {first} AND t.first_response_due_at >= {since_at} \
                     UNION ALL SELECT t.id, t.customer_id, 'resolution' FROM ticket t WHERE t.archived_at IS NULL \
                       AND {open} AND {resolution} AND t.resolution_due_at >= {since_at}) b \
                     JOIN customer c ON c.id = b.customer_id @WHERE@ 1 = 1"
                ),
                format!("{} || ':' || b.target", id("b.id")),
                "NULL, b.id, NULL, NULL",
            )
        }
        PlaybookTrigger::CommitmentOverdue => (
            format!(
                "commitment o JOIN customer c ON c.id = o.customer_id @WHERE@ {} AND o.due_on >= {from}",
                crate::rules::overdue_commitment_sql("o", &day)
            ),
            format!("{} || ':' || {}", id("o.id"), date_text("o.due_on")),
            "NULL, NULL, o.id, NULL",
        ),
        PlaybookTrigger::NoExecutiveContact => {
            let days = i64::from(playbook.trigger_days.unwrap_or(90));
            let cutoff = dialect.timestamp(today - Duration::days(days));
            let last_day = if dialect.postgres() {
                "to_char(x.last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')".to_owned()
            } else {
                "substr(x.last_at, 1, 10)".to_owned()
            };
            (
                format!(
                    "(SELECT c.id AS customer_id, (SELECT MAX(e.at) FROM ( \
                        SELECT MAX(m.occurred_at) AS at FROM communication m WHERE m.customer_id = c.id \
                          AND m.channel = 'EXECUTIVE_MEETING' AND m.archived_at IS NULL \
                        UNION ALL SELECT MAX(m.occurred_at) FROM contact k \
                          JOIN communication_contact cc ON cc.contact_id = k.id \
                          JOIN communication m ON m.id = cc.communication_id AND m.archived_at IS NULL \
                          WHERE k.customer_id = c.id AND k.org_level = 'EXECUTIVE') e) AS last_at \
                      FROM customer c WHERE {live}) x JOIN customer c ON c.id = x.customer_id \
                     @WHERE@ (x.last_at IS NULL OR x.last_at < {cutoff})",
                    live = live_customer_sql("c"),
                ),
                format!("{} || ':' || COALESCE({last_day}, 'never')", id("x.customer_id")),
                "NULL, NULL, NULL, NULL",
            )
        }
        PlaybookTrigger::FollowUpDue => (
            format!(
                "communication m JOIN customer c ON c.id = m.customer_id @WHERE@ m.archived_at IS NULL \
                 AND m.follow_up_on >= {from} AND m.follow_up_on <= {day} \
                 AND NOT EXISTS (SELECT 1 FROM task f WHERE f.communication_id = m.id AND f.source = 'FOLLOW_UP' \
                   AND f.status <> 'OPEN')"
            ),
            id("m.id"),
            "NULL, NULL, NULL, m.id",
        ),
        PlaybookTrigger::KeyDateApproaching => unreachable!("read above"),
    };
    // Every source is "rows JOIN customer c ... @WHERE@ condition"; the owner's team joins in between.
    let (from, condition) = source.split_once("@WHERE@").unwrap_or((source.as_str(), "1 = 1"));
    let sql = format!(
        "SELECT q.* FROM (SELECT c.id AS customer_id, c.owner_id, u.team_id AS owner_team, {key} AS occurrence_key, \
           {refs} FROM {from} LEFT JOIN app_user u ON u.id = c.owner_id WHERE {condition} AND {live}) q \
         WHERE NOT EXISTS (SELECT 1 FROM task t WHERE t.playbook_id = {playbook} AND t.occurrence_key = q.occurrence_key) \
         ORDER BY q.customer_id, q.occurrence_key LIMIT {SWEEP_BATCH}",
        refs = refs_columns(refs),
        live = live_customer_sql("c"),
        playbook = playbook.id,
    );
    let rows = dialect.rows(db, sql).await?;
    rows.iter()
        .map(|row| {
            Ok(Occurrence {
                customer_id: int(row, "customer_id")?,
                owner_id: int(row, "owner_id")?,
                owner_team: opt_int(row, "owner_team")?,
                key: text(row, "occurrence_key")?.unwrap_or_default(),
                contact_id: opt_int(row, "contact_id")?,
                ticket_id: opt_int(row, "ticket_id")?,
                commitment_id: opt_int(row, "commitment_id")?,
                communication_id: opt_int(row, "communication_id")?,
            })
        })
        .collect()
}

fn refs_columns(refs: &str) -> String {
    let names = ["contact_id", "ticket_id", "commitment_id", "communication_id"];
    refs.split(", ").zip(names).map(|(expr, name)| format!("{expr} AS {name}")).collect::<Vec<_>>().join(", ")
}

/// KEY_DATE_APPROACHING: key dates (a recurring one on its next anniversary)
/// within the playbook's days from today, on live accounts.
async fn key_dates(
    db: &impl ConnectionTrait,
    dialect: Dialect,
    playbook: &playbook::Model,
    today: NaiveDate,
) -> AppResult<Vec<Occurrence>> {
    let days = i64::from(playbook.trigger_days.unwrap_or(30));
    let until = today + Duration::days(days + 1);
    let sql = format!(
        "SELECT k.id, k.on_date, k.recurring, c.id AS customer_id, c.owner_id, u.team_id AS owner_team \
         FROM key_date k JOIN customer c ON c.id = k.customer_id LEFT JOIN app_user u ON u.id = c.owner_id \
         WHERE k.archived_at IS NULL AND (k.recurring = {yes} OR (k.on_date >= {from} AND k.on_date < {until})) AND {live} \
         ORDER BY k.id",
        yes = if dialect.postgres() { "TRUE" } else { "1" },
        from = dialect.date(today),
        until = dialect.date(until),
        live = live_customer_sql("c"),
    );
    let mut found = Vec::new();
    for row in dialect.rows(db, sql).await? {
        let Some(on_date) = crate::db::rows::date(&row, "on_date")? else { continue };
        let recurring = crate::db::rows::flag(&row, "recurring")?.unwrap_or(false);
        let next = if recurring {
            crate::analytics::care_dates::next_occurrence(on_date, today, until, true)
        } else {
            Some(on_date).filter(|d| *d >= today && *d < until)
        };
        if let Some(next) = next {
            found.push(Occurrence {
                customer_id: int(&row, "customer_id")?,
                owner_id: int(&row, "owner_id")?,
                owner_team: opt_int(&row, "owner_team")?,
                key: format!("{}:{}", int(&row, "id")?, next.format("%Y")),
                ..Default::default()
            });
        }
    }
    if found.is_empty() {
        return Ok(found);
    }
    let keys: Vec<String> = found.iter().map(|o| o.key.clone()).collect();
    let existing: std::collections::HashSet<String> = task::Entity::find()
        .filter(task::Column::PlaybookId.eq(playbook.id))
        .filter(task::Column::OccurrenceKey.is_in(keys))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|t| t.occurrence_key)
        .collect();
    found.retain(|o| !existing.contains(&o.key));
    found.truncate(SWEEP_BATCH);
    Ok(found)
}
