//! Duplicates in the API: the candidate pairs, and merging them.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject, connection::Edge};

use crate::{
    error::AppError,
    graphql::{
        contacts::Contact,
        customers::Customer,
        support::{
            context::request,
            guards, ids,
            pagination::{Conn, ConnectionTotals, Cursors, page_size, wants_total},
        },
    },
    rules::duplicates::Kind,
    service::{duplicates as service, merge},
};

/// Which rows to look for duplicates among.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DuplicateEntity {
    /// Customers (by name, contacts' e-mails, e-mail domains and phones, identifier fields, external ids).
    Customer,
    /// Contacts (by name at the same customer, e-mail, phone, identifier fields, external ids).
    Contact,
}

impl From<DuplicateEntity> for Kind {
    fn from(entity: DuplicateEntity) -> Self {
        match entity {
            DuplicateEntity::Customer => Kind::Customer,
            DuplicateEntity::Contact => Kind::Contact,
        }
    }
}

/// Two rows that are likely one.
#[derive(SimpleObject)]
pub struct DuplicateCandidate {
    /// How likely the two are one, from 0 to 1 (0.6 and up are listed): each reason is a chance, and they
    /// combine as independent chances do.
    pub score: f64,
    /// Why, in words ("same normalised name (acme industrial)", "same e-mail (jane@acme.com)", ...). A value you
    /// may not read (CONTACT_EMAIL, CONTACT_PHONE, a sensitive identifier field) is left out: "same e-mail".
    pub reasons: Vec<String>,
    /// The two rows' global IDs, the older first.
    pub ids: Vec<ID>,
}

#[derive(Default)]
pub struct DuplicateQuery;

#[Object]
impl DuplicateQuery {
    /// Pairs of live customers (or contacts) that are likely duplicates, best first, among the rows you can see
    /// (both of a pair). Current with every write: each read first takes in what changed since the last.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn duplicate_candidates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Customers or contacts.")] entity: DuplicateEntity,
        #[graphql(desc = "How many pairs (0 to 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the pair to start after (from a previous page).")] after: Option<String>,
    ) -> Result<Conn<DuplicateCandidate>> {
        let rc = request(ctx)?;
        let viewer = rc.viewer();
        let first = page_size(first)?;
        let list = match entity {
            DuplicateEntity::Customer => "duplicates:customer",
            DuplicateEntity::Contact => "duplicates:contact",
        };
        let cursors = Cursors::new(&rc.services.config.cursor_secret, list, viewer.user_id).for_selection(ctx);
        let after = match after.as_deref() {
            Some(cursor) => match cursors.decode_parts("after", cursor, 3)?.as_slice() {
                [score, low, high] => Some((*score, *low, *high)),
                _ => return Err(AppError::bad_input("after", "after is not a cursor of this list").into()),
            },
            None => None,
        };
        let kind = Kind::from(entity);
        let (pairs, more) = service::page(&rc.db, &viewer, kind, first, after).await?;
        let total = if wants_total(ctx) { service::count(&rc.db, &viewer, kind).await? } else { 0 };
        let node = match entity {
            DuplicateEntity::Customer => "Customer",
            DuplicateEntity::Contact => "Contact",
        };
        let mut conn = Conn::with_additional_fields(after.is_some(), more, ConnectionTotals { total_count: total });
        let len = pairs.len();
        for (i, pair) in pairs.into_iter().enumerate() {
            let (score, low, high) = pair.key();
            let cursor = if cursors.wanted(i, len) { cursors.encode_parts(&[score, low, high]) } else { String::new() };
            if pair.withheld {
                rc.hidden_log().note("DuplicateCandidate.reasons");
            }
            conn.edges.push(Edge::new(
                cursor,
                DuplicateCandidate {
                    score: pair.score_milli as f64 / 1000.0,
                    reasons: pair.reasons,
                    ids: vec![ids::encode(node, low), ids::encode(node, high)],
                },
            ));
        }
        Ok(conn)
    }
}

#[derive(Default)]
pub struct MergeMutation;

fn decode_all(kind: &str, field: &str, list: &[ID]) -> Result<Vec<i64>> {
    Ok(list.iter().map(|id| ids::decode(kind, field, id)).collect::<Result<_, _>>()?)
}

#[Object]
impl MergeMutation {
    /// Merges duplicate customers into one, in one transaction: their contacts, communications, tickets,
    /// commitments, tasks, key dates, survey answers, links and subsidiaries move to the survivor; their revenue
    /// months move too (a month both have is added into the survivor's); custom-field values the survivor lacks
    /// move (the survivor's win). The merged customers are archived with `mergedInto`, keep their churn events,
    /// and their external ids resolve to the survivor from then on (revenue by those ids is refused). You must be
    /// able to write every customer named, and every customer they are linked to or parents of. Returns the
    /// survivor.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn merge_customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer that stays.")] survivor_id: ID,
        #[graphql(desc = "The customers merged into it (1 to 20).")] merged_ids: Vec<ID>,
        #[graphql(desc = "The versions you read: the survivor's first, then each merged customer's in the order \
                          of mergedIds. Any other is CONFLICT.")]
        expected_versions: Vec<i32>,
    ) -> Result<Customer> {
        let rc = request(ctx)?;
        let survivor = ids::decode("Customer", "survivorId", &survivor_id)?;
        let merged = decode_all("Customer", "mergedIds", &merged_ids)?;
        let row = merge::merge_customers(&rc.services, &rc.viewer(), survivor, &merged, &expected_versions).await?;
        Ok(Customer::one(row))
    }

    /// Merges duplicate contacts of one customer into one, in one transaction: their communications, tickets,
    /// tasks, key dates and survey answers move to the survivor, and custom-field values it lacks (the survivor's
    /// win). The merged contacts are archived with `mergedInto`, and their external ids resolve to the survivor.
    /// You must be able to write their customer. Returns the survivor.
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact that stays.")] survivor_id: ID,
        #[graphql(desc = "The contacts merged into it (1 to 20).")] merged_ids: Vec<ID>,
        #[graphql(desc = "The versions you read: the survivor's first, then each merged contact's in the order of \
                          mergedIds. Any other is CONFLICT.")]
        expected_versions: Vec<i32>,
    ) -> Result<Contact> {
        let rc = request(ctx)?;
        let survivor = ids::decode("Contact", "survivorId", &survivor_id)?;
        let merged = decode_all("Contact", "mergedIds", &merged_ids)?;
        let row = merge::merge_contacts(&rc.services, &rc.viewer(), survivor, &merged, &expected_versions).await?;
        Ok(Contact::one(row))
    }
}
