//! Custom fields: the fields a company adds to customers, contacts and tickets
//! without a release. ADMIN defines them (a key that never changes, a label, a
//! type, ENUM options, required or not) and archives them (never deletes:
//! their values stay in the audit trail). Values are given on the create,
//! update and upsert of the rows, validated against their definition, stored
//! one row per (field, row) in the column their type sorts by, and audited
//! with their old and new values in the row's own audit entry.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use entity::{
    custom_field, custom_value,
    enums::{CustomFieldEntity, CustomFieldType},
};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use serde_json::{Value, json};

use crate::{
    db::now,
    error::{AppError, AppResult},
    policy::{self, Viewer},
    service::{
        Services,
        pages::{Joined, RowValue},
        validate,
        write::Write,
    },
};

/// Longest STRING value.
pub const MAX_TEXT: usize = 2000;
/// Most options of an ENUM field.
pub const MAX_OPTIONS: usize = 100;

/// A field to define.
#[derive(Debug, Clone)]
pub struct NewField {
    pub entity: CustomFieldEntity,
    pub key: String,
    pub label: String,
    pub description: Option<String>,
    pub field_type: CustomFieldType,
    pub options: Vec<String>,
    pub required: bool,
    pub sensitive: bool,
    pub identifier: bool,
}

/// A value a client gave: the field's key and the value as JSON (null clears it).
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub key: String,
    pub value: Value,
    /// Read from a file's text column: a number or a boolean arrives as text and
    /// is read as the field's type says (`12.5`, `true`/`false`).
    pub text: bool,
}

impl Given {
    /// A value read from text (a file's `custom.<key>` column).
    pub fn text(key: &str, text: &str) -> Self {
        Self { key: key.to_owned(), value: Value::String(text.to_owned()), text: true }
    }
}

/// A text value as the JSON its field's type takes (what does not parse is left as text, and refused by `check`).
fn from_text(field: &custom_field::Model, value: &Value) -> Value {
    let Some(text) = value.as_str() else { return value.clone() };
    match field.field_type {
        CustomFieldType::Number => {
            text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or_else(|| value.clone(), Value::Number)
        }
        CustomFieldType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => value.clone(),
        },
        _ => value.clone(),
    }
}

/// A value as stored: the column its type sorts by.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Text(String),
    Number(f64),
    Int(i64),
}

/// One value of a row, with its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    pub field: custom_field::Model,
    pub value: Value,
}

/// A key is `snake_case`: a lower-case letter, then lower-case letters, digits and underscores.
fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && key.len() <= 64
}

/// Defines a field (ADMIN). A key already defined for the entity, archived or not, is a CONFLICT: keys are stable.
pub async fn define(svc: &Services, viewer: &Viewer, input: NewField) -> AppResult<custom_field::Model> {
    policy::ensure_admin(viewer)?;
    let key = input.key.trim().to_owned();
    if !valid_key(&key) {
        return Err(AppError::bad_input(
            "key",
            "key must be snake_case: a lower-case letter, then lower-case letters, digits or underscores (64 at most)",
        ));
    }
    let label = validate::required_text("label", &input.label, 200)?;
    let description = validate::optional_text("description", input.description, 2000)?;
    let mut options = Vec::new();
    for option in &input.options {
        let option = validate::required_text("options", option, 100)?;
        if options.contains(&option) {
            return Err(AppError::bad_input("options", format!("option {option:?} is given twice")));
        }
        options.push(option);
    }
    match input.field_type {
        CustomFieldType::Enum if options.is_empty() => {
            return Err(AppError::bad_input("options", "an ENUM field needs at least one option"));
        }
        CustomFieldType::Enum if options.len() > MAX_OPTIONS => {
            return Err(AppError::bad_input("options", format!("an ENUM field has at most {MAX_OPTIONS} options")));
        }
        CustomFieldType::Enum => {}
        _ if !options.is_empty() => {
            return Err(AppError::bad_input("options", "only an ENUM field has options"));
        }
        _ => {}
    }
    let mut w = Write::begin(svc, viewer).await?;
    let taken = custom_field::Entity::find()
        .filter(custom_field::Column::Entity.eq(input.entity))
        .filter(custom_field::Column::Key.eq(key.as_str()))
        .one(&*w)
        .await?;
    if taken.is_some() {
        return Err(AppError::conflict(format!("a field {key:?} is already defined (keys are never reused)")));
    }
    let at = now();
    let model = custom_field::ActiveModel {
        entity: Set(input.entity),
        key: Set(key),
        label: Set(label),
        description: Set(description),
        field_type: Set(input.field_type),
        options: Set((input.field_type == CustomFieldType::Enum).then(|| json!(options).to_string())),
        required: Set(input.required),
        sensitive: Set(input.sensitive),
        identifier: Set(input.identifier),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&*w)
    .await?;
    w.audit("define", "custom_field", model.id, json!({"entity": model.entity.to_value(), "key": model.key}));
    w.commit(svc).await?;
    Ok(model)
}

/// Archives a field (ADMIN): it is no longer read, given or required; its values stay stored and audited.
pub async fn archive(svc: &Services, viewer: &Viewer, id: i64) -> AppResult<custom_field::Model> {
    policy::ensure_admin(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    let current = custom_field::Entity::find_by_id(id).one(&*w).await?.ok_or(AppError::NotFound("custom field"))?;
    if current.archived_at.is_some() {
        return Ok(current);
    }
    let mut row: custom_field::ActiveModel = current.clone().into();
    let at = now();
    row.archived_at = Set(Some(at));
    row.updated_at = Set(at);
    row.version = Set(current.version + 1);
    let model = row.update(&*w).await?;
    if model.identifier {
        // Its values no longer identify rows: duplicate candidates are built again at the next read.
        crate::service::duplicates::stale(&*w).await?;
    }
    w.audit("archive", "custom_field", id, json!({"key": model.key}));
    w.commit(svc).await?;
    Ok(model)
}

/// The definitions of an entity's fields (all entities when `None`), by entity and key.
pub async fn definitions(
    db: &impl ConnectionTrait,
    entity: Option<CustomFieldEntity>,
    include_archived: bool,
) -> AppResult<Vec<custom_field::Model>> {
    let mut select = custom_field::Entity::find();
    if let Some(entity) = entity {
        select = select.filter(custom_field::Column::Entity.eq(entity));
    }
    if !include_archived {
        select = select.filter(custom_field::Column::ArchivedAt.is_null());
    }
    Ok(select.order_by_asc(custom_field::Column::Entity).order_by_asc(custom_field::Column::Key).all(db).await?)
}

/// The options of an ENUM field.
pub fn options(field: &custom_field::Model) -> Vec<String> {
    field.options.as_deref().and_then(|o| serde_json::from_str(o).ok()).unwrap_or_default()
}

/// A given value checked against its field: what to store, or `None` to clear it.
fn check(field: &custom_field::Model, value: &Value) -> AppResult<Option<Stored>> {
    let name = format!("customFields.{}", field.key);
    let bad = |what: &str| AppError::bad_input(&name, format!("{name} must be {what}"));
    if value.is_null() {
        if field.required {
            return Err(AppError::bad_input(&name, format!("{name} is required")));
        }
        return Ok(None);
    }
    Ok(Some(match field.field_type {
        CustomFieldType::String => {
            let text = value.as_str().ok_or_else(|| bad("a string"))?;
            Stored::Text(validate::required_text(&name, text, MAX_TEXT)?)
        }
        CustomFieldType::Number => {
            Stored::Number(value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| bad("a number"))?)
        }
        CustomFieldType::Date => {
            let text = value.as_str().ok_or_else(|| bad("a date (YYYY-MM-DD)"))?;
            let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                // Four-digit years only: stored as text, a signed year would sort out of order.
                .filter(|day| (1..=9999).contains(&day.year()))
                .ok_or_else(|| bad("a date (YYYY-MM-DD)"))?;
            Stored::Text(day.format("%Y-%m-%d").to_string())
        }
        CustomFieldType::Boolean => Stored::Int(i64::from(value.as_bool().ok_or_else(|| bad("true or false"))?)),
        CustomFieldType::Enum => {
            let text = value.as_str().ok_or_else(|| bad("one of the field's options"))?;
            let options = options(field);
            if !options.iter().any(|o| o == text) {
                return Err(AppError::bad_input(&name, format!("{name} must be one of {}", options.join(", "))));
            }
            Stored::Text(text.to_owned())
        }
        CustomFieldType::Money => {
            // An amount as a string ("1234.50", as Money is written) or a number with at most two decimals.
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                _ => return Err(bad("an amount such as \"1234.50\"")),
            };
            Stored::Int(crate::rules::parse_cents(&text).map_err(|_| bad("an amount such as \"1234.50\""))?)
        }
    }))
}

/// A stored value as the API writes it, from its row's columns.
fn as_json(field_type: CustomFieldType, text: Option<&str>, number: Option<f64>, int: Option<i64>) -> Value {
    match field_type {
        CustomFieldType::String | CustomFieldType::Date | CustomFieldType::Enum => {
            text.map_or(Value::Null, |t| Value::String(t.to_owned()))
        }
        CustomFieldType::Number => number.map_or(Value::Null, |n| json!(n)),
        CustomFieldType::Boolean => int.map_or(Value::Null, |b| Value::Bool(b != 0)),
        CustomFieldType::Money => int.map_or(Value::Null, |cents| Value::String(crate::rules::format_cents(cents))),
    }
}

/// A value row as the API writes it.
fn row_json(field_type: CustomFieldType, row: &custom_value::Model) -> Value {
    as_json(field_type, row.text_value.as_deref(), row.number_value, row.int_value)
}

fn columns(stored: &Option<Stored>) -> (Option<String>, Option<f64>, Option<i64>) {
    match stored {
        Some(Stored::Text(text)) => (Some(text.clone()), None, None),
        Some(Stored::Number(number)) => (None, Some(*number), None),
        Some(Stored::Int(int)) => (None, None, Some(*int)),
        None => (None, None, None),
    }
}

/// Values checked against the entity's live fields, before anything is written:
/// an unknown or archived key, a value of the wrong type or outside the options,
/// or (when `creating`) a required field left out is BAD_USER_INPUT naming it.
pub async fn checked(
    db: &impl ConnectionTrait,
    entity: CustomFieldEntity,
    given: &[Given],
    creating: bool,
) -> AppResult<Vec<(custom_field::Model, Option<Stored>)>> {
    if given.is_empty() && !creating {
        return Ok(Vec::new());
    }
    check_against(&definitions(db, Some(entity), false).await?, given, creating)
}

/// [`checked`] against definitions already read (a bulk write reads them once).
pub fn check_against(
    fields: &[custom_field::Model],
    given: &[Given],
    creating: bool,
) -> AppResult<Vec<(custom_field::Model, Option<Stored>)>> {
    let mut out: Vec<(custom_field::Model, Option<Stored>)> = Vec::with_capacity(given.len());
    for value in given {
        let Some(field) = fields.iter().find(|f| f.key == value.key) else {
            return Err(AppError::bad_input(
                &format!("customFields.{}", value.key),
                format!("no custom field {:?} is defined for this kind of row", value.key),
            ));
        };
        if out.iter().any(|(f, _)| f.id == field.id) {
            return Err(AppError::bad_input(
                &format!("customFields.{}", value.key),
                format!("customFields.{} is given twice", value.key),
            ));
        }
        let converted = if value.text { from_text(field, &value.value) } else { value.value.clone() };
        out.push((field.clone(), check(field, &converted)?));
    }
    if creating && let Some(missing) = fields.iter().find(|f| f.required && !out.iter().any(|(o, _)| o.id == f.id)) {
        return Err(AppError::bad_input(
            &format!("customFields.{}", missing.key),
            format!("customFields.{} is required", missing.key),
        ));
    }
    Ok(out)
}

/// Writes checked values on a row, within the row's write; returns the audit
/// of the values that changed (`{key: {old, new}}`), empty when none did.
pub async fn store(
    db: &impl ConnectionTrait,
    entity: CustomFieldEntity,
    row_id: i64,
    values: Vec<(custom_field::Model, Option<Stored>)>,
) -> AppResult<serde_json::Map<String, Value>> {
    let mut audit = serde_json::Map::new();
    if values.is_empty() {
        return Ok(audit);
    }
    let ids: Vec<i64> = values.iter().map(|(f, _)| f.id).collect();
    let current: HashMap<i64, custom_value::Model> = custom_value::Entity::find()
        .filter(custom_value::Column::RowId.eq(row_id))
        .filter(custom_value::Column::FieldId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.field_id, v))
        .collect();
    let at = now();
    for (field, stored) in values {
        let old = current.get(&field.id).map_or(Value::Null, |v| row_json(field.field_type, v));
        let (text_value, number_value, int_value) = columns(&stored);
        let new = as_json(field.field_type, text_value.as_deref(), number_value, int_value);
        if old == new {
            continue;
        }
        match (current.get(&field.id), stored) {
            (Some(row), None) => {
                custom_value::Entity::delete_by_id(row.id).exec(db).await?;
            }
            (Some(row), Some(_)) => {
                let mut active: custom_value::ActiveModel = row.clone().into();
                active.text_value = Set(text_value);
                active.number_value = Set(number_value);
                active.int_value = Set(int_value);
                active.updated_at = Set(at);
                active.update(db).await?;
            }
            (None, Some(_)) => {
                custom_value::ActiveModel {
                    field_id: Set(field.id),
                    entity: Set(entity),
                    row_id: Set(row_id),
                    text_value: Set(text_value),
                    number_value: Set(number_value),
                    int_value: Set(int_value),
                    created_at: Set(at),
                    updated_at: Set(at),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
            (None, None) => {}
        }
        audit.insert(field.key.clone(), json!({"old": old, "new": new}));
    }
    Ok(audit)
}

/// `audit` (a row's audit entry, an object) with the changed custom values under `customFields`.
pub fn audited(mut audit: Value, changed: serde_json::Map<String, Value>) -> Value {
    if !changed.is_empty()
        && let Some(object) = audit.as_object_mut()
    {
        object.insert("customFields".to_owned(), Value::Object(changed));
    }
    audit
}

/// The live fields' values of the given rows (rows the caller may read), by row, in key order.
pub async fn values(
    db: &impl ConnectionTrait,
    entity: CustomFieldEntity,
    row_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<FieldValue>>> {
    let mut out: HashMap<i64, Vec<FieldValue>> = HashMap::new();
    if row_ids.is_empty() {
        return Ok(out);
    }
    let fields: HashMap<i64, custom_field::Model> =
        definitions(db, Some(entity), false).await?.into_iter().map(|f| (f.id, f)).collect();
    if fields.is_empty() {
        return Ok(out);
    }
    let rows = custom_value::Entity::find()
        .filter(custom_value::Column::Entity.eq(entity))
        .filter(custom_value::Column::RowId.is_in(row_ids.iter().copied()))
        .all(db)
        .await?;
    for row in rows {
        if let Some(field) = fields.get(&row.field_id) {
            let value = row_json(field.field_type, &row);
            out.entry(row.row_id).or_default().push(FieldValue { field: field.clone(), value });
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.field.key.cmp(&b.field.key));
    }
    Ok(out)
}

/// FORBIDDEN when `field` is sensitive and the viewer may not read
/// sensitive fields: a filter, sort or grouping by it (`argument`) would
/// reveal its values.
pub fn ensure_readable(viewer: &Viewer, field: &custom_field::Model, argument: &str) -> AppResult<()> {
    if field.sensitive {
        policy::ensure_may_use(viewer, policy::SensitiveField::SensitiveCustomFields, argument)?;
    }
    Ok(())
}

/// A condition on one custom field, as a list filter gives it.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub key: String,
    pub eq: Option<Value>,
    pub among: Option<Vec<Value>>,
    pub gte: Option<Value>,
    pub lte: Option<Value>,
    pub is_null: Option<bool>,
}

/// A condition checked against its field: SQL on the field's value column.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    field_id: i64,
    test: Test,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Among(Vec<Stored>),
    Range(Option<Stored>, Option<Stored>),
    Present(bool),
}

/// Most values an `in` condition takes.
pub const MAX_AMONG: usize = 100;
/// Most conditions one filter takes.
pub const MAX_CONDITIONS: usize = 20;

/// The list filter's conditions checked against the entity's live fields: an
/// unknown key, a value its field would refuse, or a condition with no test
/// is BAD_USER_INPUT naming `filter.custom.<key>`.
pub async fn conditions(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    entity: CustomFieldEntity,
    wanted: Vec<Wanted>,
) -> AppResult<Vec<Condition>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    if wanted.len() > MAX_CONDITIONS {
        return Err(AppError::bad_input("filter.custom", format!("at most {MAX_CONDITIONS} conditions")));
    }
    let fields = definitions(db, Some(entity), false).await?;
    let mut out = Vec::with_capacity(wanted.len());
    let mut seen: Vec<&str> = Vec::with_capacity(wanted.len());
    for w in &wanted {
        let name = format!("filter.custom.{}", w.key);
        if seen.contains(&w.key.as_str()) {
            return Err(AppError::bad_input(&name, format!("{name} is given twice: put its tests in one condition")));
        }
        seen.push(&w.key);
        let Some(field) = fields.iter().find(|f| f.key == w.key) else {
            return Err(AppError::bad_input(&name, format!("no custom field {:?} is defined for this list", w.key)));
        };
        ensure_readable(viewer, field, &name)?;
        let value = |v: &Value| -> AppResult<Stored> {
            match check(field, v) {
                Ok(Some(stored)) => Ok(stored),
                Ok(None) => {
                    Err(AppError::bad_input(&name, format!("{name}: use isNull to match rows without a value")))
                }
                Err(AppError::BadInput { message, .. }) => Err(AppError::bad_input(&name, message)),
                Err(other) => Err(other),
            }
        };
        let mut among: Option<Vec<Stored>> = None;
        if let Some(eq) = &w.eq {
            among = Some(vec![value(eq)?]);
        }
        if let Some(list) = &w.among {
            if list.is_empty() || list.len() > MAX_AMONG {
                return Err(AppError::bad_input(&name, format!("{name}: in takes 1 to {MAX_AMONG} values")));
            }
            let list = list.iter().map(&value).collect::<AppResult<Vec<_>>>()?;
            among = Some(match among {
                Some(eq) => eq.into_iter().filter(|v| list.contains(v)).collect(),
                None => list,
            });
        }
        let ranged = w.gte.is_some() || w.lte.is_some();
        if ranged && matches!(field.field_type, CustomFieldType::Boolean | CustomFieldType::Enum) {
            return Err(AppError::bad_input(
                &name,
                format!("{name}: gte and lte compare NUMBER, DATE, MONEY and STRING"),
            ));
        }
        let range = Test::Range(w.gte.as_ref().map(&value).transpose()?, w.lte.as_ref().map(&value).transpose()?);
        let mut tests: Vec<Test> = Vec::new();
        if let Some(among) = among {
            tests.push(Test::Among(among));
        }
        if ranged {
            tests.push(range);
        }
        if let Some(is_null) = w.is_null {
            tests.push(Test::Present(!is_null));
        }
        if tests.is_empty() {
            return Err(AppError::bad_input(&name, format!("{name}: give eq, in, gte, lte or isNull")));
        }
        out.extend(tests.into_iter().map(|test| Condition { field_id: field.id, test }));
    }
    Ok(out)
}

/// How the list of `entity` sorts by its live field `key`: the field's value
/// column read per row (a lookup on the `(field, row)` key), rows without a
/// value last. An unknown key is BAD_USER_INPUT naming `orderBy.custom`.
pub async fn sort_value(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    entity: CustomFieldEntity,
    key: &str,
) -> AppResult<RowValue> {
    let fields = definitions(db, Some(entity), false).await?;
    let Some(field) = fields.iter().find(|f| f.key == key) else {
        return Err(AppError::bad_input("orderBy.custom", format!("no custom field {key:?} is defined for this list")));
    };
    ensure_readable(viewer, field, "orderBy.custom")?;
    let (column, placeholder) = match field.field_type {
        CustomFieldType::String | CustomFieldType::Date | CustomFieldType::Enum => ("text_value", "''"),
        CustomFieldType::Number => ("number_value", "0"),
        CustomFieldType::Boolean | CustomFieldType::Money => ("int_value", "0"),
    };
    let table = match entity {
        CustomFieldEntity::Customer => "customer",
        CustomFieldEntity::Contact => "contact",
        CustomFieldEntity::Ticket => "ticket",
    };
    // One value row per (field, row) at most: the join keeps the list's rows as they are.
    Ok(RowValue {
        missing: Expr::cust("(CASE WHEN sort_value.row_id IS NULL THEN 1 ELSE 0 END)"),
        value: Expr::cust(format!("COALESCE(sort_value.{column}, {placeholder})")),
        joined: Some(Joined {
            table: "custom_value",
            alias: "sort_value",
            on: format!("sort_value.field_id = {} AND sort_value.row_id = \"{table}\".\"id\"", field.id),
        }),
    })
}

/// A stored value written as a literal (strings quoted, quotes doubled: the values passed `check`).
fn literal(value: &Stored) -> (&'static str, String) {
    match value {
        Stored::Text(text) => ("text_value", format!("'{}'", text.replace('\'', "''"))),
        Stored::Number(number) => ("number_value", format!("{number:?}")),
        Stored::Int(int) => ("int_value", int.to_string()),
    }
}

impl Condition {
    /// SQL true for the rows (`row_id` the row's id column) that meet the condition.
    pub fn sql(&self, row_id: &str) -> String {
        let of_row =
            format!("SELECT 1 FROM custom_value cv WHERE cv.field_id = {} AND cv.row_id = {row_id}", self.field_id);
        match &self.test {
            Test::Present(true) => format!("EXISTS ({of_row})"),
            Test::Present(false) => format!("NOT EXISTS ({of_row})"),
            Test::Among(values) if values.is_empty() => "1 = 0".to_owned(),
            Test::Among(values) => {
                let column = literal(&values[0]).0;
                let list: Vec<String> = values.iter().map(|v| literal(v).1).collect();
                format!("EXISTS ({of_row} AND cv.{column} IN ({}))", list.join(", "))
            }
            Test::Range(gte, lte) => {
                let mut tests = Vec::new();
                if let Some(gte) = gte {
                    let (column, value) = literal(gte);
                    tests.push(format!("cv.{column} >= {value}"));
                }
                if let Some(lte) = lte {
                    let (column, value) = literal(lte);
                    tests.push(format!("cv.{column} <= {value}"));
                }
                format!("EXISTS ({of_row} AND {})", tests.join(" AND "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_snake_case() {
        assert!(valid_key("tax_id"));
        assert!(valid_key("region2"));
        assert!(!valid_key("Tax"));
        assert!(!valid_key("2fast"));
        assert!(!valid_key("tax-id"));
        assert!(!valid_key(""));
    }
}
