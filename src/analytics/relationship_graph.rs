//! The relationship network around a customer, for integrations: customers,
//! their contacts and our users as nodes, typed edges between them, explored
//! breadth-first from a root customer up to a depth of 3.
//!
//! Each ring costs a fixed number of statements (one per family of edges,
//! whatever the ring's size): the ids of a ring travel as one bound list.
//! The network is explored whole (up to [`MAX_NODES`]) on every request and
//! paged in memory, so pages are cut from the same stable order: by distance
//! from the root, then customers, contacts, users, then id. An edge is listed
//! once, on the page of whichever of its two ends comes later in that order,
//! so by the time a client reads an edge it has read both its ends.
//!
//! Visibility: only customers the viewer may see (for the `graph:read`
//! resource) and are not archived become nodes, and exploration only goes on
//! from nodes; a contact appears only when its customer does, and a user only
//! through an edge to a visible customer or contact. Edges between two nodes
//! of the outermost ring are listed too: exploring that ring keeps only edges
//! whose both ends are already nodes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::OrgLevel;
use sea_orm::{ActiveEnum, ConnectionTrait, QueryResult};

use crate::db::Dialect;
use crate::db::rows::{date, int, text, timestamp};
use crate::{
    error::{AppError, AppResult},
    policy::Viewer,
    policy::{self, Resource},
};

/// Deepest exploration allowed.
pub const MAX_DEPTH: u8 = 3;
/// Most nodes one page holds.
pub const MAX_PAGE: usize = 500;
/// Most nodes one exploration collects; beyond it the graph is cut (and says so).
pub const MAX_NODES: usize = 10_000;

/// The kinds of edges, each with its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// Customer → contact: the contact works (or worked) there.
    Employs,
    /// User → customer: the user owns the account.
    Owns,
    /// User → contact: the user took part in communications with the contact.
    Communicated,
    /// Customer → customer: the group hierarchy (parent to subsidiary).
    ParentOf,
    /// Customer → customer: a distributor and the end customer it serves.
    DistributesTo,
    /// Customer → customer: who was referred by whom.
    ReferredBy,
}

impl EdgeKind {
    pub const ALL: [Self; 6] =
        [Self::Employs, Self::Owns, Self::Communicated, Self::ParentOf, Self::DistributesTo, Self::ReferredBy];
}

/// A node of the graph. The order is the page order within a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRef {
    Customer(i64),
    Contact(i64),
    User(i64),
}

/// What an edge carries besides its ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeDetail {
    /// EMPLOYS: the contact's organisational level.
    pub org_level: Option<OrgLevel>,
    /// EMPLOYS: when the relationship started and ended.
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    /// COMMUNICATED: how many communications, and the latest.
    pub communications: Option<i64>,
    pub last_communicated_at: Option<DateTime<Utc>>,
    /// Customer links: when the link was made.
    pub since: Option<DateTime<Utc>>,
}

/// A typed, directed edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub kind: EdgeKind,
    pub from: NodeRef,
    pub to: NodeRef,
    pub detail: EdgeDetail,
}

/// The explored network, nodes in page order.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<NodeRef>,
    pub edges: Vec<Edge>,
    /// The exploration stopped at [`MAX_NODES`]: there is more than the pages hold.
    pub cut: bool,
}

/// One page of nodes and the edges listed with them.
#[derive(Debug)]
pub struct GraphPage {
    /// Position of the first node in the whole order.
    pub offset: usize,
    pub nodes: Vec<NodeRef>,
    pub edges: Vec<Edge>,
    pub has_next: bool,
    pub cut: bool,
    /// Nodes in the whole graph (as far as it was explored).
    pub total_nodes: usize,
}

impl Graph {
    /// The nodes from `offset` on (at most `first`), with the edges whose later end is among them.
    pub fn page(self, offset: usize, first: usize) -> GraphPage {
        let position: HashMap<NodeRef, usize> = self.nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let end = (offset + first).min(self.nodes.len());
        let offset = offset.min(end);
        let mut edges: Vec<(usize, usize, Edge)> = self
            .edges
            .into_iter()
            .filter_map(|e| {
                let (a, b) = (*position.get(&e.from)?, *position.get(&e.to)?);
                let (early, late) = (a.min(b), a.max(b));
                (offset..end).contains(&late).then_some((late, early, e))
            })
            .collect();
        edges.sort_by_key(|x| (x.0, x.1, x.2.kind));
        GraphPage {
            offset,
            nodes: self.nodes[offset..end].to_vec(),
            edges: edges.into_iter().map(|(_, _, e)| e).collect(),
            has_next: end < self.nodes.len(),
            cut: self.cut,
            total_nodes: self.nodes.len(),
        }
    }
}

/// Nodes of one ring, by kind.
#[derive(Debug, Default)]
struct Ring {
    customers: Vec<i64>,
    contacts: Vec<i64>,
    users: Vec<i64>,
}

impl Ring {
    fn of(nodes: &[NodeRef]) -> Self {
        let mut ring = Self::default();
        for node in nodes {
            match *node {
                NodeRef::Customer(id) => ring.customers.push(id),
                NodeRef::Contact(id) => ring.contacts.push(id),
                NodeRef::User(id) => ring.users.push(id),
            }
        }
        ring
    }
}

fn list(ids: &[i64]) -> sea_orm::Value {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",").into()
}

/// Explores the network around `root` (a customer the viewer must see; NOT_FOUND otherwise).
#[tracing::instrument(level = "debug", skip_all, fields(viewer_id = viewer.user_id))]
pub async fn explore(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    root: i64,
    depth: u8,
    kinds: &[EdgeKind],
) -> AppResult<Graph> {
    policy::ensure_can_read(viewer, Resource::Graph)?;
    if depth > MAX_DEPTH {
        return Err(AppError::bad_input("depth", format!("depth must be between 0 and {MAX_DEPTH}")));
    }
    let explorer = Explorer { dialect: Dialect::of(db), viewer, kinds: kinds.iter().copied().collect() };
    let rooted = explorer.live_customers(db, &[root]).await?;
    if rooted.is_empty() {
        return Err(AppError::NotFound("customer"));
    }
    let mut seen: BTreeMap<NodeRef, u8> = BTreeMap::from([(NodeRef::Customer(root), 0)]);
    let mut order = vec![NodeRef::Customer(root)];
    let mut edges: BTreeMap<(EdgeKind, NodeRef, NodeRef), EdgeDetail> = BTreeMap::new();
    let mut frontier = vec![NodeRef::Customer(root)];
    let mut cut = false;
    for ring in 1..=depth + 1 {
        if frontier.is_empty() || explorer.kinds.is_empty() {
            break;
        }
        let last = ring > depth;
        let found = explorer.neighbours(db, &Ring::of(&frontier)).await?;
        let mut next = BTreeSet::new();
        for edge in found {
            for end in [edge.from, edge.to] {
                if !seen.contains_key(&end) && !last {
                    next.insert(end);
                }
            }
            edges.entry((edge.kind, edge.from, edge.to)).or_insert(edge.detail);
        }
        let room = MAX_NODES.saturating_sub(order.len());
        if next.len() > room {
            cut = true;
        }
        frontier = next.into_iter().take(room).collect();
        for node in &frontier {
            seen.insert(*node, ring);
            order.push(*node);
        }
        if cut {
            break;
        }
    }
    let edges = edges
        .into_iter()
        .filter(|((_, from, to), _)| seen.contains_key(from) && seen.contains_key(to))
        .map(|((kind, from, to), detail)| Edge { kind, from, to, detail })
        .collect();
    Ok(Graph { nodes: order, edges, cut })
}

struct Explorer<'a> {
    dialect: Dialect,
    viewer: &'a Viewer,
    kinds: BTreeSet<EdgeKind>,
}

impl Explorer<'_> {
    fn wants(&self, kind: EdgeKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// `AND {column} is a customer the viewer sees and that is not archived`.
    fn live(&self, column: &str) -> String {
        format!(
            "AND {column} IN (SELECT id FROM customer WHERE archived_at IS NULL {visible})",
            visible = crate::policy::visible_sql(self.dialect, self.viewer, Resource::Graph, "id")
        )
    }

    async fn rows(&self, db: &impl ConnectionTrait, sql: String, ring: &Ring) -> AppResult<Vec<QueryResult>> {
        let values = vec![list(&ring.customers), list(&ring.contacts), list(&ring.users)];
        self.dialect.rows_with(db, sql, values).await
    }

    async fn live_customers(&self, db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<Vec<i64>> {
        let ring = Ring { customers: ids.to_vec(), ..Ring::default() };
        let sql = format!("SELECT id FROM customer WHERE {} {}", self.dialect.in_id_list("id", 1), self.live("id"));
        self.rows(db, sql, &ring).await?.iter().map(|r| int(r, "id")).collect()
    }

    /// Every edge of the wanted kinds with an end in the ring (a statement per family).
    async fn neighbours(&self, db: &impl ConnectionTrait, ring: &Ring) -> AppResult<Vec<Edge>> {
        let mut edges = Vec::new();
        if self.wants(EdgeKind::Employs) {
            edges.extend(self.employs(db, ring).await?);
        }
        if self.wants(EdgeKind::Owns) || self.wants(EdgeKind::ParentOf) {
            edges.extend(self.hierarchy(db, ring).await?);
        }
        if self.wants(EdgeKind::DistributesTo) || self.wants(EdgeKind::ReferredBy) {
            edges.extend(self.links(db, ring).await?);
        }
        if self.wants(EdgeKind::Communicated) {
            edges.extend(self.communicated(db, ring).await?);
        }
        Ok(edges)
    }

    async fn employs(&self, db: &impl ConnectionTrait, ring: &Ring) -> AppResult<Vec<Edge>> {
        if ring.customers.is_empty() && ring.contacts.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dialect;
        let sql = format!(
            "SELECT id, customer_id, org_level, started_on, ended_on FROM contact \
             WHERE archived_at IS NULL AND ({} OR {}) {}",
            d.in_id_list("customer_id", 1),
            d.in_id_list("id", 2),
            self.live("customer_id"),
        );
        self.rows(db, sql, ring)
            .await?
            .iter()
            .map(|r| {
                let detail = EdgeDetail {
                    org_level: text(r, "org_level")?.and_then(|v| OrgLevel::try_from_value(&v).ok()),
                    started_on: date(r, "started_on")?,
                    ended_on: date(r, "ended_on")?,
                    ..EdgeDetail::default()
                };
                let (customer, contact) = (int(r, "customer_id")?, int(r, "id")?);
                Ok(Edge {
                    kind: EdgeKind::Employs,
                    from: NodeRef::Customer(customer),
                    to: NodeRef::Contact(contact),
                    detail,
                })
            })
            .collect()
    }

    /// OWNS and PARENT_OF: the ring's customers with their owners and parents,
    /// their children, and the customers the ring's users own.
    async fn hierarchy(&self, db: &impl ConnectionTrait, ring: &Ring) -> AppResult<Vec<Edge>> {
        if ring.customers.is_empty() && ring.users.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dialect;
        let mut reach = vec![d.in_id_list("id", 1)];
        if self.wants(EdgeKind::ParentOf) {
            reach.push(d.in_id_list("parent_id", 1));
            reach.push(format!("id IN (SELECT parent_id FROM customer WHERE {})", d.in_id_list("id", 1)));
        }
        if self.wants(EdgeKind::Owns) {
            reach.push(d.in_id_list("owner_id", 3));
        }
        let sql = format!(
            "SELECT id, owner_id, parent_id FROM customer WHERE archived_at IS NULL AND ({}) {}",
            reach.join(" OR "),
            self.live("id"),
        );
        let rows = self.rows(db, sql, ring).await?;
        let in_ring: BTreeSet<i64> = ring.customers.iter().copied().collect();
        let users: BTreeSet<i64> = ring.users.iter().copied().collect();
        let mut found = BTreeSet::new();
        let mut parents = Vec::new();
        for r in &rows {
            let (id, owner) = (int(r, "id")?, int(r, "owner_id")?);
            let parent = r.try_get::<Option<i64>>("", "parent_id")?;
            found.insert(id);
            parents.push((id, owner, parent));
        }
        let mut edges = Vec::new();
        for (id, owner, parent) in parents {
            if self.wants(EdgeKind::Owns) && (in_ring.contains(&id) || users.contains(&owner)) {
                edges.push(edge(EdgeKind::Owns, NodeRef::User(owner), NodeRef::Customer(id)));
            }
            let Some(parent) = parent else { continue };
            // The parent must itself be visible: it was read in the same statement when it is.
            let linked = in_ring.contains(&parent) || (in_ring.contains(&id) && found.contains(&parent));
            if self.wants(EdgeKind::ParentOf) && linked {
                edges.push(edge(EdgeKind::ParentOf, NodeRef::Customer(parent), NodeRef::Customer(id)));
            }
        }
        Ok(edges)
    }

    async fn links(&self, db: &impl ConnectionTrait, ring: &Ring) -> AppResult<Vec<Edge>> {
        if ring.customers.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dialect;
        let kinds: Vec<&str> = [(EdgeKind::DistributesTo, "'DISTRIBUTES_TO'"), (EdgeKind::ReferredBy, "'REFERRED_BY'")]
            .into_iter()
            .filter(|(k, _)| self.wants(*k))
            .map(|(_, name)| name)
            .collect();
        let sql = format!(
            "SELECT from_customer_id, to_customer_id, kind, created_at FROM customer_link \
             WHERE archived_at IS NULL AND kind IN ({}) AND ({} OR {}) {} {}",
            kinds.join(", "),
            d.in_id_list("from_customer_id", 1),
            d.in_id_list("to_customer_id", 1),
            self.live("from_customer_id"),
            self.live("to_customer_id"),
        );
        self.rows(db, sql, ring)
            .await?
            .iter()
            .map(|r| {
                let kind = match text(r, "kind")?.as_deref() {
                    Some("DISTRIBUTES_TO") => EdgeKind::DistributesTo,
                    _ => EdgeKind::ReferredBy,
                };
                let mut link = edge(
                    kind,
                    NodeRef::Customer(int(r, "from_customer_id")?),
                    NodeRef::Customer(int(r, "to_customer_id")?),
                );
                link.detail.since = timestamp(r, "created_at")?;
                Ok(link)
            })
            .collect()
    }

    /// COMMUNICATED: users and contacts who met in (unarchived) communications
    /// of visible customers, with how often and when last.
    async fn communicated(&self, db: &impl ConnectionTrait, ring: &Ring) -> AppResult<Vec<Edge>> {
        if ring.contacts.is_empty() && ring.users.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.dialect;
        // One index-driven branch per side (an OR across the two tables would
        // scan both); UNION keeps a communication met from both sides once.
        let sql = format!(
            "SELECT x.user_id, x.contact_id, COUNT(*) AS n, MAX(x.occurred_at) AS last_at FROM ( \
               SELECT m.id, m.user_id, cc.contact_id, m.occurred_at, m.customer_id FROM communication_contact cc \
               JOIN communication m ON m.id = cc.communication_id AND m.archived_at IS NULL WHERE {} \
               UNION \
               SELECT m.id, m.user_id, cc.contact_id, m.occurred_at, m.customer_id FROM communication m \
               JOIN communication_contact cc ON cc.communication_id = m.id WHERE m.archived_at IS NULL AND {} \
             ) x JOIN contact k ON k.id = x.contact_id AND k.archived_at IS NULL \
             WHERE 1 = 1 {} {} \
             GROUP BY x.user_id, x.contact_id",
            d.in_id_list("cc.contact_id", 2),
            d.in_id_list("m.user_id", 3),
            self.live("x.customer_id"),
            self.live("k.customer_id"),
        );
        self.rows(db, sql, ring)
            .await?
            .iter()
            .map(|r| {
                let mut met = edge(
                    EdgeKind::Communicated,
                    NodeRef::User(int(r, "user_id")?),
                    NodeRef::Contact(int(r, "contact_id")?),
                );
                met.detail.communications = Some(int(r, "n")?);
                met.detail.last_communicated_at = timestamp(r, "last_at")?;
                Ok(met)
            })
            .collect()
    }
}

fn edge(kind: EdgeKind, from: NodeRef, to: NodeRef) -> Edge {
    Edge { kind, from, to, detail: EdgeDetail::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(from: NodeRef, to: NodeRef) -> Edge {
        edge(EdgeKind::Employs, from, to)
    }

    #[test]
    fn an_edge_is_listed_once_on_the_page_of_its_later_end() {
        let (a, b, c, d) = (NodeRef::Customer(1), NodeRef::Contact(2), NodeRef::Contact(3), NodeRef::User(4));
        let graph = || Graph {
            nodes: vec![a, b, c, d],
            edges: vec![link(a, b), link(a, c), link(d, b), link(d, c)],
            cut: false,
        };
        let first = graph().page(0, 2);
        assert_eq!(first.nodes, vec![a, b]);
        assert_eq!(first.edges, vec![link(a, b)]);
        assert!(first.has_next);
        let second = graph().page(2, 2);
        assert_eq!(second.nodes, vec![c, d]);
        assert_eq!(second.edges, vec![link(a, c), link(d, b), link(d, c)]);
        assert!(!second.has_next);
        assert!(graph().page(9, 2).nodes.is_empty());
    }
}
