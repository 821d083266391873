//! Duplicate candidates: pairs of live customers (or contacts) that are likely
//! one, scored by `crate::rules::duplicates`, kept as rows and listed best
//! first.
//!
//! Keys and pairs are derived rows, brought up to the change feed before each
//! read ([`catch_up`]): every write to a customer or contact, by hand, by a
//! push, by an import or by a merge, leaves a change, and the rows it names
//! (with a contact's customer, whose e-mails and phones are its contacts') are
//! refreshed: their keys rewritten, their pairs scored again against every row
//! sharing a key. Rows loaded by SQL are taken in by `rapport rollups rebuild`
//! ([`rebuild`]). Comparing only rows that share a key keeps the work
//! proportional to the rows, not to their pairs.
//!
//! A key shared by more than `BLOCK_LIMIT` rows is not compared on. A refresh
//! judges that for the keys of the rows it refreshes, as they are then: pairs
//! of other rows under a key that has since grown past the limit stay until
//! those rows change, and a key that shrank back under it pairs its rows as
//! they change. A rebuild judges every key afresh.

use std::collections::{BTreeSet, HashMap, HashSet};

use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};

use crate::{
    db::Dialect,
    error::{AppError, AppResult},
    policy::{self, CustomerScope, Resource, SensitiveField, Viewer},
    rules::duplicates::{self as rule, BLOCK_LIMIT, Features, Kind, Quoted},
};

/// Rows read, keyed and scored at a time.
const BATCH: usize = 1000;

fn entity(kind: Kind) -> &'static str {
    match kind {
        Kind::Customer => "CUSTOMER",
        Kind::Contact => "CONTACT",
    }
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn int(row: &QueryResult, column: &str) -> AppResult<i64> {
    Ok(row.try_get::<i64>("", column)?)
}

fn text(row: &QueryResult, column: &str) -> AppResult<Option<String>> {
    Ok(row.try_get::<Option<String>>("", column)?)
}

async fn clock(db: &impl ConnectionTrait) -> AppResult<i64> {
    let rows = Dialect::of(db).rows(db, "SELECT position FROM change_clock WHERE id = 1".to_owned()).await?;
    rows.first().map(|r| int(r, "position")).transpose()?.ok_or_else(|| AppError::Internal("no change clock".into()))
}

/// Brings the keys and pairs of customers and contacts up to the change feed
/// (the first time, builds them from every row). Cheap when nothing changed:
/// one read. Catch-ups run one at a time (the state rows stay locked).
pub async fn catch_up(db: &DatabaseConnection) -> AppResult<()> {
    let dialect = Dialect::of(db);
    let behind = dialect
        .rows(db, "SELECT MIN(position) AS position FROM match_state".to_owned())
        .await?
        .first()
        .map(|r| r.try_get::<Option<i64>>("", "position"))
        .transpose()?
        .flatten();
    if behind.is_some_and(|position| position >= 0) && behind == Some(clock(db).await?) {
        return Ok(());
    }
    let txn = crate::db::write(db).await?;
    let states =
        dialect.rows(&txn, format!("SELECT entity, position FROM match_state{}", dialect.for_update())).await?;
    let now = clock(&txn).await?;
    let positions: Vec<i64> = states.iter().map(|s| int(s, "position")).collect::<AppResult<_>>()?;
    if positions.iter().all(|p| *p < 0) {
        // Everything is built again: emptying the tables whole is much cheaper than deleting row by row.
        let empty = if dialect.postgres() {
            vec!["TRUNCATE match_key, duplicate_pair"]
        } else {
            vec!["DELETE FROM match_key", "DELETE FROM duplicate_pair"]
        };
        for statement in empty {
            txn.execute_unprepared(statement).await?;
        }
    }
    for state in &states {
        let position = int(state, "position")?;
        let kind = match text(state, "entity")?.as_deref() {
            Some("CUSTOMER") => Kind::Customer,
            Some("CONTACT") => Kind::Contact,
            _ => continue,
        };
        if position < 0 {
            build(&txn, kind).await?;
        } else if position < now {
            let changed = changed_since(&txn, kind, position, now).await?;
            refresh(&txn, kind, &changed).await?;
        }
    }
    txn.execute_raw(sea_orm::Statement::from_sql_and_values(
        dialect.0,
        dialect.numbered("UPDATE match_state SET position = $1"),
        [now.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Builds every key and pair again from the rows: for rows loaded by SQL.
pub async fn rebuild(db: &DatabaseConnection) -> AppResult<()> {
    stale(db).await?;
    catch_up(db).await
}

/// Marks every key and pair out of date, to be built again at the next read
/// (a change that moves them without a change-feed entry: an identifier
/// field archived).
pub async fn stale(db: &impl ConnectionTrait) -> AppResult<()> {
    db.execute_unprepared("UPDATE match_state SET position = -1").await?;
    Ok(())
}

/// The rows of `kind` whose keys may have moved since `position`: those
/// changed, and for customers those whose contacts changed.
async fn changed_since(db: &impl ConnectionTrait, kind: Kind, position: i64, now: i64) -> AppResult<Vec<i64>> {
    let column = match kind {
        Kind::Customer => "customer_id",
        Kind::Contact => "entity_id",
    };
    let types = match kind {
        Kind::Customer => "'CUSTOMER', 'CONTACT'",
        Kind::Contact => "'CONTACT'",
    };
    let sql = format!(
        "SELECT DISTINCT {column} AS id FROM change_log WHERE position > {position} AND position <= {now} \
         AND entity_type IN ({types}) ORDER BY 1"
    );
    Dialect::of(db).rows(db, sql).await?.iter().map(|r| int(r, "id")).collect()
}

/// Keys and pairs of every live row of `kind`, from scratch: the keys first,
/// then every pair sharing a key found by one grouped statement.
async fn build(db: &impl ConnectionTrait, kind: Kind) -> AppResult<()> {
    let dialect = Dialect::of(db);
    let name = entity(kind);
    db.execute_unprepared(&format!("DELETE FROM match_key WHERE entity = '{name}'")).await?;
    db.execute_unprepared(&format!("DELETE FROM duplicate_pair WHERE entity = '{name}'")).await?;
    let table = if kind == Kind::Customer { "customer" } else { "contact" };
    let ids: Vec<i64> = dialect
        .rows(db, format!("SELECT id FROM {table} WHERE archived_at IS NULL ORDER BY id"))
        .await?
        .iter()
        .map(|r| int(r, "id"))
        .collect::<AppResult<_>>()?;
    let mut known = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        let rows = features(db, kind, chunk).await?;
        write_keys(db, kind, &rows).await?;
        known.extend(rows);
    }
    let sql = format!(
        "SELECT DISTINCT a.row_id AS a, b.row_id AS b \
         FROM (SELECT key FROM match_key WHERE entity = '{name}' GROUP BY key \
               HAVING COUNT(*) BETWEEN 2 AND {BLOCK_LIMIT}) k \
         JOIN match_key a ON a.entity = '{name}' AND a.key = k.key \
         JOIN match_key b ON b.entity = '{name}' AND b.key = k.key AND b.row_id > a.row_id"
    );
    // Keys written in this transaction are not yet visible to index-only scans, which would visit the table
    // for each of them: the whole-table statement reads the table once instead.
    let whole = ["enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"];
    if dialect.postgres() {
        for setting in whole {
            db.execute_unprepared(&format!("SET LOCAL {setting} = off")).await?;
        }
    }
    let found = dialect.rows(db, sql).await;
    if dialect.postgres() {
        for setting in whole {
            db.execute_unprepared(&format!("SET LOCAL {setting} = on")).await?;
        }
    }
    let mut pairs = Vec::new();
    for row in found? {
        pairs.push((int(&row, "a")?, int(&row, "b")?));
    }
    write_scored(db, kind, pairs, &mut known).await
}

/// Rewrites the keys and pairs of these rows (an archived or merged row loses both).
async fn refresh(db: &impl ConnectionTrait, kind: Kind, ids: &[i64]) -> AppResult<()> {
    let name = entity(kind);
    let mut known = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        let list = id_list(chunk);
        db.execute_unprepared(&format!("DELETE FROM match_key WHERE entity = '{name}' AND row_id IN ({list})")).await?;
        db.execute_unprepared(&format!(
            "DELETE FROM duplicate_pair WHERE entity = '{name}' AND (low_id IN ({list}) OR high_id IN ({list}))"
        ))
        .await?;
        let rows = features(db, kind, chunk).await?;
        write_keys(db, kind, &rows).await?;
        known.extend(rows);
    }
    // Every pair with one of these rows, found from its side (a pair of two of them, from both).
    let mut pairs = HashSet::new();
    for chunk in ids.chunks(BATCH) {
        let sql = format!(
            "SELECT DISTINCT a.row_id AS a, b.row_id AS b FROM match_key a \
             JOIN match_key b ON b.entity = a.entity AND b.key = a.key AND b.row_id <> a.row_id \
             WHERE a.entity = '{name}' AND a.row_id IN ({}) \
             AND (SELECT COUNT(*) FROM (SELECT 1 FROM match_key c WHERE c.entity = a.entity AND c.key = a.key \
                  LIMIT {}) block) <= {BLOCK_LIMIT}",
            id_list(chunk),
            BLOCK_LIMIT + 1
        );
        for row in Dialect::of(db).rows(db, sql).await? {
            let (a, b) = (int(&row, "a")?, int(&row, "b")?);
            pairs.insert((a.min(b), a.max(b)));
        }
    }
    write_scored(db, kind, pairs.into_iter().collect(), &mut known).await
}

async fn write_keys(db: &impl ConnectionTrait, kind: Kind, rows: &HashMap<i64, Features>) -> AppResult<()> {
    let name = entity(kind);
    let keys: Vec<(&str, i64, String)> =
        rows.values().flat_map(|f| rule::keys(kind, f).into_iter().map(move |key| (name, f.id, key))).collect();
    for chunk in keys.chunks(5000) {
        Dialect::of(db)
            .insert_json_rows(db, "match_key", &[("entity", "text"), ("row_id", "bigint"), ("key", "text")], chunk)
            .await?;
    }
    Ok(())
}

/// Scores these pairs (each once, lower id first) and writes those that
/// score; `known` holds the rows read so far and takes the others.
async fn write_scored(
    db: &impl ConnectionTrait,
    kind: Kind,
    mut pairs: Vec<(i64, i64)>,
    known: &mut HashMap<i64, Features>,
) -> AppResult<()> {
    pairs.sort_unstable();
    let missing: Vec<i64> = pairs
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .filter(|id| !known.contains_key(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in missing.chunks(BATCH) {
        known.extend(features(db, kind, chunk).await?);
    }
    let name = entity(kind);
    let mut scored: Vec<(&str, i64, i64, i64, String)> = Vec::new();
    for (low, high) in pairs {
        let (Some(a), Some(b)) = (known.get(&low), known.get(&high)) else { continue };
        if let Some(found) = rule::score(kind, a, b) {
            let reasons = serde_json::to_string(&found.reasons).map_err(|e| AppError::Internal(e.to_string()))?;
            scored.push((name, low, high, (found.score * 1000.0).round() as i64, reasons));
        }
    }
    let columns = [
        ("entity", "text"),
        ("low_id", "bigint"),
        ("high_id", "bigint"),
        ("score_milli", "integer"),
        ("reasons", "text"),
    ];
    for chunk in scored.chunks(2000) {
        Dialect::of(db).insert_json_rows(db, "duplicate_pair", &columns, chunk).await?;
    }
    Ok(())
}

/// What the live rows among `ids` are compared on.
async fn features(db: &impl ConnectionTrait, kind: Kind, ids: &[i64]) -> AppResult<HashMap<i64, Features>> {
    let dialect = Dialect::of(db);
    let list = id_list(ids);
    let mut out: HashMap<i64, Features> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    match kind {
        Kind::Customer => {
            let sql = format!("SELECT id, name FROM customer WHERE id IN ({list}) AND archived_at IS NULL");
            for row in dialect.rows(db, sql).await? {
                let id = int(&row, "id")?;
                let name = text(&row, "name")?.unwrap_or_default();
                out.insert(id, Features { id, name, ..Features::default() });
            }
            let sql = format!(
                "SELECT customer_id, email, phone FROM contact WHERE customer_id IN ({list}) AND archived_at IS NULL"
            );
            for row in dialect.rows(db, sql).await? {
                if let Some(f) = out.get_mut(&int(&row, "customer_id")?) {
                    f.emails.extend(text(&row, "email")?);
                    f.phones.extend(text(&row, "phone")?);
                }
            }
        }
        Kind::Contact => {
            let sql = format!(
                "SELECT id, customer_id, name, email, phone FROM contact WHERE id IN ({list}) AND archived_at IS NULL"
            );
            for row in dialect.rows(db, sql).await? {
                let id = int(&row, "id")?;
                out.insert(
                    id,
                    Features {
                        id,
                        customer_id: Some(int(&row, "customer_id")?),
                        name: text(&row, "name")?.unwrap_or_default(),
                        emails: text(&row, "email")?.into_iter().collect(),
                        phones: text(&row, "phone")?.into_iter().collect(),
                        ..Features::default()
                    },
                );
            }
        }
    }
    let name = entity(kind);
    let sql = format!(
        "SELECT v.row_id, f.key, v.text_value, v.number_value, v.int_value FROM custom_value v \
         JOIN custom_field f ON f.id = v.field_id \
         WHERE f.entity = '{name}' AND f.identifier = {} AND f.archived_at IS NULL AND v.row_id IN ({list})",
        if dialect.postgres() { "TRUE" } else { "1" }
    );
    for row in dialect.rows(db, sql).await? {
        let value = match (
            text(&row, "text_value")?,
            row.try_get::<Option<f64>>("", "number_value")?,
            row.try_get::<Option<i64>>("", "int_value")?,
        ) {
            (Some(text), _, _) => text,
            (None, Some(number), _) => number.to_string(),
            (None, None, Some(int)) => int.to_string(),
            (None, None, None) => continue,
        };
        if let Some(f) = out.get_mut(&int(&row, "row_id")?) {
            f.identifiers.push((text(&row, "key")?.unwrap_or_default(), value));
        }
    }
    let sql = format!(
        "SELECT entity_id, source, external_id FROM external_ref WHERE entity = '{name}' AND entity_id IN ({list})"
    );
    for row in dialect.rows(db, sql).await? {
        if let Some(f) = out.get_mut(&int(&row, "entity_id")?) {
            f.external
                .push((text(&row, "source")?.unwrap_or_default(), text(&row, "external_id")?.unwrap_or_default()));
        }
    }
    Ok(out)
}

/// One candidate pair.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub low_id: i64,
    pub high_id: i64,
    /// The score in thousandths.
    pub score_milli: i64,
    pub reasons: Vec<String>,
    /// Whether a reason's quoted value was left out for the viewer.
    pub withheld: bool,
}

impl Candidate {
    /// Where the list resumes after this pair.
    pub fn key(&self) -> (i64, i64, i64) {
        (self.score_milli, self.low_id, self.high_id)
    }
}

/// SQL true for the pairs both of whose rows the viewer sees.
fn visible(dialect: Dialect, viewer: &Viewer, kind: Kind) -> String {
    if policy::customer_scope(viewer, Resource::Customers) == CustomerScope::All {
        return String::new();
    }
    let both = |f: &dyn Fn(&str) -> String| format!("{} {}", f("p.low_id"), f("p.high_id"));
    match kind {
        Kind::Customer => both(&|column| policy::visible_sql(dialect, viewer, Resource::Customers, column)),
        Kind::Contact => both(&|column| {
            format!(
                "AND {column} IN (SELECT c.id FROM contact c WHERE 1 = 1 {})",
                policy::visible_sql(dialect, viewer, Resource::Customers, "c.customer_id")
            )
        }),
    }
}

/// One page of the candidates the viewer sees (both rows visible), best
/// first, then by ids; `after` is the key of the pair the page starts after.
/// Brings the pairs up to date first. Returns the page and whether more follow.
pub async fn page(
    db: &DatabaseConnection,
    viewer: &Viewer,
    kind: Kind,
    first: u64,
    after: Option<(i64, i64, i64)>,
) -> AppResult<(Vec<Candidate>, bool)> {
    policy::ensure_can_read(viewer, Resource::Customers)?;
    catch_up(db).await?;
    let dialect = Dialect::of(db);
    let resume = match after {
        Some((score, low, high)) => format!(
            "AND (p.score_milli < {score} OR (p.score_milli = {score} AND (p.low_id > {low} \
             OR (p.low_id = {low} AND p.high_id > {high}))))"
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT p.low_id, p.high_id, p.score_milli, p.reasons FROM duplicate_pair p \
         WHERE p.entity = '{}' {} {resume} ORDER BY p.score_milli DESC, p.low_id, p.high_id LIMIT {}",
        entity(kind),
        visible(dialect, viewer, kind),
        first + 1
    );
    let mut out = Vec::new();
    for row in dialect.rows(db, sql).await? {
        let reasons = text(&row, "reasons")?.unwrap_or_default();
        out.push(Candidate {
            low_id: int(&row, "low_id")?,
            high_id: int(&row, "high_id")?,
            score_milli: row.try_get::<i32>("", "score_milli")?.into(),
            reasons: serde_json::from_str(&reasons).unwrap_or_default(),
            withheld: false,
        });
    }
    let more = out.len() as u64 > first;
    out.truncate(first as usize);
    withhold_quotes(db, viewer, &mut out).await?;
    Ok((out, more))
}

/// Leaves out of the reasons the values the viewer may not read: contacts'
/// e-mails and phones, and sensitive identifier fields. The pair stays
/// listed: that two rows share a value is what the list is for.
async fn withhold_quotes(db: &DatabaseConnection, viewer: &Viewer, candidates: &mut [Candidate]) -> AppResult<()> {
    if viewer.hidden.is_empty() {
        return Ok(());
    }
    let sensitive = policy::fields::hidden_custom_keys(db, viewer).await?;
    let hidden = |quoted: Quoted<'_>| match quoted {
        Quoted::Email => !viewer.may_read(SensitiveField::ContactEmail),
        // A sensitive identifier field may be keyed `phone`: its reason reads like a contact's.
        Quoted::Phone => !viewer.may_read(SensitiveField::ContactPhone) || sensitive.iter().any(|k| k == "phone"),
        Quoted::Identifier(key) => sensitive.iter().any(|k| k == key),
    };
    for candidate in candidates {
        for reason in &mut candidate.reasons {
            if let Some((quoted, bare)) = rule::quoted(reason)
                && hidden(quoted)
            {
                *reason = bare.to_owned();
                candidate.withheld = true;
            }
        }
    }
    Ok(())
}

/// How many candidates the viewer sees (after a [`page`], which caught up).
pub async fn count(db: &DatabaseConnection, viewer: &Viewer, kind: Kind) -> AppResult<u64> {
    let dialect = Dialect::of(db);
    let sql = format!(
        "SELECT COUNT(*) AS n FROM duplicate_pair p WHERE p.entity = '{}' {}",
        entity(kind),
        visible(dialect, viewer, kind)
    );
    let rows = dialect.rows(db, sql).await?;
    Ok(rows.first().map(|r| int(r, "n")).transpose()?.unwrap_or(0).try_into().unwrap_or(0))
}
