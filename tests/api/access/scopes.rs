//! Each scope of a service account grants exactly what its name says.

use entity::enums::Role;
use serde_json::json;

use crate::{
    helpers::{Person, TestApp},
    ws_client::WsClient,
};

struct World {
    app: TestApp,
    customer: String,
    ticket: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let customer = app.customer(&cast.rep_a, "Acme").await;
    let ticket = app
        .gql(&cast.rep_a, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"Late\", description: \"d\", category: DELIVERY}) { id } }", json!({"c": customer}))
        .await
        .ok()["createTicket"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World { app, customer, ticket }
}

async fn account(w: &World, scope: &str) -> Person {
    w.app.person(&format!("{}@t.example", scope.replace(':', ".")), Role::Integration, None, &[scope]).await
}

const CUSTOMERS: &str = "{ customers { totalCount edges { node { name contacts { name } } } } }";
const TICKETS: &str = "{ tickets { totalCount edges { node { title events { totalCount } } } } }";
const REVENUE: &str = "mutation($c: ID!) { upsertRevenueEntries(entries: [{customerId: $c, month: \"2026-01-01\", revenue: \"10\", grossProfit: \"1\"}]) { upserted } }";

#[tokio::test]
async fn customers_read_reads_customers_and_nothing_else() {
    let w = world().await;
    let erp = account(&w, "customers:read").await;

    let customers = w.app.gql(&erp, CUSTOMERS, json!({})).await;
    let tickets = w.app.gql(&erp, TICKETS, json!({})).await;
    let nested_tickets = w.app.gql(&erp, "{ customers { edges { node { openTickets { title } } } } }", json!({})).await;
    let ticket_node = w.app.gql(&erp, "query($id: ID!) { node(id: $id) { id } }", json!({"id": w.ticket})).await;
    let revenue = w.app.gql(&erp, REVENUE, json!({"c": w.customer})).await;
    let write = w.app.gql(&erp, "mutation { createCustomer(input: {name: \"X\"}) { id } }", json!({})).await;

    assert_eq!(customers.ok()["customers"]["totalCount"], 1);
    assert_eq!(tickets.code(), Some("FORBIDDEN"));
    assert_eq!(nested_tickets.code(), Some("FORBIDDEN"));
    assert_eq!(ticket_node.ok()["node"], json!(null));
    assert_eq!(revenue.code(), Some("FORBIDDEN"));
    assert_eq!(write.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn tickets_read_reads_every_ticket_but_not_the_customers() {
    let w = world().await;
    let helpdesk = account(&w, "tickets:read").await;

    let tickets = w.app.gql(&helpdesk, TICKETS, json!({})).await;
    let with_customer =
        w.app.gql(&helpdesk, "{ tickets { edges { node { title customer { name } } } } }", json!({})).await;
    let customers = w.app.gql(&helpdesk, CUSTOMERS, json!({})).await;
    let ticket_node = w
        .app
        .gql(&helpdesk, "query($id: ID!) { node(id: $id) { ... on Ticket { title } } }", json!({"id": w.ticket}))
        .await;
    let customer_node =
        w.app.gql(&helpdesk, "query($id: ID!) { node(id: $id) { id } }", json!({"id": w.customer})).await;
    let mut ws = WsClient::connect(w.app.listen().await, "graphql-transport-ws").await;
    ws.init(&helpdesk.token).await;
    ws.subscribe(
        "t",
        "subscription($id: ID!) { ticketUpdated(id: $id) { ticket { title } } }",
        json!({"id": w.ticket}),
    )
    .await;
    ws.expect_silence().await;

    assert_eq!(tickets.ok()["tickets"]["totalCount"], 1, "every ticket, not an empty list");
    assert_eq!(tickets.ok()["tickets"]["edges"][0]["node"]["events"]["totalCount"], 1);
    assert_eq!(with_customer.code(), Some("FORBIDDEN"), "the customer needs customers:read");
    assert_eq!(with_customer.body["data"]["tickets"]["edges"][0]["node"]["title"], "Late");
    assert_eq!(customers.code(), Some("FORBIDDEN"));
    assert_eq!(ticket_node.ok()["node"]["title"], "Late");
    assert_eq!(customer_node.ok()["node"], json!(null));
}

#[tokio::test]
async fn graph_read_alone_reads_no_customer_lists() {
    let w = world().await;
    let portal = account(&w, "graph:read").await;

    let customers = w.app.gql(&portal, CUSTOMERS, json!({})).await;
    let tickets = w.app.gql(&portal, TICKETS, json!({})).await;
    let contacts = w.app.gql(&portal, "{ contacts { totalCount } }", json!({})).await;

    assert_eq!(customers.code(), Some("FORBIDDEN"));
    assert_eq!(tickets.code(), Some("FORBIDDEN"));
    assert_eq!(contacts.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn revenue_write_pushes_revenue_and_reads_nothing() {
    let w = world().await;
    let erp = account(&w, "revenue:write").await;

    let pushed = w.app.gql(&erp, REVENUE, json!({"c": w.customer})).await;
    let read_back = w.app.gql(&erp, "{ revenueEntries { totalCount } }", json!({})).await;
    let customers = w.app.gql(&erp, CUSTOMERS, json!({})).await;

    assert_eq!(pushed.ok()["upsertRevenueEntries"]["upserted"], 1);
    assert_eq!(w.app.count("revenue_entry").await, 1);
    assert_eq!(read_back.code(), Some("FORBIDDEN"));
    assert_eq!(customers.code(), Some("FORBIDDEN"));
}
