//! The authorization matrix: every query, mutation and subscription of the
//! schema, run as every role, checked for allowed/denied and for leaks of an
//! invisible customer's data. A new operation without an entry fails the test.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{
    helpers::{Cast, Person, Reply, TestApp},
    ws_client::WsClient,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Leader,
    LeadA,
    RepA,
    RepB,
    Integration,
    Unscoped,
    Anonymous,
}

const ROLES: [Role; 8] = [
    Role::Admin,
    Role::Leader,
    Role::LeadA,
    Role::RepA,
    Role::RepB,
    Role::Integration,
    Role::Unscoped,
    Role::Anonymous,
];

/// Everything named SECRET belongs to rep B's customer; these roles must never see it.
fn blind_to_b(role: Role) -> bool {
    matches!(role, Role::LeadA | Role::RepA | Role::Unscoped | Role::Anonymous)
}

fn person(cast: &Cast, role: Role) -> Option<&Person> {
    Some(match role {
        Role::Admin => &cast.admin,
        Role::Leader => &cast.leader,
        Role::LeadA => &cast.lead_a,
        Role::RepA => &cast.rep_a,
        Role::RepB => &cast.rep_b,
        Role::Integration => &cast.integration,
        Role::Unscoped => &cast.integration_unscoped,
        Role::Anonymous => return None,
    })
}

/// The expected outcome: None = allowed (no error), Some(code) = refused with it.
type Expect = fn(Role) -> Option<&'static str>;

fn unauthenticated(role: Role) -> Option<Option<&'static str>> {
    (role == Role::Anonymous).then_some(Some("UNAUTHENTICATED"))
}

fn anyone(role: Role) -> Option<&'static str> {
    unauthenticated(role).flatten()
}

fn customer_reader(role: Role) -> Option<&'static str> {
    unauthenticated(role).unwrap_or(if role == Role::Unscoped { Some("FORBIDDEN") } else { None })
}

/// Reads of rep B's customer by id.
fn reader_of_b(role: Role) -> Option<&'static str> {
    unauthenticated(role).unwrap_or(match role {
        Role::Unscoped => Some("FORBIDDEN"),
        Role::LeadA | Role::RepA => Some("NOT_FOUND"),
        _ => None,
    })
}

/// Writes to rep A's customer.
fn writer_of_a(role: Role) -> Option<&'static str> {
    unauthenticated(role).unwrap_or(match role {
        Role::Integration | Role::Unscoped => Some("FORBIDDEN"),
        Role::RepB => Some("NOT_FOUND"),
        _ => None,
    })
}

/// People only: service accounts are refused whatever their scopes.
fn people(role: Role) -> Option<&'static str> {
    unauthenticated(role).unwrap_or(if matches!(role, Role::Integration | Role::Unscoped) {
        Some("FORBIDDEN")
    } else {
        None
    })
}

fn leadership(role: Role) -> Option<&'static str> {
    unauthenticated(role).unwrap_or(if matches!(role, Role::Admin | Role::Leader) { None } else { Some("FORBIDDEN") })
}

fn admin(role: Role) -> Option<&'static str> {
    unauthenticated(role).unwrap_or(if role == Role::Admin { None } else { Some("FORBIDDEN") })
}

fn revenue_writer(role: Role) -> Option<&'static str> {
    unauthenticated(role).unwrap_or(match role {
        Role::Unscoped => Some("FORBIDDEN"),
        Role::RepB => Some("BAD_USER_INPUT"),
        _ => None,
    })
}

/// Rep B's customer and everything under it, read by every query.
struct Secret {
    customer: String,
    contact: String,
    ticket: String,
}

async fn secret(app: &TestApp, cast: &Cast) -> Secret {
    let customer = app.customer(&cast.rep_b, "SECRET-B").await;
    let contact = app.contact(&cast.rep_b, &customer, "SECRET-CONTACT", "EXECUTIVE").await;
    // Ids another system knows them by, pushed by leadership.
    app.gql(
        &cast.leader,
        "mutation { upsertCustomers(source: \"erp\", customers: [{externalId: \"SECRET-EXT-CUSTOMER\", name: \"SECRET-B-2\", ownerEmail: \"rep.b@t.example\"}]) { created } }",
        json!({}),
    )
    .await
    .ok();
    app.gql(
        &cast.leader,
        "mutation($c: ID!) { upsertContacts(source: \"erp\", contacts: [{externalId: \"SECRET-EXT-CONTACT\", customerId: $c, name: \"SECRET-CONTACT-2\", orgLevel: TECHNICAL}]) { created } }",
        json!({"c": customer}),
    )
    .await
    .ok();
    let rep_b = &cast.rep_b;
    let ticket = app
        .gql(rep_b, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"SECRET-TICKET\", description: \"SECRET\", category: PRICE}) { id } }", json!({"c": customer}))
        .await
        .ok()["createTicket"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, vars) in [
        (
            "mutation($c: ID!, $p: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: \"SECRET-CALL\", contactIds: [$p]}) { id } }",
            json!({"c": customer, "p": contact}),
        ),
        (
            "mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: \"SECRET-REBATE\", dueOn: \"2020-01-01\"}) { id } }",
            json!({"c": customer}),
        ),
        (
            "mutation($c: ID!) { createTask(customerId: $c, input: {title: \"SECRET-TASK\", dueOn: \"2020-01-01\", notes: \"SECRET\"}) { id } }",
            json!({"c": customer}),
        ),
        (
            "mutation($c: ID!) { setPartnership(customerId: $c, input: {tier: SERVICE, serviceLevel: \"SECRET-SLA\"}) { id } }",
            json!({"c": customer}),
        ),
        (
            "mutation($c: ID!) { setSupplyPriority(input: {customerId: $c, productLine: \"SECRET-LINE\", priorityRank: 1}) { id } }",
            json!({"c": customer}),
        ),
        (
            "mutation($c: ID!) { recordSurveyResponse(input: {customerId: $c, score: 3, comment: \"SECRET-SURVEY\"}) { id } }",
            json!({"c": customer}),
        ),
        (
            "mutation($c: ID!) { upsertRevenueEntries(entries: [{customerId: $c, month: \"2026-01-01\", revenue: \"777\", grossProfit: \"7\"}]) { upserted } }",
            json!({"c": customer}),
        ),
        (
            "mutation($c: ID!) { markCustomerLost(id: $c, reason: PRICE, competitor: \"SECRET-RIVAL\") { customer { id } } }",
            json!({"c": customer}),
        ),
    ] {
        app.gql(rep_b, query, vars).await.ok();
    }
    // A custom field value on the secret customer (the field is defined once per app).
    app.gql(&cast.admin, "mutation { defineCustomField(input: {entity: CUSTOMER, key: \"secret_code\", label: \"Code\", type: STRING}) { id } }", json!({})).await;
    app.gql(
        rep_b,
        "mutation($c: ID!) { updateCustomer(id: $c, input: {customFields: [{key: \"secret_code\", value: \"SECRET-CUSTOM\"}]}) { id } }",
        json!({"c": customer}),
    )
    .await
    .ok();
    Secret { customer, contact, ticket }
}

/// Rows of rep A's, made fresh for each mutation run so runs do not interfere.
struct Target {
    customer: String,
    lost: String,
    other: String,
    contact: String,
    communication: String,
    ticket: String,
    commitment: String,
    task: String,
    playbook: String,
    supply: String,
    key_date: String,
    link: String,
    leaving: String,
    endpoint: String,
    delivery: String,
    api_token: String,
    custom_field: String,
    /// A second record of `customer`, and of `contact`, to merge into them.
    twin: String,
    twin_contact: String,
    /// The versions a merge expects: [customer, twin] and [contact, twin_contact].
    customer_versions: [i64; 2],
    contact_versions: [i64; 2],
}

async fn target(app: &TestApp, cast: &Cast, n: usize) -> Target {
    let leader = &cast.leader;
    let make = |name: String| {
        let rep_a = cast.rep_a.gid.clone();
        async move {
            let reply = app.gql(leader, "mutation($n: String!, $o: ID!) { createCustomer(input: {name: $n, ownerId: $o, status: ACTIVE}) { id } }", json!({"n": name, "o": rep_a})).await;
            reply.ok()["createCustomer"]["id"].as_str().unwrap().to_owned()
        }
    };
    let customer = make(format!("A {n}")).await;
    let lost = make(format!("A lost {n}")).await;
    let other = make(format!("A other {n}")).await;
    app.gql(
        leader,
        "mutation($c: ID!) { markCustomerLost(id: $c, reason: PRICE) { customer { id } } }",
        json!({"c": lost}),
    )
    .await
    .ok();
    let contact = app.contact(leader, &customer, "Pat", "PURCHASING").await;
    let id = |reply: Reply, field: &str| reply.ok()[field]["id"].as_str().unwrap().to_owned();
    let communication = id(
        app.gql(
            leader,
            "mutation($c: ID!) { logCommunication(input: {customerId: $c, channel: CALL, summary: \"s\"}) { id } }",
            json!({"c": customer}),
        )
        .await,
        "logCommunication",
    );
    let ticket = id(app.gql(leader, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": customer})).await, "createTicket");
    let commitment = id(app.gql(leader, "mutation($c: ID!) { createCommitment(customerId: $c, input: {kind: REBATE, description: \"r\", dueOn: \"2030-01-01\"}) { id } }", json!({"c": customer})).await, "createCommitment");
    let task = id(
        app.gql(
            leader,
            "mutation($c: ID!) { createTask(customerId: $c, input: {title: \"t\", dueOn: \"2030-01-01\"}) { id } }",
            json!({"c": customer}),
        )
        .await,
        "createTask",
    );
    let playbook = id(
        app.gql(
            leader,
            "mutation { definePlaybook(input: {name: \"p\", trigger: CHAMPION_LEFT, taskTitle: \"t\"}) { id } }",
            json!({}),
        )
        .await,
        "definePlaybook",
    );
    let supply = id(app.gql(leader, "mutation($c: ID!) { setSupplyPriority(input: {customerId: $c, productLine: \"L\", priorityRank: 1}) { id } }", json!({"c": customer})).await, "setSupplyPriority");
    let key_date = id(app.gql(leader, "mutation($c: ID!) { recordKeyDate(input: {customerId: $c, kind: CONTRACT_RENEWAL, date: \"2027-03-01\", recurring: true}) { id } }", json!({"c": customer})).await, "recordKeyDate");
    let link = id(app.gql(leader, "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: REFERRED_BY) { id } }", json!({"a": customer, "b": other})).await, "linkCustomers");
    let leaving = app.person(&format!("leaving{n}@t.example"), entity::enums::Role::Rep, None, &[]).await.gid;
    // An endpoint hearing only this target's tickets (the worker is idle in tests: nothing is posted).
    let endpoint = app
        .gql(&cast.admin, "mutation { createWebhookEndpoint(url: \"https://93.184.216.34/hook\", eventTypes: [TICKET_CREATED]) { endpoint { id } } }", json!({}))
        .await;
    let endpoint = endpoint.ok()["createWebhookEndpoint"]["endpoint"]["id"].as_str().unwrap().to_owned();
    app.gql(leader, "mutation($c: ID!) { createTicket(input: {customerId: $c, title: \"t\", description: \"d\", category: QUALITY}) { id } }", json!({"c": customer})).await.ok();
    let delivery = app
        .gql(
            &cast.admin,
            "query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { node { id } } } }",
            json!({"e": endpoint}),
        )
        .await;
    let delivery = delivery.ok()["webhookDeliveries"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    let api_token = app
        .gql(
            &cast.admin,
            "mutation($u: ID!) { createApiToken(userId: $u, name: \"target\") { apiToken { id } } }",
            json!({"u": cast.integration.gid}),
        )
        .await;
    let api_token = api_token.ok()["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_owned();
    let custom_field = app
        .gql(
            &cast.admin,
            "mutation($k: String!) { defineCustomField(input: {entity: CONTACT, key: $k, label: \"t\", type: NUMBER}) { id } }",
            json!({"k": format!("target_{n}")}),
        )
        .await;
    let custom_field = custom_field.ok()["defineCustomField"]["id"].as_str().unwrap().to_owned();
    let twin = make(format!("A twin {n}")).await;
    let twin_contact = app.contact(leader, &customer, "Pat Twin", "PURCHASING").await;
    let version = |id: String| async move {
        let reply = app
            .gql(
                leader,
                "query($id: ID!) { node(id: $id) { ... on Customer { version } ... on Contact { version } } }",
                json!({"id": id}),
            )
            .await;
        reply.ok()["node"]["version"].as_i64().unwrap()
    };
    let customer_versions = [version(customer.clone()).await, version(twin.clone()).await];
    let contact_versions = [version(contact.clone()).await, version(twin_contact.clone()).await];
    Target {
        customer,
        lost,
        other,
        contact,
        communication,
        ticket,
        commitment,
        task,
        playbook,
        supply,
        key_date,
        link,
        leaving,
        endpoint,
        delivery,
        api_token,
        custom_field,
        twin,
        twin_contact,
        customer_versions,
        contact_versions,
    }
}

struct Case {
    document: &'static str,
    variables: fn(&Secret, Option<&Target>, &Cast) -> Value,
    expect: Expect,
}

fn none(_: &Secret, _: Option<&Target>, _: &Cast) -> Value {
    json!({})
}

fn queries() -> Vec<(&'static str, Case)> {
    let case = |document, variables, expect| Case { document, variables, expect };
    vec![
        (
            "node",
            case(
                "query($id: ID!) { node(id: $id) { id ... on Customer { name } } }",
                |s, _, _| json!({"id": s.customer}),
                // Invisible is null, like missing (Relay): no error, nothing leaked.
                anyone,
            ),
        ),
        (
            "nodes",
            case(
                "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Contact { name } } }",
                |s, _, _| json!({"ids": [s.contact, s.ticket]}),
                anyone,
            ),
        ),
        ("viewer", case("{ viewer { id name role } }", none, anyone)),
        ("fieldAccess", case("{ fieldAccess { field restricted roles scopes } }", none, admin)),
        ("hiddenFields", case("{ hiddenFields }", none, anyone)),
        ("customFieldDefinitions", case("{ customFieldDefinitions { key label type } }", none, anyone)),
        (
            "duplicateCandidates",
            case(
                "{ customers: duplicateCandidates(entity: CUSTOMER) { totalCount nodes { score reasons ids } }
                   contacts: duplicateCandidates(entity: CONTACT) { totalCount nodes { score reasons ids } } }",
                none,
                customer_reader,
            ),
        ),
        ("users", case("{ users { totalCount edges { node { name } } } }", none, anyone)),
        ("teams", case("{ teams { totalCount edges { node { name } } } }", none, anyone)),
        (
            "customers",
            case(
                "{ customers(filter: {includeArchived: true}) { totalCount edges { node { name contacts { name } latestCommunications { summary } openCommitments { description } partnership { serviceLevel } parent { name } mergedInto { name } health { score signals { explanation } } externalIds { externalId } customFields { value } } } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "customer",
            case(
                "query($id: ID!) { customer(id: $id) { name customFields { key value } } }",
                |s, _, _| json!({"id": s.customer}),
                reader_of_b,
            ),
        ),
        (
            "contacts",
            case(
                "{ contacts(filter: {includeArchived: true}) { totalCount edges { node { name customer { name } externalIds { externalId } } } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "communications",
            case(
                "{ communications { totalCount edges { node { summary contacts { name } customer { name } } } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "tickets",
            case(
                "{ tickets { totalCount edges { node { title description customer { name } events { edges { node { kind } } } } } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "partnershipChanges",
            case("{ partnershipChanges { totalCount edges { node { customerId toTier } } } }", none, customer_reader),
        ),
        (
            "upcomingCareDates",
            case("{ upcomingCareDates(days: 366) { customerName contactName } }", none, customer_reader),
        ),
        (
            "atRiskCustomers",
            case(
                "{ atRiskCustomers(minLevel: HEALTHY) { totalCount edges { node { score topSignals { explanation } customer { name } } } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "accountStatus",
            case(
                "query($id: ID!) { accountStatus(customerId: $id) { name topSignal ownerName nextCareDate { contactName } } }",
                |s, _, _| json!({"id": s.customer}),
                reader_of_b,
            ),
        ),
        ("webhookEndpoints", case("{ webhookEndpoints { totalCount edges { node { id url } } } }", none, admin)),
        (
            "webhookDeliveries",
            case("{ webhookDeliveries { totalCount edges { node { id payload attempts { number } } } } }", none, admin),
        ),
        ("apiTokens", case("{ apiTokens { totalCount edges { node { id name scopes } } } }", none, admin)),
        (
            "changes",
            case(
                "{ changes(first: 1000) { changes { id operation node { id ... on Customer { name } ... on Contact { name } ... on Ticket { title } } } nextPosition } }",
                none,
                customer_reader,
            ),
        ),
        (
            "relationshipGraph",
            case(
                "query($id: ID!) { relationshipGraph(rootId: $id, depth: 3) { nodes { id ... on Customer { name } ... on Contact { name } } edges { kind from to } truncated } }",
                |s, _, _| json!({"id": s.customer}),
                reader_of_b,
            ),
        ),
        (
            "supplyAllocationPlan",
            case(
                "query($id: ID!) { supplyAllocationPlan(productLine: \"L\", available: 5, demand: [{customerId: $id, quantity: 3}]) { lines { customerName allocated } } }",
                |s, _, _| json!({"id": s.customer}),
                reader_of_b,
            ),
        ),
        (
            "supplyPriorities",
            case("{ supplyPriorities { totalCount edges { node { productLine } } } }", none, customer_reader),
        ),
        ("commitments", case("{ commitments { totalCount edges { node { description } } } }", none, customer_reader)),
        ("tasks", case("{ tasks { totalCount nodes { title notes customer { name } } } }", none, customer_reader)),
        ("myTasks", case("{ myTasks { totalCount nodes { title notes customer { name } } } }", none, customer_reader)),
        ("playbooks", case("{ playbooks { name taskTitle } }", none, people)),
        (
            "healthBacktest",
            case(
                "{ healthBacktest(from: \"2026-01-01\", to: \"2026-03-01\") { customersScored auc levels { level customers } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "revenueEntries",
            case("{ revenueEntries { totalCount edges { node { revenue customerId } } } }", none, customer_reader),
        ),
        (
            "churnEvents",
            case("{ churnEvents { totalCount edges { node { competitor customerId } } } }", none, customer_reader),
        ),
        (
            "customerLinks",
            case(
                "{ customerLinks { totalCount edges { node { fromCustomerId toCustomerId } } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "surveyResponses",
            case("{ surveyResponses { totalCount edges { node { comment } } } }", none, customer_reader),
        ),
        ("auditLog", case("{ auditLog(first: 1) { totalCount } }", none, leadership)),
        (
            "retentionReport",
            case(
                "{ retentionReport(from: \"2020-01-01\", to: \"2030-01-01\", groupBy: OWNER) { total { customersAtStart lostCustomersRevenueBefore } groups { label } reasons { reason } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "silentChurn",
            case("{ silentChurn { totalCount edges { node { customer { name } } } } }", none, customer_reader),
        ),
        (
            "paretoReport",
            case(
                "{ paretoReport(from: \"2020-01-01\", to: \"2030-01-01\") { customers revenue } }",
                none,
                customer_reader,
            ),
        ),
        (
            "segmentationSummary",
            case("{ segmentationSummary { segments { customers revenue } } }", none, customer_reader),
        ),
        (
            "errorAudit",
            case(
                "{ errorAudit(from: \"2020-01-01\", to: \"2030-01-01\") { figures { tickets } recurrences { first { title } } } }",
                none,
                customer_reader,
            ),
        ),
        (
            "customerAggregates",
            case(
                "{ customerAggregates(groupBy: [OWNER]) { owner { name } customers revenue } }",
                none,
                customer_reader,
            ),
        ),
    ]
}

fn mutations() -> Vec<(&'static str, Case)> {
    let case = |document, variables, expect| Case { document, variables, expect };
    type Vars = fn(&Secret, Option<&Target>, &Cast) -> Value;
    macro_rules! with_target {
        ($body:expr) => {{
            fn vars(_: &Secret, target: Option<&Target>, cast: &Cast) -> Value {
                let f: fn(&Target, &Cast) -> Value = $body;
                f(target.expect("mutations run with a target"), cast)
            }
            vars as Vars
        }};
    }
    vec![
        (
            "login",
            case(
                "mutation($e: String!) { login(email: $e, password: \"not the password\") { accessToken } }",
                with_target!(|t, _| json!({"e": format!("nobody.{}@t.example", t.customer.to_lowercase())})),
                |_| Some("UNAUTHENTICATED"),
            ),
        ),
        (
            "refreshToken",
            case("mutation { refreshToken(refreshToken: \"forged\") { accessToken } }", none, |_| {
                Some("UNAUTHENTICATED")
            }),
        ),
        ("logout", case("mutation { logout(refreshToken: \"forged\") }", none, |_| None)),
        (
            "acceptInvitation",
            case(
                "mutation { acceptInvitation(token: \"inv_forged\", password: \"a long enough password\") { accessToken } }",
                none,
                |_| Some("UNAUTHENTICATED"),
            ),
        ),
        (
            "changePassword",
            case(
                "mutation { changePassword(currentPassword: \"not the password\", newPassword: \"a long enough password\") { accessToken } }",
                none,
                |role| {
                    unauthenticated(role).unwrap_or(match role {
                        Role::Integration | Role::Unscoped => Some("FORBIDDEN"),
                        _ => Some("BAD_USER_INPUT"),
                    })
                },
            ),
        ),
        (
            "inviteUser",
            case(
                "mutation($id: ID!) { inviteUser(id: $id, validForHours: 2) { token expiresAt } }",
                with_target!(|_, c| json!({"id": c.rep_a2.gid})),
                admin,
            ),
        ),
        (
            "createUser",
            case(
                "mutation($e: String!) { createUser(input: {email: $e, name: \"N\", role: REP}) { id } }",
                with_target!(|t, _| json!({"e": format!("new.{}@t.example", &t.customer[..8].to_lowercase())})),
                admin,
            ),
        ),
        ("createTeam", case("mutation { createTeam(name: \"New team\") { id } }", none, admin)),
        ("refreshAccountHealth", case("mutation { refreshAccountHealth }", none, admin)),
        (
            "updateUser",
            case(
                "mutation($id: ID!) { updateUser(id: $id, input: {name: \"Renamed\", phone: \"+1 555\"}) { name } }",
                with_target!(|t, _| json!({"id": t.leaving})),
                admin,
            ),
        ),
        (
            "reassignCustomers",
            case(
                "mutation($f: ID!, $t: ID!) { reassignCustomers(fromUserId: $f, toUserId: $t) }",
                with_target!(|t, c| json!({"f": t.leaving, "t": c.rep_a2.gid})),
                leadership,
            ),
        ),
        (
            "deactivateUser",
            case(
                "mutation($id: ID!, $t: ID!) { deactivateUser(id: $id, reassignTo: $t) { active } }",
                with_target!(|t, c| json!({"id": t.leaving, "t": c.rep_a2.gid})),
                leadership,
            ),
        ),
        (
            "createCustomer",
            case("mutation { createCustomer(input: {name: \"Made\"}) { id } }", none, |role| {
                unauthenticated(role).unwrap_or(if matches!(role, Role::Integration | Role::Unscoped) {
                    Some("FORBIDDEN")
                } else {
                    None
                })
            }),
        ),
        (
            "updateCustomer",
            case(
                "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Renamed\"}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "archiveCustomer",
            case(
                "mutation($id: ID!) { archiveCustomer(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "markCustomerLost",
            case(
                "mutation($id: ID!) { markCustomerLost(id: $id, reason: SERVICE) { customer { id } } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "markCustomerWonBack",
            case(
                "mutation($id: ID!) { markCustomerWonBack(id: $id) { customer { id } } }",
                with_target!(|t, _| json!({"id": t.lost})),
                writer_of_a,
            ),
        ),
        (
            "createContact",
            case(
                "mutation($id: ID!) { createContact(customerId: $id, input: {name: \"New\", orgLevel: TECHNICAL}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "updateContact",
            case(
                "mutation($id: ID!) { updateContact(id: $id, input: {title: \"T\"}) { id } }",
                with_target!(|t, _| json!({"id": t.contact})),
                writer_of_a,
            ),
        ),
        (
            "archiveContact",
            case(
                "mutation($id: ID!) { archiveContact(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.contact})),
                writer_of_a,
            ),
        ),
        (
            "logCommunication",
            case(
                "mutation($id: ID!) { logCommunication(input: {customerId: $id, channel: VISIT, summary: \"v\"}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "updateCommunication",
            case(
                "mutation($id: ID!) { updateCommunication(id: $id, input: {summary: \"u\"}) { id } }",
                with_target!(|t, _| json!({"id": t.communication})),
                writer_of_a,
            ),
        ),
        (
            "archiveCommunication",
            case(
                "mutation($id: ID!) { archiveCommunication(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.communication})),
                writer_of_a,
            ),
        ),
        (
            "createTicket",
            case(
                "mutation($id: ID!) { createTicket(input: {customerId: $id, title: \"t\", description: \"d\", category: OTHER}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "updateTicket",
            case(
                "mutation($id: ID!) { updateTicket(id: $id, expectedVersion: 1, input: {priority: HIGH}) { id } }",
                with_target!(|t, _| json!({"id": t.ticket})),
                writer_of_a,
            ),
        ),
        (
            "commentOnTicket",
            case(
                "mutation($id: ID!) { commentOnTicket(id: $id, expectedVersion: 1, body: \"b\") { event { id } } }",
                with_target!(|t, _| json!({"id": t.ticket})),
                writer_of_a,
            ),
        ),
        (
            "changeTicketStatus",
            case(
                "mutation($id: ID!) { changeTicketStatus(id: $id, expectedVersion: 1, status: IN_PROGRESS) { id } }",
                with_target!(|t, _| json!({"id": t.ticket})),
                writer_of_a,
            ),
        ),
        (
            "setPartnership",
            case(
                "mutation($id: ID!) { setPartnership(customerId: $id, input: {tier: PRICE}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "setSupplyPriority",
            case(
                "mutation($id: ID!) { setSupplyPriority(input: {customerId: $id, productLine: \"M\", priorityRank: 2}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "recordKeyDate",
            case(
                "mutation($id: ID!) { recordKeyDate(input: {customerId: $id, kind: PROJECT_START, date: \"2027-01-01\", recurring: false}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "archiveKeyDate",
            case(
                "mutation($id: ID!) { archiveKeyDate(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.key_date})),
                writer_of_a,
            ),
        ),
        (
            "archiveSupplyPriority",
            case(
                "mutation($id: ID!) { archiveSupplyPriority(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.supply})),
                writer_of_a,
            ),
        ),
        (
            "createCommitment",
            case(
                "mutation($id: ID!) { createCommitment(customerId: $id, input: {kind: SERVICE, description: \"s\", dueOn: \"2030-02-01\"}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "createTask",
            case(
                "mutation($id: ID!) { createTask(customerId: $id, input: {title: \"x\", dueOn: \"2030-02-01\"}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
        (
            "definePlaybook",
            case(
                "mutation { definePlaybook(input: {name: \"x\", trigger: SLA_BREACHED, taskTitle: \"t\"}) { id } }",
                with_target!(|_, _| json!({})),
                leadership,
            ),
        ),
        (
            "updatePlaybook",
            case(
                "mutation($id: ID!) { updatePlaybook(id: $id, input: {name: \"y\", trigger: CHAMPION_LEFT, taskTitle: \"t\"}) { id } }",
                with_target!(|t, _| json!({"id": t.playbook})),
                leadership,
            ),
        ),
        (
            "pausePlaybook",
            case(
                "mutation($id: ID!) { pausePlaybook(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.playbook})),
                leadership,
            ),
        ),
        (
            "resumePlaybook",
            case(
                "mutation($id: ID!) { resumePlaybook(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.playbook})),
                leadership,
            ),
        ),
        ("runPlaybooks", case("mutation { runPlaybooks { title } }", with_target!(|_, _| json!({})), leadership)),
        (
            "updateTask",
            case(
                "mutation($id: ID!) { updateTask(id: $id, input: {title: \"u\"}) { id } }",
                with_target!(|t, _| json!({"id": t.task})),
                writer_of_a,
            ),
        ),
        (
            "completeTask",
            case(
                "mutation($id: ID!) { completeTask(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.task})),
                writer_of_a,
            ),
        ),
        (
            "cancelTask",
            case(
                "mutation($id: ID!) { cancelTask(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.task})),
                writer_of_a,
            ),
        ),
        (
            "reassignTask",
            case(
                "mutation($id: ID!, $o: ID!) { reassignTask(id: $id, ownerId: $o) { id } }",
                with_target!(|t, c| json!({"id": t.task, "o": c.rep_a.gid})),
                writer_of_a,
            ),
        ),
        (
            "updateCommitment",
            case(
                "mutation($id: ID!) { updateCommitment(id: $id, input: {description: \"u\"}) { id } }",
                with_target!(|t, _| json!({"id": t.commitment})),
                writer_of_a,
            ),
        ),
        (
            "fulfilCommitment",
            case(
                "mutation($id: ID!) { fulfilCommitment(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.commitment})),
                writer_of_a,
            ),
        ),
        (
            "archiveCommitment",
            case(
                "mutation($id: ID!) { archiveCommitment(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.commitment})),
                writer_of_a,
            ),
        ),
        (
            "upsertRevenueEntries",
            case(
                "mutation($id: ID!) { upsertRevenueEntries(entries: [{customerId: $id, month: \"2026-02-01\", revenue: \"5\", grossProfit: \"1\"}]) { upserted } }",
                with_target!(|t, _| json!({"id": t.customer})),
                revenue_writer,
            ),
        ),
        (
            "linkCustomers",
            case(
                "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: DISTRIBUTES_TO) { id } }",
                with_target!(|t, _| json!({"a": t.customer, "b": t.other})),
                writer_of_a,
            ),
        ),
        (
            "archiveCustomerLink",
            case(
                "mutation($id: ID!) { archiveCustomerLink(id: $id) { id } }",
                with_target!(|t, _| json!({"id": t.link})),
                writer_of_a,
            ),
        ),
        (
            // Granted to every role and scope that reads it today: the other cases see no change.
            "restrictField",
            case(
                "mutation { restrictField(field: CONTACT_BIRTHDAY, roles: [LEADER, TEAM_LEAD, REP], scopes: [\"customers:read\", \"tickets:read\", \"graph:read\"]) { field restricted } }",
                none,
                admin,
            ),
        ),
        ("openField", case("mutation { openField(field: CONTACT_BIRTHDAY) { field restricted } }", none, admin)),
        (
            "defineCustomField",
            case(
                "mutation { defineCustomField(input: {entity: TICKET, key: \"matrix_field\", label: \"m\", type: BOOLEAN}) { id } }",
                none,
                admin,
            ),
        ),
        (
            "archiveCustomField",
            case(
                "mutation($id: ID!) { archiveCustomField(id: $id) { archivedAt } }",
                with_target!(|t, _| json!({"id": t.custom_field})),
                admin,
            ),
        ),
        (
            "mergeCustomers",
            case(
                "mutation($s: ID!, $m: ID!, $v: [Int!]!) { mergeCustomers(survivorId: $s, mergedIds: [$m], expectedVersions: $v) { id mergedInto { id } } }",
                with_target!(|t, _| json!({"s": t.customer, "m": t.twin, "v": t.customer_versions})),
                writer_of_a,
            ),
        ),
        (
            "mergeContacts",
            case(
                "mutation($s: ID!, $m: ID!, $v: [Int!]!) { mergeContacts(survivorId: $s, mergedIds: [$m], expectedVersions: $v) { id mergedInto { id } } }",
                with_target!(|t, _| json!({"s": t.contact, "m": t.twin_contact, "v": t.contact_versions})),
                writer_of_a,
            ),
        ),
        (
            "createWebhookEndpoint",
            case(
                "mutation { createWebhookEndpoint(url: \"https://93.184.216.34/other\", eventTypes: [CUSTOMER_LOST]) { secret } }",
                none,
                admin,
            ),
        ),
        (
            "updateWebhookEndpoint",
            case(
                "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {description: \"ERP\"}) { id } }",
                with_target!(|t, _| json!({"id": t.endpoint})),
                admin,
            ),
        ),
        (
            "rotateWebhookSecret",
            case(
                "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
                with_target!(|t, _| json!({"id": t.endpoint})),
                admin,
            ),
        ),
        (
            "redeliverWebhook",
            case(
                "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }",
                with_target!(|t, _| json!({"id": t.delivery})),
                admin,
            ),
        ),
        (
            "disableWebhookEndpoint",
            case(
                "mutation($id: ID!) { disableWebhookEndpoint(id: $id) { active } }",
                with_target!(|t, _| json!({"id": t.endpoint})),
                admin,
            ),
        ),
        (
            "createApiToken",
            case(
                "mutation($u: ID!) { createApiToken(userId: $u, name: \"m\", scopes: [\"customers:read\"]) { token } }",
                with_target!(|_, c| json!({"u": c.integration.gid})),
                admin,
            ),
        ),
        (
            "revokeApiToken",
            case(
                "mutation($id: ID!) { revokeApiToken(id: $id) { active } }",
                with_target!(|t, _| json!({"id": t.api_token})),
                admin,
            ),
        ),
        (
            "upsertCustomers",
            case(
                "mutation($o: ID!, $k: String!) { upsertCustomers(source: \"erp\", customers: [{externalId: $k, name: \"Pushed\", ownerId: $o}]) { created updated unchanged } }",
                with_target!(|t, c| json!({"o": c.rep_a.gid, "k": format!("M-{}", t.customer)})),
                leadership,
            ),
        ),
        (
            "upsertContacts",
            case(
                "mutation($c: ID!, $k: String!) { upsertContacts(source: \"erp\", contacts: [{externalId: $k, customerId: $c, name: \"Pat\", orgLevel: TECHNICAL}]) { created } }",
                with_target!(|t, _| json!({"c": t.customer, "k": format!("P-{}", t.customer)})),
                leadership,
            ),
        ),
        (
            "upsertChurnEvents",
            case(
                "mutation($c: ID!, $k: String!) { upsertChurnEvents(source: \"crm\", events: [{externalId: $k, customerId: $c, kind: LOST, occurredOn: \"2026-01-05\", reason: PRICE}]) { created unchanged } }",
                with_target!(|t, _| json!({"c": t.customer, "k": format!("L-{}", t.customer)})),
                leadership,
            ),
        ),
        (
            "recordSurveyResponse",
            case(
                "mutation($id: ID!) { recordSurveyResponse(input: {customerId: $id, score: 8}) { id } }",
                with_target!(|t, _| json!({"id": t.customer})),
                writer_of_a,
            ),
        ),
    ]
}

/// What each mutation writes beside its own rows, when it succeeds: an audit
/// entry always, and change-feed entries for exactly these synced tables (a
/// write that forgets its change-feed entry desynchronises every integration).
fn feed_tables(mutation: &str) -> Option<&'static [&'static str]> {
    Some(match mutation {
        "login" | "refreshToken" | "logout" | "acceptInvitation" | "changePassword" | "inviteUser" | "createUser"
        | "updateUser" | "createTeam" => &[],
        "createCustomer"
        | "updateCustomer"
        | "archiveCustomer"
        | "markCustomerLost"
        | "markCustomerWonBack"
        | "setPartnership"
        | "upsertCustomers"
        | "upsertChurnEvents" => &["CUSTOMER"],
        // The user they start from owns no customers here (`changes` tests the reassignments that move some).
        "reassignCustomers" | "deactivateUser" => &[],
        "createContact" | "updateContact" | "archiveContact" | "upsertContacts" => &["CONTACT"],
        "logCommunication" | "updateCommunication" | "archiveCommunication" => &["COMMUNICATION"],
        "createTicket" | "updateTicket" | "commentOnTicket" | "changeTicketStatus" => &["TICKET"],
        "createCommitment" | "updateCommitment" | "fulfilCommitment" | "archiveCommitment" => &["COMMITMENT"],
        "createTask" | "updateTask" | "completeTask" | "cancelTask" | "reassignTask" => &["TASK"],
        // The target's playbook fires on nothing here (`accounts::playbooks` tests what they create).
        "definePlaybook" | "updatePlaybook" | "pausePlaybook" | "resumePlaybook" | "runPlaybooks" => &[],
        "defineCustomField" | "archiveCustomField" | "restrictField" | "openField" => &[],
        // The twin holds nothing: only the two rows themselves change.
        "mergeCustomers" => &["CUSTOMER"],
        "mergeContacts" => &["CONTACT"],
        "upsertRevenueEntries" => &["REVENUE_ENTRY"],
        "linkCustomers" | "archiveCustomerLink" => &["CUSTOMER_LINK"],
        "setSupplyPriority"
        | "archiveSupplyPriority"
        | "recordKeyDate"
        | "archiveKeyDate"
        | "recordSurveyResponse"
        | "createWebhookEndpoint"
        | "updateWebhookEndpoint"
        | "rotateWebhookSecret"
        | "redeliverWebhook"
        | "disableWebhookEndpoint"
        | "createApiToken"
        | "revokeApiToken"
        | "refreshAccountHealth" => &[],
        _ => return None,
    })
}

/// The newest audit id and change-feed position.
async fn marks(app: &TestApp) -> (i64, i64) {
    use sea_orm::ConnectionTrait;
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM audit_log) AS a, (SELECT COALESCE(MAX(position), 0) FROM change_log) AS c",
        ))
        .await
        .unwrap()
        .unwrap();
    (row.try_get::<i64>("", "a").unwrap(), row.try_get::<i64>("", "c").unwrap())
}

/// What a write recorded after `marks`: audit entries, and the tables of its change-feed entries.
async fn written_since(app: &TestApp, (audit, position): (i64, i64)) -> (i64, BTreeSet<String>) {
    use sea_orm::ConnectionTrait;
    let backend = app.db.get_database_backend();
    let audits = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM audit_log WHERE id > {audit}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    let tables = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT DISTINCT entity_type FROM change_log WHERE position > {position}"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "entity_type").unwrap())
        .collect();
    (audits, tables)
}

/// Subscriptions, each run by every role before rep B's ticket changes.
const SUBSCRIPTIONS: [(&str, &str); 3] = [
    ("taskAssigned", "subscription { taskAssigned { title notes customer { name } } }"),
    ("ticketUpdated", "subscription($id: ID!) { ticketUpdated(id: $id) { ticket { title } } }"),
    ("ticketEvents", "subscription { ticketEvents { ticket { title } } }"),
];

fn check(name: &str, role: Role, expect: Option<&str>, reply: &Reply) {
    assert_eq!(reply.code(), expect, "{name} as {role:?}: {}", reply.body);
    if blind_to_b(role) {
        assert!(!reply.body.to_string().contains("SECRET"), "{name} as {role:?} leaked: {}", reply.body);
    }
}

async fn root_fields(app: &TestApp, cast: &Cast) -> BTreeSet<String> {
    let reply = app
        .gql(&cast.admin, "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }", json!({}))
        .await;
    let schema = &reply.ok()["__schema"];
    ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|t| schema[t]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn every_operation_enforces_access_for_every_role() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let secret = secret(&app, &cast).await;
    let (queries, mutations) = (queries(), mutations());

    // Every operation of the schema has an entry.
    let covered: BTreeSet<String> = queries
        .iter()
        .chain(mutations.iter())
        .map(|(name, _)| (*name).to_owned())
        .chain(SUBSCRIPTIONS.iter().map(|(name, _)| (*name).to_owned()))
        .collect();
    let missing: Vec<_> = root_fields(&app, &cast).await.difference(&covered).cloned().collect();
    assert!(missing.is_empty(), "operations without an entry in the authorization matrix: {missing:?}");

    let mut runs = 0;
    for (name, case) in &queries {
        for role in ROLES {
            let reply = app
                .gql_as(
                    person(&cast, role).map(|p| p.token.as_str()),
                    case.document,
                    (case.variables)(&secret, None, &cast),
                )
                .await;
            check(name, role, (case.expect)(role), &reply);
            runs += 1;
        }
    }
    for (n, (name, case)) in mutations.iter().enumerate() {
        let expected = feed_tables(name).unwrap_or_else(|| panic!("{name}: list what it writes in feed_tables"));
        for (r, role) in ROLES.into_iter().enumerate() {
            let target = target(&app, &cast, n * ROLES.len() + r).await;
            let before = marks(&app).await;
            let reply = app
                .gql_as(
                    person(&cast, role).map(|p| p.token.as_str()),
                    case.document,
                    (case.variables)(&secret, Some(&target), &cast),
                )
                .await;
            check(name, role, (case.expect)(role), &reply);
            if reply.code().is_none() {
                // Every mutation that succeeds is audited, and feeds exactly the tables it changed.
                let (audits, tables) = written_since(&app, before).await;
                assert!(audits > 0, "{name} as {role:?} wrote no audit entry");
                let expected: BTreeSet<String> = expected.iter().map(|t| (*t).to_owned()).collect();
                assert_eq!(tables, expected, "{name} as {role:?}: change-feed tables");
            }
            runs += 1;
        }
    }

    // Subscriptions: every role subscribes; then B's ticket changes.
    let addr = app.listen().await;
    let mut listeners = Vec::new();
    for role in ROLES {
        for (name, document) in SUBSCRIPTIONS {
            let mut ws = WsClient::connect(addr, "graphql-transport-ws").await;
            let Some(who) = person(&cast, role) else {
                ws.send(json!({"type": "connection_init", "payload": {}})).await;
                assert_eq!(ws.expect_close().await, 4403, "{name} as Anonymous");
                runs += 1;
                continue;
            };
            ws.init(&who.token).await;
            ws.subscribe("s", document, json!({"id": secret.ticket})).await;
            listeners.push((name, role, ws));
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.gql(&cast.rep_b, "mutation($id: ID!) { commentOnTicket(id: $id, expectedVersion: 1, body: \"SECRET-COMMENT\") { event { id } } }", json!({"id": secret.ticket}))
        .await
        .ok();
    // A task given to rep B on their own customer reaches rep B alone.
    app.gql(&cast.rep_b, "mutation($c: ID!) { createTask(customerId: $c, input: {title: \"SECRET-ASSIGNED\", dueOn: \"2099-01-01\"}) { id } }", json!({"c": secret.customer}))
        .await
        .ok();
    for (name, role, mut ws) in listeners {
        if name == "taskAssigned" {
            match role {
                Role::RepB => {
                    let data = ws.next_data("s").await;
                    assert_eq!(data["data"][name]["title"], "SECRET-ASSIGNED", "{name} as {role:?}");
                }
                Role::Unscoped => {
                    let message = ws.next_json().await;
                    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{message}");
                }
                _ => ws.expect_silence().await,
            }
            runs += 1;
            continue;
        }
        match reader_of_b(role) {
            None => {
                let data = ws.next_data("s").await;
                assert_eq!(data["data"][name]["ticket"]["title"], "SECRET-TICKET", "{name} as {role:?}");
            }
            Some(_) if name == "ticketEvents" && role != Role::Unscoped => ws.expect_silence().await,
            Some(code) => {
                let message = ws.next_json().await;
                assert_eq!(
                    message["payload"]["errors"][0]["extensions"]["code"], code,
                    "{name} as {role:?}: {message}"
                );
                assert!(!message.to_string().contains("SECRET"), "{name} as {role:?} leaked: {message}");
            }
        }
        runs += 1;
    }
    let operations = queries.len() + mutations.len() + SUBSCRIPTIONS.len();
    assert_eq!(runs, operations * ROLES.len());
}
