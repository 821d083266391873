//! Contacts in the API.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::{DateTime, Utc};
use entity::contact;

use crate::{
    graphql::loaders::page_cost,
    graphql::support::guards,
    graphql::{
        custom_fields::{CustomFieldInput, CustomFieldValue, given, values_of},
        customers::Customer,
        loaders::{listed, load},
        support::context::request,
        support::enums::{OrderDirection, OrgLevel, to_domain},
        support::ids,
        support::pagination::{self, Conn, PageArgs, Sort},
        support::patch::patch,
        support::scalars::Date,
    },
    policy::SensitiveField,
    service::contacts::{self as service, ContactFields, ContactFilter},
    service::{pages, validate},
};

listed!(
    /// A person at a customer. Contacts who left keep their record with `endedOn`.
    Contact,
    contact::Model
);

impl crate::graphql::support::fast::Plain for Contact {
    fn plain(&self, name: &str, hidden: Option<crate::policy::HiddenFields>) -> Option<async_graphql::Value> {
        use crate::graphql::support::fast::{enumerated, global_id, opt_scalar, opt_text, readable, scalar, text};
        let m = &self.model;
        Some(match name {
            "id" => global_id("Contact", m.id),
            "name" => text(&m.name),
            "title" => opt_text(m.title.as_deref()),
            "department" => opt_text(m.department.as_deref()),
            "orgLevel" => enumerated(OrgLevel::from(m.org_level)),
            "influence" => opt_scalar(m.influence),
            "relationshipStrength" => opt_scalar(m.relationship_strength),
            // Sensitive: here only for a viewer who may read them (the resolver notes them hidden).
            "birthday" if readable(hidden, SensitiveField::ContactBirthday) => opt_scalar(m.birthday.map(Date)),
            "email" if readable(hidden, SensitiveField::ContactEmail) => opt_text(m.email.as_deref()),
            "phone" if readable(hidden, SensitiveField::ContactPhone) => opt_text(m.phone.as_deref()),
            "startedOn" => opt_scalar(m.started_on.map(Date)),
            "endedOn" => opt_scalar(m.ended_on.map(Date)),
            "version" => scalar(m.version),
            "createdAt" => scalar(m.created_at),
            "updatedAt" => scalar(m.updated_at),
            "archivedAt" => opt_scalar(m.archived_at),
            _ => return None,
        })
    }
}

/// A person at a customer, at one organisational level. A contact who left the
/// customer is kept, with the date (`endedOn`).
#[Object]
impl Contact {
    /// Global ID.
    pub async fn id(&self) -> ID {
        ids::encode("Contact", self.model.id)
    }
    /// Full name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// Job title.
    async fn title(&self) -> Option<&str> {
        self.model.title.as_deref()
    }
    /// Department.
    async fn department(&self) -> Option<&str> {
        self.model.department.as_deref()
    }
    /// Level in the customer's organisation.
    async fn org_level(&self) -> OrgLevel {
        self.model.org_level.into()
    }
    /// Influence on buying decisions, 1 (none) to 5 (decides alone).
    async fn influence(&self) -> Option<i32> {
        self.model.influence
    }
    /// Strength of our relationship, 1 (cold) to 5 (trusted).
    async fn relationship_strength(&self) -> Option<i32> {
        self.model.relationship_strength
    }
    /// Birthday, a care date; null also when you may not read CONTACT_BIRTHDAY.
    async fn birthday(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
        let birthday = self.model.birthday.map(Date);
        Ok(request(ctx)?.sensitive(SensitiveField::ContactBirthday, "Contact.birthday", birthday).flatten())
    }
    /// E-mail address; null also when you may not read CONTACT_EMAIL.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let email = self.model.email.as_deref();
        Ok(request(ctx)?.sensitive(SensitiveField::ContactEmail, "Contact.email", email).flatten())
    }
    /// Phone number; null also when you may not read CONTACT_PHONE.
    async fn phone(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let phone = self.model.phone.as_deref();
        Ok(request(ctx)?.sensitive(SensitiveField::ContactPhone, "Contact.phone", phone).flatten())
    }
    /// When our relationship with this person started.
    async fn started_on(&self) -> Option<Date> {
        self.model.started_on.map(Date)
    }
    /// When the person left the customer ("our champion left" is a risk signal).
    async fn ended_on(&self) -> Option<Date> {
        self.model.ended_on.map(Date)
    }
    /// Optimistic-locking version.
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// When the row was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When the row last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
    /// When the contact was archived.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.model.archived_at
    }
    /// The ids other systems know this contact by (see `upsertContacts`).
    async fn external_ids(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::external::ExternalId>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<contact::Model>]| rows.iter().map(|c| c.id).collect();
        let loader = rc.loaders.external_ids_by_contact_id();
        let refs = load(self.siblings.as_deref(), "externalIds", loader, keys, self.model.id).await?;
        Ok(refs.unwrap_or_default().into_iter().map(Into::into).collect())
    }
    /// The company's own fields on this contact that have a value, by key (see `customFieldDefinitions`).
    async fn custom_fields(&self, ctx: &Context<'_>) -> Result<Vec<CustomFieldValue>> {
        let rc = request(ctx)?;
        values_of(rc, rc.loaders.custom_fields_by_contact_id(), self.model.id).await
    }
    /// The contact this one was merged into (`mergeContacts`; it is archived since); null otherwise, or when you
    /// cannot see it.
    async fn merged_into(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(into) = self.model.merged_into_id else {
            return Ok(None);
        };
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<contact::Model>]| rows.iter().filter_map(|c| c.merged_into_id).collect();
        Ok(load(self.siblings.as_deref(), "mergedInto", rc.loaders.contact_by_id(), keys, into)
            .await?
            .map(Contact::one))
    }
    /// The customer this person works for.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let rc = request(ctx)?;
        let keys = |rows: &[std::sync::Arc<contact::Model>]| rows.iter().map(|c| c.customer_id).collect();
        let loader = rc.loaders.customer_by_id();
        Ok(load(self.siblings.as_deref(), "customer", loader, keys, self.model.customer_id).await?.map(Customer::one))
    }
}

/// Filters of the contact list.
#[derive(InputObject, Default)]
pub struct ContactFilterInput {
    /// Contacts of this customer.
    pub customer_id: Option<ID>,
    /// Any of these levels.
    pub org_levels: Option<Vec<OrgLevel>>,
    /// Case-insensitive part of the name.
    pub search: Option<String>,
    /// Only people still at the customer.
    #[graphql(default)]
    pub current_only: bool,
    /// Include archived contacts.
    #[graphql(default)]
    pub include_archived: bool,
}

/// Sortable fields of contacts.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactOrderField {
    /// By name.
    #[default]
    Name,
    /// By creation time.
    CreatedAt,
}

/// Sort order of the contact list.
#[derive(InputObject, Default)]
pub struct ContactOrder {
    /// Field.
    #[graphql(default)]
    pub field: ContactOrderField,
    /// Direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// Contacts of the customers you can see.
    #[graphql(guard = "guards::CUSTOMERS", complexity = "page_cost(first, last, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the rows must all meet.")] filter: Option<ContactFilterInput>,
        #[graphql(desc = "Sort order; ties are broken by ID.")] order_by: Option<ContactOrder>,
        #[graphql(desc = "How many rows from the start of the list (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the row to start after (from a previous page).")] after: Option<String>,
        #[graphql(desc = "How many rows from the end of the list (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Cursor of the row to end before (from a previous page).")] before: Option<String>,
    ) -> Result<Conn<Contact>> {
        let rc = request(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = ContactFilter {
            customer_id: ids::decode_opt("Customer", "customerId", f.customer_id.as_ref())?,
            org_levels: to_domain(f.org_levels),
            search: validate::filter_text("filter.search", f.search)?,
            current_only: f.current_only,
            include_archived: f.include_archived,
        };
        let order = order_by.unwrap_or_default();
        let column = match order.field {
            ContactOrderField::Name => contact::Column::Name,
            ContactOrderField::CreatedAt => contact::Column::CreatedAt,
        };
        let sort = if order.field == ContactOrderField::Name {
            Sort::text(column, contact::Column::Id, order.direction.descending())
        } else {
            Sort::new(column, contact::Column::Id, order.direction.descending())
        };
        let args = PageArgs::new(first, after, last, before);
        let (window, cursors) = pagination::window(ctx, rc, "contact", &args)?;
        let viewer = rc.viewer();
        let select = service::select(&viewer, &filter);
        // A bulk read of the account book: it counts toward the export audit.
        let page = pages::fetch_counted(&rc.services, &viewer, select, &sort, window).await?;
        Ok(pagination::wrap(page, &cursors, |c| c.id, Contact::page))
    }
}

/// A contact's fields. On create, `name` and `orgLevel` are required; on update
/// omitted fields stay and `null` clears.
#[derive(InputObject, Default)]
pub struct ContactInput {
    /// Full name, 1 to 200 characters.
    pub name: Option<String>,
    /// Job title.
    pub title: MaybeUndefined<String>,
    /// Department.
    pub department: MaybeUndefined<String>,
    /// Level in the organisation.
    pub org_level: Option<OrgLevel>,
    /// Influence, 1 to 5.
    pub influence: MaybeUndefined<i32>,
    /// Relationship strength, 1 to 5.
    pub relationship_strength: MaybeUndefined<i32>,
    /// Birthday (not in the future).
    pub birthday: MaybeUndefined<Date>,
    /// E-mail address.
    pub email: MaybeUndefined<String>,
    /// Phone number.
    pub phone: MaybeUndefined<String>,
    /// Relationship start.
    pub started_on: MaybeUndefined<Date>,
    /// Left the customer on.
    pub ended_on: MaybeUndefined<Date>,
    /// Custom field values (each key a contact field; null clears one). On create, required fields must be given.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

impl From<ContactInput> for ContactFields {
    fn from(input: ContactInput) -> Self {
        Self {
            name: input.name,
            title: patch(input.title, |v| v),
            department: patch(input.department, |v| v),
            org_level: input.org_level.map(Into::into),
            influence: patch(input.influence, |v| v),
            relationship_strength: patch(input.relationship_strength, |v| v),
            birthday: patch(input.birthday, |v| v.0),
            email: patch(input.email, |v| v),
            phone: patch(input.phone, |v| v),
            started_on: patch(input.started_on, |v| v.0),
            ended_on: patch(input.ended_on, |v| v.0),
            custom_fields: given(input.custom_fields),
        }
    }
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Adds a contact to a customer.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer.")] customer_id: ID,
        #[graphql(desc = "What to record.")] input: ContactInput,
    ) -> Result<Contact> {
        let rc = request(ctx)?;
        let customer_id = ids::decode("Customer", "customerId", &customer_id)?;
        Ok(Contact::one(service::create(&rc.services, &rc.viewer(), customer_id, input.into()).await?))
    }

    /// Updates a contact. With `expectedVersion`, a stale version is a CONFLICT.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact.")] id: ID,
        #[graphql(
            desc = "The version you last read; if the row has changed since, the answer is a CONFLICT (with `extensions.currentVersion`) and nothing is written."
        )]
        expected_version: Option<i32>,
        #[graphql(desc = "The changes: omitted fields stay as they are, `null` clears a field.")] input: ContactInput,
    ) -> Result<Contact> {
        let rc = request(ctx)?;
        let id = ids::decode("Contact", "id", &id)?;
        Ok(Contact::one(service::update(&rc.services, &rc.viewer(), id, expected_version, input.into()).await?))
    }

    /// Archives a contact (kept for history).
    async fn archive_contact(&self, ctx: &Context<'_>, #[graphql(desc = "The contact.")] id: ID) -> Result<Contact> {
        let rc = request(ctx)?;
        let id = ids::decode("Contact", "id", &id)?;
        Ok(Contact::one(service::archive(&rc.services, &rc.viewer(), id).await?))
    }
}
