//! `schema.graphql` is the SDL of the running schema.

#[test]
fn schema_file_matches_the_running_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap_or_default();
    let running = rapport::graphql::sdl();
    assert!(
        committed == running,
        "schema.graphql is out of date; regenerate it with: cargo run -q -- schema > schema.graphql"
    );
}

#[tokio::test]
async fn migrations_roll_back_completely_and_apply_again() {
    use migration::{Migrator, MigratorTrait};
    let app = crate::helpers::TestApp::spawn().await;

    Migrator::down(&app.db, None).await.expect("down");
    let after_down = Migrator::get_applied_migrations(&app.db).await.expect("status").len();
    Migrator::up(&app.db, None).await.expect("up again");

    assert_eq!(after_down, 0);
    assert_eq!(app.count("customer").await, 0);
}
