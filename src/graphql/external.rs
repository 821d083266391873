//! `upsertCustomers` and `upsertContacts`: master data pushed by other
//! systems, keyed by their own ids.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::external_ref;

use crate::{
    graphql::{
        contacts::Contact,
        custom_fields::{CustomFieldInput, given},
        customers::Customer,
        support::{
            context::request,
            enums::{ChurnKind, ChurnReason, CustomerStatus, OrgLevel},
            ids,
            scalars::Date,
        },
    },
    service::external::{self as service, ChurnRecord, ContactRecord, CustomerRecord},
};

/// The id another system knows a row by.
#[derive(SimpleObject)]
pub struct ExternalId {
    /// The system, as named in the upsert (e.g. `erp`).
    pub source: String,
    /// The row's id in that system.
    pub external_id: String,
}

impl From<external_ref::Model> for ExternalId {
    fn from(m: external_ref::Model) -> Self {
        Self { source: m.source, external_id: m.external_id }
    }
}

/// A customer as the source system has it.
#[derive(InputObject)]
pub struct CustomerUpsertInput {
    /// Its id in the source system: the key of the upsert.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Industry (null clears it).
    pub industry: Option<String>,
    /// Region (null clears it).
    pub region: Option<String>,
    /// Status when it is created: ACTIVE (the default) or PROSPECT; ignored afterwards. LOST and WON_BACK come
    /// with their dated events (`upsertChurnEvents`), never alone.
    pub status: Option<CustomerStatus>,
    /// When it became a customer (not in the future); set when given, left as it is when not. Without it,
    /// reports start its history at its first month with revenue.
    pub customer_since: Option<Date>,
    /// Owner when it is created, by ID; ignored afterwards (use `reassignCustomers`).
    pub owner_id: Option<ID>,
    /// Owner when it is created, by e-mail, instead of `ownerId`.
    pub owner_email: Option<String>,
    /// Custom field values (each key a customer field; null clears one); a required field must be given to create.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A contact as the source system has it.
#[derive(InputObject)]
pub struct ContactUpsertInput {
    /// Its id in the source system: the key of the upsert.
    pub external_id: String,
    /// The customer, by ID; or give `customerExternalId`.
    pub customer_id: Option<ID>,
    /// The customer's id in the same source system, instead of `customerId`.
    pub customer_external_id: Option<String>,
    /// Full name.
    pub name: String,
    /// Job title (null clears it).
    pub title: Option<String>,
    /// Department (null clears it).
    pub department: Option<String>,
    /// Level in the customer's organisation.
    pub org_level: OrgLevel,
    /// E-mail (null clears it).
    pub email: Option<String>,
    /// Phone (null clears it).
    pub phone: Option<String>,
    /// Custom field values (each key a contact field; null clears one); a required field must be given to create.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A loss or win-back as the source system has it.
#[derive(InputObject)]
pub struct ChurnEventUpsertInput {
    /// Its id in the source system: the key of the upsert.
    pub external_id: String,
    /// The customer, by ID; or give `customerExternalId`.
    pub customer_id: Option<ID>,
    /// The customer's id in the same source system, instead of `customerId`.
    pub customer_external_id: Option<String>,
    /// LOST or WON_BACK.
    pub kind: ChurnKind,
    /// The day it happened (not in the future). A customer's events alternate, a loss first, in date order.
    pub occurred_on: Date,
    /// Why it was lost: required for a loss, absent for a win-back.
    pub reason: Option<ChurnReason>,
    /// The competitor it went to, if known.
    pub competitor: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// What `upsertChurnEvents` did.
#[derive(SimpleObject)]
pub struct UpsertChurnEventsPayload {
    /// The events, in the order sent.
    pub events: Vec<crate::graphql::churn::ChurnEvent>,
    /// Events recorded.
    pub created: i32,
    /// Known events whose reason, competitor or notes changed.
    pub updated: i32,
    /// Known events already as sent.
    pub unchanged: i32,
}

/// What `upsertCustomers` did.
#[derive(SimpleObject)]
pub struct UpsertCustomersPayload {
    /// The customers, in the order sent.
    pub customers: Vec<Customer>,
    /// Rows created.
    pub created: i32,
    /// Rows whose fields changed.
    pub updated: i32,
    /// Rows already as sent (nothing written, no change recorded).
    pub unchanged: i32,
}

/// What `upsertContacts` did.
#[derive(SimpleObject)]
pub struct UpsertContactsPayload {
    /// The contacts, in the order sent.
    pub contacts: Vec<Contact>,
    /// Rows created.
    pub created: i32,
    /// Rows whose fields changed.
    pub updated: i32,
    /// Rows already as sent (nothing written, no change recorded).
    pub unchanged: i32,
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[derive(Default)]
pub struct ExternalMutation;

#[Object]
impl ExternalMutation {
    /// Creates or updates up to 1,000 customers by their id in `source`, all
    /// or nothing: a bad row fails the batch with BAD_USER_INPUT, and
    /// `extensions.rows` lists every bad row's `index`, `field` and `message`.
    /// Service accounts need `customers:write`; people must be ADMIN or LEADER.
    async fn upsert_customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The system the ids come from (e.g. `erp`).")] source: String,
        #[graphql(desc = "The customers, at most 1,000.")] customers: Vec<CustomerUpsertInput>,
    ) -> Result<UpsertCustomersPayload> {
        let rc = request(ctx)?;
        let mut records = Vec::with_capacity(customers.len());
        for (i, c) in customers.into_iter().enumerate() {
            let owner_id = ids::decode_opt("User", &format!("customers[{i}].ownerId"), c.owner_id.as_ref())?;
            records.push(CustomerRecord {
                external_id: c.external_id,
                name: c.name,
                industry: c.industry,
                region: c.region,
                status: c.status.map(Into::into),
                customer_since: c.customer_since.map(|d| d.0),
                owner_id,
                owner_email: c.owner_email,
                custom_fields: given(c.custom_fields),
            });
        }
        let done = service::upsert_customers(&rc.services, &rc.viewer(), &source, records).await?;
        Ok(UpsertCustomersPayload {
            customers: Customer::page(done.rows),
            created: count(done.created),
            updated: count(done.updated),
            unchanged: count(done.unchanged),
        })
    }

    /// Records up to 1,000 losses and win-backs by their id in `source`, all or nothing, like
    /// `upsertCustomers`: a company's churn history, with its dates. Each customer's events, stored and sent,
    /// must alternate (a loss first) in date order, none in the future and no loss before `customerSince`;
    /// a known event may have its reason, competitor and notes corrected, not its kind or date. Each
    /// customer's status follows its latest event in the same transaction (LOST or WON_BACK). Service
    /// accounts need `customers:write`; people must be ADMIN or LEADER.
    async fn upsert_churn_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The system the ids come from (e.g. `crm`).")] source: String,
        #[graphql(desc = "The events, at most 1,000.")] events: Vec<ChurnEventUpsertInput>,
    ) -> Result<UpsertChurnEventsPayload> {
        let rc = request(ctx)?;
        let mut records = Vec::with_capacity(events.len());
        for (i, e) in events.into_iter().enumerate() {
            let customer_id = ids::decode_opt("Customer", &format!("events[{i}].customerId"), e.customer_id.as_ref())?;
            records.push(ChurnRecord {
                external_id: e.external_id,
                customer_id,
                customer_external_id: e.customer_external_id,
                kind: e.kind.into(),
                occurred_on: e.occurred_on.0,
                reason: e.reason.map(Into::into),
                competitor: e.competitor,
                notes: e.notes,
            });
        }
        let done = service::upsert_churn_events(&rc.services, &rc.viewer(), &source, records).await?;
        Ok(UpsertChurnEventsPayload {
            events: done.rows.into_iter().map(Into::into).collect(),
            created: count(done.created),
            updated: count(done.updated),
            unchanged: count(done.unchanged),
        })
    }

    /// Creates or updates up to 1,000 contacts by their id in `source`, all or
    /// nothing, like `upsertCustomers`.
    async fn upsert_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The system the ids come from (e.g. `erp`).")] source: String,
        #[graphql(desc = "The contacts, at most 1,000.")] contacts: Vec<ContactUpsertInput>,
    ) -> Result<UpsertContactsPayload> {
        let rc = request(ctx)?;
        let mut records = Vec::with_capacity(contacts.len());
        for (i, c) in contacts.into_iter().enumerate() {
            let customer_id =
                ids::decode_opt("Customer", &format!("contacts[{i}].customerId"), c.customer_id.as_ref())?;
            records.push(ContactRecord {
                external_id: c.external_id,
                customer_id,
                customer_external_id: c.customer_external_id,
                name: c.name,
                title: c.title,
                department: c.department,
                org_level: c.org_level.into(),
                email: c.email,
                phone: c.phone,
                custom_fields: given(c.custom_fields),
            });
        }
        let done = service::upsert_contacts(&rc.services, &rc.viewer(), &source, records).await?;
        Ok(UpsertContactsPayload {
            contacts: Contact::page(done.rows),
            created: count(done.created),
            updated: count(done.updated),
            unchanged: count(done.unchanged),
        })
    }
}
