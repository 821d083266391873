//! The group hierarchy: `parent` is its one source, cycles are refused, and
//! `ancestors` / `subsidiaries` walk it as far as the viewer can see.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::TestApp;

const SET_PARENT: &str = "mutation($id: ID!, $p: ID) { updateCustomer(id: $id, input: {parentId: $p}) { id } }";
const FAMILY: &str =
    "query($id: ID!) { customer(id: $id) { name parent { name } ancestors { name } subsidiaries { name } } }";

#[tokio::test]
async fn a_customer_cannot_become_its_own_ancestor() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let (top, middle, bottom) = (
        app.customer(&cast.leader, "Top").await,
        app.customer(&cast.leader, "Middle").await,
        app.customer(&cast.leader, "Bottom").await,
    );
    app.gql(&cast.leader, SET_PARENT, json!({"id": middle, "p": top})).await.ok();
    app.gql(&cast.leader, SET_PARENT, json!({"id": bottom, "p": middle})).await.ok();

    let itself = app.gql(&cast.leader, SET_PARENT, json!({"id": top, "p": top})).await;
    let cycle = app.gql(&cast.leader, SET_PARENT, json!({"id": top, "p": bottom})).await;
    let family = app.gql(&cast.leader, FAMILY, json!({"id": bottom})).await;
    let from_top = app.gql(&cast.leader, FAMILY, json!({"id": top})).await;

    assert_eq!(itself.code(), Some("CONFLICT"));
    assert_eq!(cycle.code(), Some("CONFLICT"));
    assert_eq!(
        family.ok()["customer"],
        json!({"name": "Bottom", "parent": {"name": "Middle"}, "ancestors": [{"name": "Middle"}, {"name": "Top"}], "subsidiaries": []})
    );
    assert_eq!(from_top.ok()["customer"]["subsidiaries"], json!([{"name": "Middle"}]));
    assert_eq!(from_top.ok()["customer"]["parent"], json!(null));
}

#[tokio::test]
async fn the_walk_up_stops_at_the_first_group_the_viewer_cannot_see() {
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let holding = app.customer(&cast.rep_a, "Holding of A").await;
    let hidden_group = app.customer(&cast.rep_b, "Group of B").await;
    let subsidiary = app.customer(&cast.rep_a, "Subsidiary of A").await;
    app.gql(&cast.leader, SET_PARENT, json!({"id": hidden_group, "p": holding})).await.ok();
    app.gql(&cast.leader, SET_PARENT, json!({"id": subsidiary, "p": hidden_group})).await.ok();

    let as_rep = app.gql(&cast.rep_a, FAMILY, json!({"id": subsidiary})).await;
    let holding_as_rep = app.gql(&cast.rep_a, FAMILY, json!({"id": holding})).await;
    let as_leader = app.gql(&cast.leader, FAMILY, json!({"id": subsidiary})).await;

    assert_eq!(as_rep.ok()["customer"]["parent"], json!(null));
    assert_eq!(as_rep.ok()["customer"]["ancestors"], json!([]), "nothing above a hidden group leaks");
    assert_eq!(holding_as_rep.ok()["customer"]["subsidiaries"], json!([]));
    assert!(!as_rep.text.contains("Group of B") && !holding_as_rep.text.contains("Group of B"));
    assert_eq!(as_leader.ok()["customer"]["ancestors"], json!([{"name": "Group of B"}, {"name": "Holding of A"}]));
}

#[tokio::test]
async fn subsidiary_links_are_gone_and_old_ones_became_parents() {
    use migration::{Migrator, MigratorTrait};
    let app = TestApp::spawn().await;
    let cast = app.cast().await;
    let group = app.customer(&cast.leader, "Group").await;
    let member = app.customer(&cast.leader, "Member").await;
    let id = |gid: &str| -> i64 {
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).unwrap();
        String::from_utf8(raw).unwrap().rsplit(':').next().unwrap().parse().unwrap()
    };
    // A database from before the change: a SUBSIDIARY_OF link and no parent.
    // Roll back to just before the fourth migration, the one that made the change.
    let after_third = u32::try_from(Migrator::migrations().len() - 3).unwrap();
    Migrator::down(&app.db, Some(after_third)).await.unwrap();
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO customer_link (from_customer_id, to_customer_id, kind, created_at, updated_at) \
             VALUES ({}, {}, 'SUBSIDIARY_OF', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            id(&member),
            id(&group)
        ))
        .await
        .unwrap();

    Migrator::up(&app.db, None).await.unwrap();
    let family = app.gql(&cast.leader, FAMILY, json!({"id": member})).await;
    let old_kind = app
        .gql(&cast.leader, "mutation($a: ID!, $b: ID!) { linkCustomers(fromCustomerId: $a, toCustomerId: $b, kind: SUBSIDIARY_OF) { id } }", json!({"a": member, "b": group}))
        .await;

    assert_eq!(family.ok()["customer"]["parent"]["name"], "Group");
    assert_eq!(app.count("customer_link").await, 0);
    assert_eq!(old_kind.code(), Some("GRAPHQL_VALIDATION_FAILED"));
}
