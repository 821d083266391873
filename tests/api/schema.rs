//! `schema.graphql` is the SDL of the running schema.

#[test]
fn schema_file_matches_the_running_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .unwrap_or_default();
    let running = rapport::graphql::schema::sdl();
    assert!(
        committed == running,
        "schema.graphql is out of date; regenerate it with: cargo run -q -- schema > schema.graphql"
    );
}
