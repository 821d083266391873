//! `relationshipGraph`: the network around a customer, for integrations.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject, connection::PageInfo};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use entity::user;

use crate::{
    analytics::relationship_graph::{self as model, MAX_DEPTH, MAX_PAGE, NodeRef},
    error::{AppError, AppResult},
    graphql::{
        support::{
            context::{RequestContext, request},
            enums::OrgLevel,
            guards, ids,
            node::Node,
        },
        users::User,
    },
    policy::Viewer,
    service::nodes::{self, Kind},
};

/// The kind of a relationship edge, and its direction (`from` → `to`).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum EdgeKind {
    /// Customer → contact: the contact works there (or did: see `endedOn`).
    Employs,
    /// User → customer: the user owns the account.
    Owns,
    /// User → contact: the user took part in communications with the contact.
    Communicated,
    /// Customer → customer: parent of a subsidiary in the group hierarchy.
    ParentOf,
    /// Customer → customer: a distributor and an end customer it serves.
    DistributesTo,
    /// Customer → customer: `from` was referred by `to`.
    ReferredBy,
}

impl From<EdgeKind> for model::EdgeKind {
    fn from(kind: EdgeKind) -> Self {
        match kind {
            EdgeKind::Employs => Self::Employs,
            EdgeKind::Owns => Self::Owns,
            EdgeKind::Communicated => Self::Communicated,
            EdgeKind::ParentOf => Self::ParentOf,
            EdgeKind::DistributesTo => Self::DistributesTo,
            EdgeKind::ReferredBy => Self::ReferredBy,
        }
    }
}

impl From<model::EdgeKind> for EdgeKind {
    fn from(kind: model::EdgeKind) -> Self {
        match kind {
            model::EdgeKind::Employs => Self::Employs,
            model::EdgeKind::Owns => Self::Owns,
            model::EdgeKind::Communicated => Self::Communicated,
            model::EdgeKind::ParentOf => Self::ParentOf,
            model::EdgeKind::DistributesTo => Self::DistributesTo,
            model::EdgeKind::ReferredBy => Self::ReferredBy,
        }
    }
}

/// A typed edge between two nodes of the graph. The attributes that do not
/// apply to its kind are null.
#[derive(SimpleObject)]
pub struct GraphEdge {
    /// What the edge means, and its direction.
    pub kind: EdgeKind,
    /// Global ID of the node it starts from.
    pub from: ID,
    /// Global ID of the node it points to.
    pub to: ID,
    /// EMPLOYS: the contact's level in the customer's organisation.
    pub org_level: Option<OrgLevel>,
    /// EMPLOYS: when the relationship with the contact started.
    pub started_on: Option<NaiveDate>,
    /// EMPLOYS: when the contact left the customer (null while they are there).
    pub ended_on: Option<NaiveDate>,
    /// COMMUNICATED: how many communications the two took part in.
    pub communication_count: Option<i64>,
    /// COMMUNICATED: when the latest of them happened.
    pub last_communicated_at: Option<DateTime<Utc>>,
    /// DISTRIBUTES_TO and REFERRED_BY: when the link was recorded.
    pub since: Option<DateTime<Utc>>,
}

/// One page of the relationship network around a customer.
#[derive(SimpleObject)]
pub struct RelationshipGraph {
    /// This page's nodes (customers, contacts, users), nearest to the root
    /// first; the root is the first node of the first page.
    pub nodes: Vec<Node>,
    /// The edges whose later end (in node order) is on this page: each edge
    /// is listed once over all pages, after both its ends.
    pub edges: Vec<GraphEdge>,
    /// There is more than this page: read on with `after: pageInfo.endCursor`.
    /// It also stays true on the last page when the network was larger than
    /// the 10,000 nodes one exploration collects (ask a smaller `depth` or
    /// fewer `edgeKinds`).
    pub truncated: bool,
    /// Nodes in the whole network (as far as it was explored).
    pub total_nodes: i64,
    /// Cursors of this page; `hasNextPage` tells whether more pages follow.
    pub page_info: PageInfo,
}

fn cursor(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("graph:{position}"))
}

fn position(after: &str) -> Result<usize, AppError> {
    let invalid = || AppError::bad_input("after", "after is not a cursor of this graph");
    let raw = URL_SAFE_NO_PAD.decode(after).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    text.strip_prefix("graph:").and_then(|n| n.parse().ok()).ok_or_else(invalid)
}

fn node_id(node: NodeRef) -> ID {
    match node {
        NodeRef::Customer(id) => ids::encode("Customer", id),
        NodeRef::Contact(id) => ids::encode("Contact", id),
        NodeRef::User(id) => ids::encode("User", id),
    }
}

#[derive(Default)]
pub struct GraphQuery;

#[Object]
impl GraphQuery {
    /// The relationship network around a customer, breadth-first up to
    /// `depth`: customers, their contacts and our users as nodes, joined by
    /// typed edges. Only what you may see appears: an invisible customer is
    /// neither a node nor the end of an edge, and nothing is reached through
    /// it. Paged over nodes (at most 500 a page). Service accounts need
    /// `graph:read`.
    #[graphql(guard = "guards::GRAPH", complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn relationship_graph(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer at the centre.")] root_id: ID,
        #[graphql(desc = "How many edges away from the root to go (0 to 3; null means 2).", default = 2)] depth: Option<
            i32,
        >,
        #[graphql(desc = "Only follow edges of these kinds (default: every kind).")] edge_kinds: Option<Vec<EdgeKind>>,
        #[graphql(desc = "How many nodes on this page (1 to 500; default 100).")] first: Option<i32>,
        #[graphql(desc = "`pageInfo.endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<RelationshipGraph> {
        let rc = request(ctx)?;
        let root = ids::decode("Customer", "rootId", &root_id)?;
        let depth = u8::try_from(depth.unwrap_or(2))
            .ok()
            .filter(|d| *d <= MAX_DEPTH)
            .ok_or_else(|| AppError::bad_input("depth", format!("depth must be between 0 and {MAX_DEPTH}")))?;
        let first = usize::try_from(first.unwrap_or(100))
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| AppError::bad_input("first", format!("first must be between 1 and {MAX_PAGE}")))?;
        let offset = after.as_deref().map(position).transpose()?.map_or(0, |p| p + 1);
        let kinds: Vec<model::EdgeKind> = match edge_kinds {
            Some(kinds) => kinds.into_iter().map(Into::into).collect(),
            None => model::EdgeKind::ALL.to_vec(),
        };
        let viewer = rc.viewer();
        let graph = model::explore(&rc.db, &viewer, root, depth, &kinds).await?;
        let page = graph.page(offset, first);
        let nodes = load_nodes(rc, &viewer, &page.nodes).await?;
        let edges = page
            .edges
            .into_iter()
            .map(|e| GraphEdge {
                kind: e.kind.into(),
                from: node_id(e.from),
                to: node_id(e.to),
                org_level: e.detail.org_level.map(Into::into),
                started_on: e.detail.started_on,
                ended_on: e.detail.ended_on,
                communication_count: e.detail.communications,
                last_communicated_at: e.detail.last_communicated_at,
                since: e.detail.since,
            })
            .collect();
        let last = page.offset + page.nodes.len();
        let page_info = PageInfo {
            has_previous_page: page.offset > 0,
            has_next_page: page.has_next,
            start_cursor: (!page.nodes.is_empty()).then(|| cursor(page.offset)),
            end_cursor: (!page.nodes.is_empty()).then(|| cursor(last - 1)),
        };
        Ok(RelationshipGraph {
            nodes,
            edges,
            truncated: page.has_next || page.cut,
            total_nodes: i64::try_from(page.total_nodes).unwrap_or(i64::MAX),
            page_info,
        })
    }
}

/// The page's rows, in page order, three statements whatever its size:
/// customers and contacts through [`nodes::fetch`] (which counts them toward
/// the bulk-read audit), the users the page meets through the directory.
async fn load_nodes(rc: &RequestContext, viewer: &Viewer, page: &[NodeRef]) -> AppResult<Vec<Node>> {
    let mut wanted = Vec::new();
    let mut users = Vec::new();
    for node in page {
        match *node {
            NodeRef::Customer(id) => wanted.push((Kind::Customer, id)),
            NodeRef::Contact(id) => wanted.push((Kind::Contact, id)),
            NodeRef::User(id) => users.push(id),
        }
    }
    let rows = nodes::fetch(&rc.services, viewer, &wanted).await?;
    let users = rc.services.users.get_many(&rc.db, &users).await?;
    // A row archived between exploring and loading is simply left out.
    Ok(page
        .iter()
        .filter_map(|node| match *node {
            NodeRef::Customer(id) => rows.get(&(Kind::Customer, id)).cloned().map(Node::from),
            NodeRef::Contact(id) => rows.get(&(Kind::Contact, id)).cloned().map(Node::from),
            NodeRef::User(id) => users.get(&id).map(|u| Node::User(User::one(user::Model::clone(u)))),
        })
        .collect())
}
