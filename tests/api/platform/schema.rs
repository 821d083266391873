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

/// Everything a frontend team reads in the schema has a description.
#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_described() {
    let app = crate::helpers::TestApp::spawn().await;
    let cast = app.cast().await;
    let query = "{ __schema { types { name kind description
        fields(includeDeprecated: true) { name description args { name description } }
        inputFields { name description }
        enumValues(includeDeprecated: true) { name description } } } }";

    let reply = app.gql(&cast.admin, query, serde_json::json!({})).await;

    let mut missing = Vec::new();
    let described = |v: &serde_json::Value| v["description"].as_str().is_some_and(|d| !d.trim().is_empty());
    for ty in reply.ok()["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let field_name = field["name"].as_str().unwrap();
            if !described(field) {
                missing.push(format!("{name}.{field_name}"));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(arg) {
                    missing.push(format!("{name}.{field_name}({})", arg["name"].as_str().unwrap()));
                }
            }
        }
        for list in ["inputFields", "enumValues"] {
            for item in ty[list].as_array().into_iter().flatten() {
                if !described(item) {
                    missing.push(format!("{name}.{}", item["name"].as_str().unwrap()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{} items have no description:\n{}", missing.len(), missing.join("\n"));
}

/// The README's table of error codes lists exactly the codes the server sends.
#[test]
fn the_readme_lists_every_error_code() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("### Error codes").nth(1).expect("an Error codes section");
    let documented: Vec<&str> = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('`').nth(1))
        .collect();

    assert_eq!(documented, rapport::error::codes::ALL, "README.md and src/error.rs disagree");
}
