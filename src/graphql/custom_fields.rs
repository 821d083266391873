//! Custom fields in the API: their definitions, and the values on customers,
//! contacts and tickets.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{custom_field, enums as domain};

use crate::{
    graphql::{
        loaders::load_error,
        support::{
            context::{RequestContext, request},
            ids,
        },
    },
    policy::SensitiveField,
    service::custom_fields::{self as service, FieldValue, Given, NewField},
};

/// The kind of row a custom field belongs to.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::CustomFieldEntity")]
pub enum CustomFieldEntity {
    /// Customers.
    Customer,
    /// Contacts.
    Contact,
    /// Service tickets.
    Ticket,
}

/// The type of a custom field's values, and how `value` is written in JSON.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::CustomFieldType")]
pub enum CustomFieldType {
    /// A JSON string (2,000 characters at most).
    String,
    /// A JSON number.
    Number,
    /// A JSON string `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Boolean,
    /// A JSON string, one of the field's `options`.
    Enum,
    /// An amount as a JSON string with two decimals, as `Money` is written (`"1234.50"`); given as such a string
    /// or a number with at most two decimals.
    Money,
}

/// A field a company added to customers, contacts or tickets.
pub struct CustomFieldDefinition(pub custom_field::Model);

/// A field a company added to customers, contacts or tickets, defined by ADMIN.
#[Object]
impl CustomFieldDefinition {
    /// Global ID.
    async fn id(&self) -> ID {
        ids::encode("CustomField", self.0.id)
    }
    /// The kind of row it belongs to.
    async fn entity(&self) -> CustomFieldEntity {
        self.0.entity.into()
    }
    /// The stable key values are given and read by (`snake_case`; never changes, never reused).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The name people see.
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// What the field is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The type of its values.
    #[graphql(name = "type")]
    async fn field_type(&self) -> CustomFieldType {
        self.0.field_type.into()
    }
    /// The values an ENUM field takes (empty for the other types).
    async fn options(&self) -> Vec<String> {
        service::options(&self.0)
    }
    /// Whether every new row must have a value, and no value may be cleared.
    async fn required(&self) -> bool {
        self.0.required
    }
    /// Whether the field holds sensitive data (kept for field-level permissions).
    async fn sensitive(&self) -> bool {
        self.0.sensitive
    }
    /// Whether the value identifies the row in other systems (a tax or registration number).
    async fn identifier(&self) -> bool {
        self.0.identifier
    }
    /// When it was archived: an archived field is no longer read, given or required; its values stay in the audit.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
}

/// One custom field's value on a row.
#[derive(SimpleObject)]
pub struct CustomFieldValue {
    /// The field's key.
    pub key: String,
    /// The field's label.
    pub label: String,
    /// The field's type, which says how to read `value`.
    #[graphql(name = "type")]
    pub field_type: CustomFieldType,
    /// The value, as JSON written as its `type` says; null where a row has none (an aggregate's combination),
    /// and for a field marked `sensitive` when you may not read SENSITIVE_CUSTOM_FIELDS.
    pub value: Option<Json<serde_json::Value>>,
}

impl CustomFieldValue {
    /// The value hidden when its field is sensitive and the viewer may not read it.
    pub fn checked(mut self, rc: &RequestContext, sensitive: bool) -> Self {
        if sensitive && !rc.may_read(SensitiveField::SensitiveCustomFields, "CustomFieldValue.value") {
            self.value = None;
        }
        self
    }
}

impl From<FieldValue> for CustomFieldValue {
    fn from(v: FieldValue) -> Self {
        let value = (!v.value.is_null()).then_some(Json(v.value));
        Self { key: v.field.key, label: v.field.label, field_type: v.field.field_type.into(), value }
    }
}

/// A custom field value to set.
#[derive(InputObject)]
pub struct CustomFieldInput {
    /// The field's key.
    pub key: String,
    /// The value, as JSON written as the field's type says; null clears it.
    pub value: Option<Json<serde_json::Value>>,
}

/// The values given, for the service.
pub fn given(input: Option<Vec<CustomFieldInput>>) -> Vec<Given> {
    input
        .unwrap_or_default()
        .into_iter()
        .map(|v| Given { key: v.key, value: v.value.map_or(serde_json::Value::Null, |j| j.0), text: false })
        .collect()
}

/// The values of a row, read through `loader`.
pub async fn values_of<L>(
    rc: &RequestContext,
    loader: &async_graphql::dataloader::DataLoader<L, async_graphql::dataloader::HashMapCache>,
    row_id: i64,
) -> Result<Vec<CustomFieldValue>>
where
    L: async_graphql::dataloader::Loader<i64, Value = Vec<FieldValue>, Error = crate::graphql::loaders::LoadError>,
{
    let values = loader.load_one(row_id).await.map_err(load_error)?.unwrap_or_default();
    Ok(values
        .into_iter()
        .map(|v| {
            let sensitive = v.field.sensitive;
            CustomFieldValue::from(v).checked(rc, sensitive)
        })
        .collect())
}

/// A condition on one custom field of a list's rows; every test given must hold. Values are written as the field's
/// type says (as in `CustomFieldInput`).
#[derive(InputObject)]
pub struct CustomFieldCondition {
    /// The field's key.
    pub key: String,
    /// The value equals this.
    pub eq: Option<Json<serde_json::Value>>,
    /// The value is one of these (1 to 100).
    #[graphql(name = "in")]
    pub among: Option<Vec<Json<serde_json::Value>>>,
    /// The value is at least this (NUMBER, DATE, MONEY, STRING).
    pub gte: Option<Json<serde_json::Value>>,
    /// The value is at most this (NUMBER, DATE, MONEY, STRING).
    pub lte: Option<Json<serde_json::Value>>,
    /// True: the row has no value for the field; false: it has one.
    pub is_null: Option<bool>,
}

/// The conditions given, for the service.
pub fn wanted(input: Option<Vec<CustomFieldCondition>>) -> Vec<service::Wanted> {
    input
        .unwrap_or_default()
        .into_iter()
        .map(|c| service::Wanted {
            key: c.key,
            eq: c.eq.map(|j| j.0),
            among: c.among.map(|list| list.into_iter().map(|j| j.0).collect()),
            gte: c.gte.map(|j| j.0),
            lte: c.lte.map(|j| j.0),
            is_null: c.is_null,
        })
        .collect()
}

/// A field to define.
#[derive(InputObject)]
pub struct DefineCustomFieldInput {
    /// The kind of row it belongs to.
    pub entity: CustomFieldEntity,
    /// A stable `snake_case` key (64 characters at most); never changes and is never reused.
    pub key: String,
    /// The name people see.
    pub label: String,
    /// What the field is for.
    pub description: Option<String>,
    /// The type of its values.
    #[graphql(name = "type")]
    pub field_type: CustomFieldType,
    /// The values of an ENUM field (required for ENUM, refused for the other types).
    pub options: Option<Vec<String>>,
    /// Every new row must have a value, and no value may be cleared (default false). Rows that exist keep no value
    /// until one is given.
    pub required: Option<bool>,
    /// Holds sensitive data (default false).
    pub sensitive: Option<bool>,
    /// Identifies the row in other systems, such as a tax or registration number (default false).
    pub identifier: Option<bool>,
}

#[derive(Default)]
pub struct CustomFieldQuery;

#[Object]
impl CustomFieldQuery {
    /// The custom fields defined, by entity and key (everyone signed in may read the definitions).
    async fn custom_field_definitions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this kind of row's fields.")] entity: Option<CustomFieldEntity>,
        #[graphql(desc = "Include archived fields (default false).", default = false)] include_archived: bool,
    ) -> Result<Vec<CustomFieldDefinition>> {
        let rc = request(ctx)?;
        let fields = service::definitions(&rc.db, entity.map(Into::into), include_archived).await?;
        Ok(fields.into_iter().map(CustomFieldDefinition).collect())
    }
}

#[derive(Default)]
pub struct CustomFieldMutation;

#[Object]
impl CustomFieldMutation {
    /// Defines a custom field (ADMIN). A key already defined for the entity is a CONFLICT.
    async fn define_custom_field(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The field.")] input: DefineCustomFieldInput,
    ) -> Result<CustomFieldDefinition> {
        let rc = request(ctx)?;
        let field = NewField {
            entity: input.entity.into(),
            key: input.key,
            label: input.label,
            description: input.description,
            field_type: input.field_type.into(),
            options: input.options.unwrap_or_default(),
            required: input.required.unwrap_or(false),
            sensitive: input.sensitive.unwrap_or(false),
            identifier: input.identifier.unwrap_or(false),
        };
        Ok(CustomFieldDefinition(service::define(&rc.services, &rc.viewer(), field).await?))
    }

    /// Archives a custom field (ADMIN): it is never deleted, and its key is never reused.
    async fn archive_custom_field(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The field.")] id: ID,
    ) -> Result<CustomFieldDefinition> {
        let rc = request(ctx)?;
        let id = ids::decode("CustomField", "id", &id)?;
        Ok(CustomFieldDefinition(service::archive(&rc.services, &rc.viewer(), id).await?))
    }
}
