//! `relationshipGraph`: rings, edge kinds, paging, uniqueness, visibility and cost.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{Cast, Person, TestApp};

const GRAPH: &str = r#"query($root: ID!, $depth: Int, $kinds: [EdgeKind!], $first: Int, $after: String) {
  relationshipGraph(rootId: $root, depth: $depth, edgeKinds: $kinds, first: $first, after: $after) {
    nodes { __typename id }
    edges { kind from to orgLevel communicationCount lastCommunicatedAt since }
    truncated totalNodes
    pageInfo { hasNextPage endCursor }
  } }"#;

/// Acme (rep A) with a subsidiary and a distributor of rep A, two contacts
/// and communications; Beta (rep B) referred Acme and has a contact rep B talks to.
struct Network {
    acme: String,
    sub: String,
    distributor: String,
    beta: String,
    ann: String,
    bob: String,
    bea: String,
}

async fn talk(app: &TestApp, who: &Person, customer: &str, contacts: &[&str]) {
    app.gql(
        who,
        r#"mutation($c: ID!, $p: [ID!]!) { logCommunication(input: {customerId: $c, channel: MEETING, summary: "x", contactIds: $p}) { id } }"#,
        json!({ "c": customer, "p": contacts }),
    )
    .await
    .ok();
}

async fn network(app: &TestApp, cast: &Cast) -> Network {
    let acme = app.customer(&cast.rep_a, "Acme").await;
    let sub = app.customer(&cast.rep_a, "Acme Sub").await;
    let distributor = app.customer(&cast.rep_a, "Distributor").await;
    let beta = app.customer(&cast.rep_b, "Beta").await;
    app.gql(
        &cast.rep_a,
        "mutation($id: ID!, $p: ID!) { updateCustomer(id: $id, input: {parentId: $p}) { id } }",
        json!({ "id": sub, "p": acme }),
    )
    .await
    .ok();
    let link = "mutation($a: ID!, $b: ID!, $k: CustomerLinkKind!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: $k) { id } }";
    app.gql(&cast.rep_a, link, json!({ "a": distributor, "b": acme, "k": "DISTRIBUTES_TO" })).await.ok();
    app.gql(&cast.admin, link, json!({ "a": acme, "b": beta, "k": "REFERRED_BY" })).await.ok();
    let ann = app.contact(&cast.rep_a, &acme, "Ann", "EXECUTIVE").await;
    let bob = app.contact(&cast.rep_a, &acme, "Bob", "PURCHASING").await;
    let bea = app.contact(&cast.rep_b, &beta, "Bea", "PURCHASING").await;
    talk(app, &cast.rep_a, &acme, &[&ann, &bob]).await;
    talk(app, &cast.rep_a, &acme, &[&ann]).await;
    talk(app, &cast.admin, &acme, &[&ann]).await;
    talk(app, &cast.rep_b, &beta, &[&bea]).await;
    Network { acme, sub, distributor, beta, ann, bob, bea }
}

/// Every page, in order: the node ids, and the edges as (kind, from, to).
async fn walk(app: &TestApp, who: &Person, vars: Value) -> (Vec<String>, Vec<(String, String, String)>, usize) {
    let (mut nodes, mut edges, mut pages) = (Vec::new(), Vec::new(), 0);
    let mut after = Value::Null;
    loop {
        let mut vars = vars.clone();
        vars["after"] = after;
        let reply = app.gql(who, GRAPH, vars).await;
        let graph = reply.ok()["relationshipGraph"].clone();
        pages += 1;
        for node in graph["nodes"].as_array().unwrap() {
            nodes.push(node["id"].as_str().unwrap().to_owned());
        }
        for edge in graph["edges"].as_array().unwrap() {
            let (from, to) = (edge["from"].as_str().unwrap().to_owned(), edge["to"].as_str().unwrap().to_owned());
            // Both ends were listed on this page or an earlier one.
            assert!(nodes.contains(&from) && nodes.contains(&to), "edge before its ends: {edge}");
            edges.push((edge["kind"].as_str().unwrap().to_owned(), from, to));
        }
        let more = graph["pageInfo"]["hasNextPage"].as_bool().unwrap();
        assert_eq!(graph["truncated"].as_bool().unwrap(), more);
        if !more {
            break;
        }
        after = graph["pageInfo"]["endCursor"].clone();
    }
    (nodes, edges, pages)
}

fn edge(kind: &str, from: &str, to: &str) -> (String, String, String) {
    (kind.to_owned(), from.to_owned(), to.to_owned())
}

#[tokio::test]
async fn the_network_around_a_customer_is_explored_ring_by_ring_and_paged_with_each_edge_once() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let n = network(&app, &cast).await;
    let (rep, admin) = (cast.rep_a.gid.clone(), cast.admin.gid.clone());

    let (nodes, edges, pages) = walk(&app, &cast.rep_a, json!({ "root": n.acme, "depth": 2, "first": 3 })).await;
    // Ring 0 the root; ring 1 customers, contacts, the owner; ring 2 the admin who met Ann.
    assert_eq!(
        nodes,
        vec![
            n.acme.clone(),
            n.sub.clone(),
            n.distributor.clone(),
            n.ann.clone(),
            n.bob.clone(),
            rep.clone(),
            admin.clone()
        ]
    );
    assert_eq!(pages, 3);
    let expected: BTreeSet<_> = [
        edge("EMPLOYS", &n.acme, &n.ann),
        edge("EMPLOYS", &n.acme, &n.bob),
        edge("OWNS", &rep, &n.acme),
        edge("OWNS", &rep, &n.sub),
        edge("OWNS", &rep, &n.distributor),
        edge("PARENT_OF", &n.acme, &n.sub),
        edge("DISTRIBUTES_TO", &n.distributor, &n.acme),
        edge("COMMUNICATED", &rep, &n.ann),
        edge("COMMUNICATED", &rep, &n.bob),
        edge("COMMUNICATED", &admin, &n.ann),
    ]
    .into_iter()
    .collect();
    assert_eq!(edges.len(), expected.len(), "an edge listed twice: {edges:?}");
    assert_eq!(edges.into_iter().collect::<BTreeSet<_>>(), expected);

    // One page: the edge attributes.
    let reply = app.gql(&cast.rep_a, GRAPH, json!({ "root": n.acme, "depth": 1 })).await;
    let graph = &reply.ok()["relationshipGraph"];
    assert_eq!(graph["truncated"], false);
    assert_eq!(graph["totalNodes"], 6);
    let edges = graph["edges"].as_array().unwrap();
    let find = |kind: &str, from: &str, to: &str| {
        edges.iter().find(|e| e["kind"] == kind && e["from"] == from && e["to"] == to).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(find("EMPLOYS", &n.acme, &n.ann)["orgLevel"], "EXECUTIVE");
    assert_eq!(find("COMMUNICATED", &rep, &n.ann)["communicationCount"], 2);
    assert!(find("COMMUNICATED", &rep, &n.ann)["lastCommunicatedAt"].is_string());
    assert!(find("DISTRIBUTES_TO", &n.distributor, &n.acme)["since"].is_string());
    // Depth 1 stops at ring 1 but still lists the edges between ring-1 nodes; the admin is not reached.
    assert_eq!(edges.len(), 9);
    assert!(find("COMMUNICATED", &admin, &n.ann).is_null());

    // Only the kinds asked for are followed.
    let (nodes, edges, _) = walk(&app, &cast.rep_a, json!({ "root": n.acme, "depth": 3, "kinds": ["EMPLOYS"] })).await;
    assert_eq!(nodes, vec![n.acme.clone(), n.ann.clone(), n.bob.clone()]);
    assert!(edges.iter().all(|(kind, ..)| kind == "EMPLOYS"));
}

#[tokio::test]
async fn an_invisible_customer_is_neither_a_node_nor_an_edge_end_and_nothing_is_reached_through_it() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let n = network(&app, &cast).await;

    // Acme REFERRED_BY Beta: rep A does not see Beta, its contact or rep B.
    let (nodes, edges, _) = walk(&app, &cast.rep_a, json!({ "root": n.acme, "depth": 3 })).await;
    for hidden in [&n.beta, &n.bea, &cast.rep_b.gid] {
        assert!(!nodes.contains(hidden));
        assert!(edges.iter().all(|(_, from, to)| from != hidden && to != hidden));
    }
    // Leadership sees it all, through the referral.
    let (nodes, edges, _) = walk(&app, &cast.leader, json!({ "root": n.acme, "depth": 2 })).await;
    for shown in [&n.beta, &n.bea, &cast.rep_b.gid] {
        assert!(nodes.contains(shown));
    }
    assert!(edges.contains(&edge("REFERRED_BY", &n.acme, &n.beta)));
    assert!(edges.contains(&edge("COMMUNICATED", &cast.rep_b.gid, &n.bea)));

    // Rep B cannot start from Acme, and from Beta sees nothing of rep A's side.
    let reply = app.gql(&cast.rep_b, GRAPH, json!({ "root": n.acme })).await;
    assert_eq!(reply.code(), Some("NOT_FOUND"), "{}", reply.text);
    let (nodes, _, _) = walk(&app, &cast.rep_b, json!({ "root": n.beta, "depth": 3 })).await;
    assert_eq!(nodes, vec![n.beta.clone(), n.bea.clone(), cast.rep_b.gid.clone()]);

    // Service accounts need graph:read.
    let (nodes, _, _) = walk(&app, &cast.integration, json!({ "root": n.acme, "depth": 1 })).await;
    assert!(nodes.contains(&n.beta));
    let reply = app.gql(&cast.integration_unscoped, GRAPH, json!({ "root": n.acme })).await;
    assert_eq!(reply.code(), Some("FORBIDDEN"));

    // Bad arguments are refused before any work.
    for vars in
        [json!({ "root": n.acme, "depth": 4 }), json!({ "root": n.acme, "first": 501 }), json!({ "root": n.ann })]
    {
        assert_eq!(app.gql(&cast.admin, GRAPH, vars).await.code(), Some("BAD_USER_INPUT"));
    }
}

#[tokio::test]
async fn a_graph_costs_the_same_statements_whatever_the_number_of_nodes() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let n = network(&app, &cast).await;
    let vars = json!({ "root": n.acme, "depth": 3, "first": 500 });
    // Extra accounts of rep A, each with a contact rep A talks to, and more contacts at Acme.
    let grow = |from: usize, to: usize| {
        let (app, cast, acme) = (&app, &cast, n.acme.clone());
        async move {
            for i in from..to {
                let c = app.customer(&cast.rep_a, &format!("Extra {i}")).await;
                let k = app.contact(&cast.rep_a, &acme, &format!("Contact {i}"), "TECHNICAL").await;
                let k2 = app.contact(&cast.rep_a, &c, &format!("Other {i}"), "END_USER").await;
                talk(app, &cast.rep_a, &acme, &[&k]).await;
                talk(app, &cast.rep_a, &c, &[&k2]).await;
            }
        }
    };
    grow(0, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    // Users come from the in-memory directory once it has them: warm it, so both runs count alike.
    app.gql(&cast.rep_a, GRAPH, vars.clone()).await.ok();
    app.reset_statements();
    let small = app.gql(&cast.rep_a, GRAPH, vars.clone()).await;
    let small_cost = app.statements();
    let small_nodes = small.ok()["relationshipGraph"]["nodes"].as_array().unwrap().len();

    grow(2, 27).await;
    // The writes ask for a segment recompute 300 ms after the last one: let it run before counting.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    app.reset_statements();
    let big = app.gql(&cast.rep_a, GRAPH, vars).await;
    let big_nodes = big.ok()["relationshipGraph"]["nodes"].as_array().unwrap().len();
    assert_eq!(big_nodes, small_nodes + 75);
    assert_eq!(app.statements(), small_cost, "statements grew with the nodes");
    assert!(small_cost <= 20, "{small_cost} statements");
}
