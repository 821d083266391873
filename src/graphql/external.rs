//! `upsertCustomers` and `upsertContacts`: master data pushed by other
//! systems, keyed by their own ids.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::external_ref;

use crate::{
    graphql::{
        contacts::Contact,
        customers::Customer,
        support::{
            context::request,
            enums::{CustomerStatus, OrgLevel},
            ids,
        },
    },
    service::external::{self as service, ContactRecord, CustomerRecord},
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
    /// Status when it is created (default ACTIVE); ignored afterwards (use the churn mutations).
    pub status: Option<CustomerStatus>,
    /// Owner when it is created, by ID; ignored afterwards (use `reassignCustomers`).
    pub owner_id: Option<ID>,
    /// Owner when it is created, by e-mail, instead of `ownerId`.
    pub owner_email: Option<String>,
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
                owner_id,
                owner_email: c.owner_email,
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
