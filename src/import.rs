//! `rapport import`: a company's history in one command. Files of
//! customers, contacts, churn events, revenue, commitments, communications
//! and tickets (CSV or NDJSON, one kind per file, the kind named by the
//! file) are read twice, one row at a time: first every file is checked
//! whole, and nothing is written if any row of any file is bad; then each
//! file is written in one transaction, in batches through the same service
//! functions the API's upserts use (the same rules, audit, change feed), or,
//! for revenue, staged whole and written set-based by `revenue::staged` with
//! the rules of a push. Every kind is keyed by the source and the row's id
//! there, so a second run changes nothing.

/// A file's rows read ahead on a thread of their own.
pub mod ahead;
/// Which file holds what, and its rows one at a time.
pub mod files;
/// A row as the record the services take.
pub mod records;

use std::{
    collections::HashSet,
    hash::{DefaultHasher, Hash, Hasher},
    io::IsTerminal,
    path::PathBuf,
};

use entity::{enums::Role, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use self::{
    ahead::{Ahead, Read},
    files::{Kind, Problem, Rows, Source},
    records::Record,
};
use crate::{
    error::AppError,
    policy::Viewer,
    service::{
        Services,
        external::{self, Upserted},
        revenue::staged::{ExternalRevenue, Staging},
        write::Write,
    },
};

/// Rows written per batch: the upserts' limit. Revenue rows are staged as
/// they are read and written set-based at the end of their file
/// (`revenue::staged`), in statements of their own size.
const BATCH: usize = external::MAX_BATCH;
const REVENUE_BATCH: usize = 2 * external::MAX_BATCH;
/// Keys sent to the check's table per statement.
const KEYS_BATCH: usize = 2000;

/// What to import and how.
pub struct Options {
    /// The system the rows come from: their ids are its ids.
    pub source: String,
    pub paths: Vec<PathBuf>,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Whom the audit trail names (an ADMIN or LEADER); the first active ADMIN when absent.
    pub actor: Option<String>,
}

/// What became of one file.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    pub file: String,
    pub kind: String,
    pub rows: u64,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Why an import stopped.
pub enum Refusal {
    /// Bad rows, each named by file, line and column: nothing of their file was written.
    Rows(Vec<(String, Problem)>),
    /// Anything else (the files, the database, the actor).
    Failed(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Refusal {
    fn from(err: E) -> Self {
        Self::Failed(err.into())
    }
}

fn file_name(source: &Source) -> String {
    source.path.display().to_string()
}

/// Runs an import: checks every file, then (unless a dry run) writes them in order.
pub async fn run(svc: &Services, options: &Options) -> Result<Vec<FileReport>, Refusal> {
    let sources = files::discover(&options.paths).map_err(|e| Refusal::Failed(anyhow::anyhow!(e)))?;
    let viewer = actor(svc, options.actor.as_deref()).await?;
    eprintln!("importing {} files from source {:?}", sources.len(), options.source);
    crate::db::analyze(&svc.db, &["external_ref"]).await?;
    let mut bad = Vec::new();
    let mut reports = Vec::new();
    let mut imported_customers = HashSet::new();
    let mut checked = Vec::with_capacity(sources.len());
    for source in &sources {
        checked.push(files::fingerprint(source));
        let (report, problems) = check(svc, options, source, &mut imported_customers).await?;
        bad.extend(problems.into_iter().map(|p| (file_name(source), p)));
        reports.push(report);
    }
    if !bad.is_empty() {
        return Err(Refusal::Rows(bad));
    }
    if options.dry_run {
        return Ok(reports);
    }
    let mut written = Vec::new();
    for (source, fingerprint) in sources.iter().zip(checked) {
        written.push(write(svc, &viewer, options, source, fingerprint).await?);
    }
    Ok(written)
}

/// The user the import acts as.
async fn actor(svc: &Services, email: Option<&str>) -> Result<Viewer, Refusal> {
    let mut query = user::Entity::find().filter(user::Column::Active.eq(true));
    query = match email {
        Some(email) => query.filter(user::Column::Email.eq(email.trim().to_lowercase())),
        None => query.filter(user::Column::Role.eq(Role::Admin)).order_by_asc(user::Column::Id),
    };
    let found = query.one(&svc.db).await?;
    let user = found.ok_or_else(|| {
        Refusal::Failed(anyhow::anyhow!(match email {
            Some(email) => format!("no active user {email} to import as (--as)"),
            None => "no active ADMIN to import as: create one, or name an ADMIN or LEADER with --as".to_owned(),
        }))
    })?;
    if !matches!(user.role, Role::Admin | Role::Leader) {
        return Err(Refusal::Failed(anyhow::anyhow!(
            "{} is not an ADMIN or LEADER: imports write every customer",
            user.email
        )));
    }
    let mut viewer = Viewer::from_model(&user);
    viewer.client = Some("rapport import".to_owned());
    Ok(viewer)
}

fn hashed(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The keys of the file being checked, in a temporary table of the check's
/// own transaction rather than in memory: a file of millions of rows costs
/// the database a table and one `GROUP BY`, and the import no memory.
struct Keys {
    pending: Vec<(u64, String)>,
}

impl Keys {
    async fn open(txn: &DatabaseTransaction) -> Result<Self, Refusal> {
        txn.execute_unprepared("CREATE TEMPORARY TABLE import_key (line BIGINT, key_hash BIGINT, row_key TEXT)")
            .await?;
        Ok(Self { pending: Vec::with_capacity(KEYS_BATCH) })
    }

    async fn add(&mut self, txn: &DatabaseTransaction, line: u64, key: String) -> Result<(), Refusal> {
        self.pending.push((line, key));
        if self.pending.len() >= KEYS_BATCH {
            self.flush(txn).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, txn: &DatabaseTransaction) -> Result<(), Refusal> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // The hash's bits as a signed integer: equal keys, equal numbers.
        let rows: Vec<(u64, i64, &str)> = self
            .pending
            .iter()
            .map(|(line, key)| (*line, i64::from_ne_bytes(hashed(key).to_ne_bytes()), key.as_str()))
            .collect();
        let columns = [("line", "BIGINT"), ("key_hash", "BIGINT"), ("row_key", "TEXT")];
        crate::db::Dialect::of(txn).insert_json_rows(txn, "import_key", &columns, &rows).await?;
        self.pending.clear();
        Ok(())
    }

    /// Every row whose key an earlier row of the file has.
    async fn duplicates(mut self, txn: &DatabaseTransaction, column: &str) -> Result<Vec<Problem>, Refusal> {
        self.flush(txn).await?;
        let dialect = crate::db::Dialect::of(txn);
        let rows = dialect
            .rows(
                txn,
                "SELECT k.line AS line, k.row_key AS row_key FROM import_key k \
                 JOIN (SELECT key_hash, row_key, MIN(line) AS first FROM import_key \
                       GROUP BY key_hash, row_key HAVING COUNT(*) > 1) d \
                   ON d.key_hash = k.key_hash AND d.row_key = k.row_key AND k.line > d.first ORDER BY k.line"
                    .to_owned(),
            )
            .await?;
        txn.execute_unprepared("DROP TABLE import_key").await?;
        let mut problems = Vec::with_capacity(rows.len());
        for row in &rows {
            let key = crate::db::rows::text(row, "row_key")?.unwrap_or_default();
            problems.push(Problem {
                line: u64::try_from(crate::db::rows::int(row, "line")?).unwrap_or(0),
                column: column.to_owned(),
                message: format!("{key:?} appears twice in the file"),
            });
        }
        Ok(problems)
    }
}

/// Reads a file whole and names every bad row: a field that does not read,
/// a key met twice, an owner or a customer that exists neither in the
/// database nor in the import. The keys go to the database ([`Keys`]), so
/// memory stays flat whatever the size of the file.
async fn check(
    svc: &Services,
    options: &Options,
    source: &Source,
    imported_customers: &mut HashSet<u64>,
) -> Result<(FileReport, Vec<Problem>), Refusal> {
    let rows = Rows::open(source).map_err(|p| Refusal::Rows(vec![(file_name(source), p)]))?;
    let owners = owner_emails(svc).await?;
    // Read-only: it holds the keys' table, dropped with it.
    let txn = svc.db.begin().await?;
    let mut keys = Keys::open(&txn).await?;
    let mut problems = Vec::new();
    let mut report =
        FileReport { file: file_name(source), kind: source.kind.as_str().to_owned(), ..Default::default() };
    let progress = Progress::start(&report.file, "checking");
    let mut pending: Vec<(u64, String)> = Vec::new();
    let this_month = crate::rules::month_start(crate::db::now().date_naive());
    let mut rows = Ahead::start(rows, source.kind);
    while let Some(read) = rows.next().await {
        let (line, record) = match read {
            Read::Row { line, record } => (line, record),
            Read::Broken(problem) => {
                problems.push(problem);
                continue;
            }
        };
        report.rows += 1;
        progress.tick(report.rows);
        let record = match record {
            Ok(record) => record,
            Err(found) => {
                problems.extend(found);
                continue;
            }
        };
        keys.add(&txn, line, record.key()).await?;
        if let Record::Revenue(r) = &record
            && r.month > this_month
        {
            problems.push(Problem {
                line,
                column: "month".into(),
                message: format!("{} has not begun", r.month.format("%Y-%m")),
            });
        }
        if let Record::Customer(customer) = &record {
            imported_customers.insert(hashed(&customer.external_id));
            let owner = customer.owner_email.as_deref().unwrap_or_default().to_lowercase();
            if !owners.contains(&owner) {
                problems.push(Problem {
                    line,
                    column: "owner_email".into(),
                    message: format!("no active employee with e-mail {owner:?}"),
                });
            }
        }
        if let Some(customer) = record.customer().filter(|c| !imported_customers.contains(&hashed(c))) {
            pending.push((line, customer.to_owned()));
            if pending.len() >= BATCH {
                problems.extend(unknown_customers(&txn, &options.source, std::mem::take(&mut pending)).await?);
            }
        }
    }
    problems.extend(unknown_customers(&txn, &options.source, pending).await?);
    let column = if source.kind == Kind::Revenue { "month" } else { "external_id" };
    problems.extend(keys.duplicates(&txn, column).await?);
    txn.rollback().await?;
    problems.sort_by_key(|p| p.line);
    progress.done(report.rows);
    Ok((report, problems))
}

/// Active employees' e-mails: who may own an imported customer.
async fn owner_emails(svc: &Services) -> Result<HashSet<String>, Refusal> {
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.ne(Role::Integration))
        .all(&svc.db)
        .await?
        .into_iter()
        .map(|u| u.email)
        .collect())
}

/// The rows naming a customer the source's ids do not know, as problems.
async fn unknown_customers(
    db: &impl ConnectionTrait,
    source: &str,
    named: Vec<(u64, String)>,
) -> Result<Vec<Problem>, Refusal> {
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let distinct: HashSet<&String> = named.iter().map(|(_, id)| id).collect();
    let known = external::resolve(db, external::Kind::Customer, source, distinct.into_iter().cloned()).await?;
    Ok(named
        .into_iter()
        .filter(|(_, id)| !known.contains_key(id))
        .map(|(line, id)| Problem {
            line,
            column: "customer_external_id".into(),
            message: format!("no customer {id:?} in source {source:?}, in the database or in this import"),
        })
        .collect())
}

/// Writes one checked file in one transaction, a batch at a time (revenue:
/// staged a batch at a time, then written whole). What the check found holds
/// only for the file it read: a file that changed since (`checked` is its
/// size and time then) is refused before its transaction commits.
async fn write(
    svc: &Services,
    viewer: &Viewer,
    options: &Options,
    source: &Source,
    checked: Option<files::Fingerprint>,
) -> Result<FileReport, Refusal> {
    let unchanged = || {
        if checked.is_some() && files::fingerprint(source) == checked {
            Ok(())
        } else {
            Err(Refusal::Failed(anyhow::anyhow!(
                "{} changed since it was checked: nothing of it was written; run the import again",
                file_name(source)
            )))
        }
    };
    unchanged()?;
    let rows = Rows::open(source).map_err(|p| Refusal::Rows(vec![(file_name(source), p)]))?;
    let mut report =
        FileReport { file: file_name(source), kind: source.kind.as_str().to_owned(), ..Default::default() };
    let progress = Progress::start(&report.file, "writing");
    let mut w = Write::begin(svc, viewer).await?;
    // The planner's statistics follow the tables as they grow (`db::analyze`): refreshed each time they double.
    let mut analyzed_at = BATCH as u64;
    let mut staging = if source.kind == Kind::Revenue { Some(Staging::open(&w).await?) } else { None };
    let size = if staging.is_some() { REVENUE_BATCH } else { BATCH };
    let mut batch: Vec<(u64, Record)> = Vec::with_capacity(size);
    let mut rows = Ahead::start(rows, source.kind);
    loop {
        let next = rows.next().await;
        let done = next.is_none();
        if let Some(Read::Row { line, record }) = next {
            let record = record.map_err(|_| {
                Refusal::Failed(anyhow::anyhow!("{}:{line} changed while it was imported", report.file))
            })?;
            batch.push((line, record));
            report.rows += 1;
        }
        if batch.len() >= size || (done && !batch.is_empty()) {
            let lines: Vec<u64> = batch.iter().map(|(line, _)| *line).collect();
            let taken: Vec<Record> = std::mem::take(&mut batch).into_iter().map(|(_, r)| r).collect();
            if let Some(staging) = staging.as_mut() {
                let revenue: Vec<ExternalRevenue> =
                    taken.into_iter().filter_map(|r| if let Record::Revenue(r) = r { Some(r) } else { None }).collect();
                staging.add(&w, &revenue).await?;
            } else {
                let (next_w, counts) = write_batch(w, viewer, svc, &options.source, source.kind, taken)
                    .await
                    .map_err(|err| refusal_of(&report.file, |i| lines.get(i).copied(), err))?;
                w = next_w;
                w.flush().await?;
                if report.rows >= 2 * analyzed_at {
                    crate::db::analyze(&*w, &["external_ref", source.kind.table()]).await?;
                    analyzed_at = report.rows;
                }
                report.created += counts.0;
                report.updated += counts.1;
                report.unchanged += counts.2;
            }
            progress.tick(report.rows);
        }
        if done {
            break;
        }
    }
    if let Some(staging) = staging {
        // A staged row is named by its line.
        let (next_w, tally) = staging
            .finish(w, viewer, &options.source)
            .await
            .map_err(|err| refusal_of(&report.file, |line| u64::try_from(line).ok(), err))?;
        w = next_w;
        report.created = tally.created;
        report.updated = tally.updated;
        report.unchanged = tally.unchanged;
    }
    unchanged()?;
    w.audit(
        "import",
        source.kind.as_str(),
        0,
        serde_json::json!({"source": options.source, "file": report.file, "rows": report.rows,
                           "created": report.created, "updated": report.updated, "unchanged": report.unchanged}),
    );
    w.commit(svc).await?;
    crate::db::analyze(&svc.db, &["external_ref", source.kind.table()]).await?;
    progress.done(report.rows);
    Ok(report)
}

/// A refused write's rows as lines of the file (`line_of` the line of a refused row's index).
fn refusal_of(file: &str, line_of: impl Fn(usize) -> Option<u64>, err: AppError) -> Refusal {
    match err {
        AppError::BadRows { rows, .. } => Refusal::Rows(
            rows.into_iter()
                .map(|row| {
                    let line = line_of(row.index).unwrap_or(0);
                    (file.to_owned(), Problem { line, column: row.field, message: row.message })
                })
                .collect(),
        ),
        AppError::BadInput { field, message } => {
            // A batch's refusal names its row as `entries[i].column` when it is one row's.
            let index = field.strip_prefix("entries[").and_then(|rest| rest.split(']').next()?.parse::<usize>().ok());
            let line = index.and_then(&line_of).or_else(|| line_of(0)).unwrap_or(0);
            let column = field.rsplit('.').next().unwrap_or(&field).to_owned();
            Refusal::Rows(vec![(file.to_owned(), Problem { line, column, message })])
        }
        other => Refusal::Failed(other.into()),
    }
}

fn counts<M>(done: &Upserted<M>) -> (usize, usize, usize) {
    (done.created, done.updated, done.unchanged)
}

/// Writes one batch of one kind through its service; returns the write and (created, updated, unchanged).
async fn write_batch(
    w: Write,
    viewer: &Viewer,
    svc: &Services,
    source: &str,
    kind: Kind,
    batch: Vec<Record>,
) -> Result<(Write, (usize, usize, usize)), AppError> {
    macro_rules! each {
        ($variant:ident) => {
            batch.into_iter().filter_map(|r| if let Record::$variant(r) = r { Some(r) } else { None }).collect()
        };
    }
    Ok(match kind {
        Kind::Customers => {
            let (w, done) = external::upsert_customers_in(w, viewer, source, each!(Customer)).await?;
            (w, counts(&done))
        }
        Kind::Contacts => {
            let (w, done) = external::upsert_contacts_in(w, viewer, source, each!(Contact)).await?;
            (w, counts(&done))
        }
        Kind::ChurnEvents => {
            let (w, done) = external::upsert_churn_events_in(w, viewer, source, each!(ChurnEvent)).await?;
            (w, counts(&done))
        }
        Kind::Revenue => return Err(AppError::Internal("revenue is staged, not written in batches".into())),
        Kind::Commitments => {
            let (w, done) = external::upsert_commitments_in(w, viewer, source, each!(Commitment)).await?;
            (w, counts(&done))
        }
        Kind::Communications => {
            let (w, done) = external::upsert_communications_in(w, viewer, source, each!(Communication)).await?;
            (w, counts(&done))
        }
        Kind::Tickets => {
            let (w, done) = external::upsert_tickets_in(w, viewer, &svc.config.sla, source, each!(Ticket)).await?;
            (w, counts(&done))
        }
    })
}

/// Progress on a terminal (a counter that redraws), or a plain line per file otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    label: String,
}

impl Progress {
    fn start(file: &str, doing: &str) -> Self {
        let label = format!("{doing} {file}");
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg}: {pos} rows ({per_sec}, {elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(label.clone());
            bar
        });
        Self { bar, label }
    }

    fn tick(&self, rows: u64) {
        if let Some(bar) = &self.bar
            && rows.is_multiple_of(100)
        {
            bar.set_position(rows);
        }
    }

    fn done(&self, rows: u64) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(format!("{} done", self.label)),
            None => eprintln!("{}: {rows} rows", self.label),
        }
    }
}
