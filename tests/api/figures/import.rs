//! `rapport import`: the example company of `examples/import/` (every kind,
//! CSV with a BOM and quoting, NDJSON) imported twice by the real binary,
//! then its figures checked against the ones worked out by hand; bad files
//! refused whole with every bad row named.
//!
//! The company, over the calendar year 2024 (the window `(2023-12-31, 2024-12-31]`):
//!
//! | customer | since | history | revenue |
//! |---|---|---|---|
//! | C-1 Acme | 2021-03 | active throughout | 1,000 a month, 2023-01..2024-12 |
//! | C-2 Borealis | 2020-06 | LOST 2024-06-15 (PRICE) | 500 a month, 2023-01..2024-05 |
//! | C-3 Cobalt | 2022-01 | LOST 2023-09-10 (QUALITY), WON_BACK 2024-03-01 | 200 in 2023-01..08, 300 in 2024-03..12 |
//! | C-4 Dune | 2024-04 | new in the window | 400.50 a month, 2024-04..12 |
//! | C-5 Ember | - | a prospect | none |
//!
//! - At the start (2023-12-31): C-1 and C-2 are customers (C-3 is lost, C-4 not begun, C-5 a prospect): 2.
//! - In the window: C-2 lost (1), C-3 won back (1), C-4 gained (1). At the end: C-1, C-3, C-4: 3.
//! - churnRate = 1 lost / 2 at the start = 0.5.
//! - Revenue in the 12 months before the window of those at the start: C-1 12,000 + C-2 6,000 = 18,000;
//!   of the lost one, C-2: 6,000, so lostRevenueShare = 6,000 / 18,000 = 1/3.
//! - Tickets opened in 2023: T-1 (February) and T-2 (August), both resolved: the 2023 error audit counts 2,
//!   though both were loaded in 2026. T-3 (2024) is still open.

use std::process::{Command, Output};

use entity::enums::Role;
use serde_json::json;

use crate::helpers::TestApp;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/import");

async fn import(app: &TestApp, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport"));
    command.arg("import").args(args).envs(app.process_env()).env("RUST_LOG", "error");
    crate::helpers::output(command).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The people the example files name.
async fn staff(app: &TestApp) -> crate::helpers::Person {
    let admin = app.person("admin@rapport.demo", Role::Admin, None, &[]).await;
    app.person("rep1.north@rapport.demo", Role::Rep, None, &[]).await;
    app.person("rep2.north@rapport.demo", Role::Rep, None, &[]).await;
    admin
}

#[tokio::test]
async fn the_example_company_imported_twice_reports_the_figures_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    let admin = staff(&app).await;

    let dry = import(&app, &["--source", "erp", "--dry-run", EXAMPLES]).await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("dry run: 88 rows in 7 files are valid; nothing was written"), "{}", stdout(&dry));
    assert_eq!(app.count("customer").await, 0, "a dry run writes nothing");

    let first = import(&app, &["--source", "erp", EXAMPLES]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("customers.csv: 5 rows of customers: 5 created, 0 updated, 0 unchanged"),
        "{}",
        stdout(&first)
    );
    assert!(stdout(&first).contains("revenue.csv: 68 rows of revenue: 68 created"), "{}", stdout(&first));
    let feed_after_first = app.count("change_log").await;

    let second = import(&app, &["--source", "erp", EXAMPLES]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    for line in stdout(&second).lines().filter(|l| l.contains(" rows of ")) {
        assert!(line.contains(": 0 created, 0 updated,"), "the second run changed something: {line}");
    }
    assert_eq!(app.count("change_log").await, feed_after_first, "the second run recorded no change");
    // Written batch by batch, positioned at the commit: no placeholder is left, and the order is the files'.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM change_log WHERE position < 0").await, 0);
    let out_of_order = app
        .scalar(
            "SELECT COUNT(*) FROM change_log a JOIN change_log b ON a.entity_type = b.entity_type \
             AND a.entity_type = 'CUSTOMER' AND a.operation = 'CREATED' AND b.operation = 'CREATED' \
             AND a.entity_id < b.entity_id AND a.position > b.position",
        )
        .await;
    assert_eq!(out_of_order, 0, "customers' feed entries follow the file");
    for (table, rows) in [
        ("customer", 5),
        ("contact", 4),
        ("churn_event", 3),
        ("revenue_entry", 68),
        ("commitment", 2),
        ("communication", 3),
        ("ticket", 3),
    ] {
        assert_eq!(app.count(table).await, rows, "{table}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'import'").await,
        14,
        "one entry per file and run"
    );

    let report = app
        .gql(
            &admin,
            "{ retentionReport(from: \"2023-12-31\", to: \"2024-12-31\") {
                 total { customersAtStart lost wonBack gained customersAtEnd churnRate lostRevenueShare revenueBefore lostCustomersRevenueBefore } }
               errorAudit(from: \"2023-01-01\", to: \"2023-12-31\", groupBy: QUARTER) { figures { period category tickets resolved } }
               customers(first: 10, filter: {search: \"Cobalt\"}) { edges { node { name status contacts { name } } } } }",
            json!({}),
        )
        .await;
    let data = report.ok();
    let total = &data["retentionReport"]["total"];
    assert_eq!(
        (&total["customersAtStart"], &total["lost"], &total["wonBack"], &total["gained"], &total["customersAtEnd"]),
        (&json!(2), &json!(1), &json!(1), &json!(1), &json!(3)),
        "{total}"
    );
    assert_eq!(total["churnRate"], 0.5);
    assert!((total["lostRevenueShare"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9, "{total}");
    assert_eq!(
        (&total["revenueBefore"], &total["lostCustomersRevenueBefore"]),
        (&json!("18000.00"), &json!("6000.00"))
    );
    let tickets: i64 =
        data["errorAudit"]["figures"].as_array().unwrap().iter().map(|f| f["tickets"].as_i64().unwrap()).sum();
    assert_eq!(tickets, 2, "{}", data["errorAudit"]);
    let cobalt = &data["customers"]["edges"][0]["node"];
    assert_eq!(cobalt["name"], "Cobalt \"Blue\" Trading", "CSV quoting");
    assert_eq!(cobalt["status"], "WON_BACK", "the status follows the latest churn event");
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole_with_every_bad_row_named() {
    let app = TestApp::spawn().await;
    staff(&app).await;
    let dir = std::env::temp_dir().join(format!("rapport-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("customers.csv"),
        "external_id,name,status,customer_since,owner_email\n\
         C-1,Fine,ACTIVE,2021-01-01,rep1.north@rapport.demo\n\
         C-2,,ACTIVE,2021-01-01,rep1.north@rapport.demo\n\
         C-3,Bad status,DORMANT,2021-01-01,rep1.north@rapport.demo\n\
         C-4,Bad date,ACTIVE,2021-13-01,rep1.north@rapport.demo\n\
         C-1,Twice,ACTIVE,,rep1.north@rapport.demo\n\
         C-5,No owner,ACTIVE,,nobody@rapport.demo\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("contacts.ndjson"),
        "{\"external_id\": \"P-1\", \"customer_external_id\": \"C-1\", \"name\": \"Ann\", \"org_level\": \"EXECUTIVE\"}\n\
         {\"external_id\": \"P-2\", \"customer_external_id\": \"C-9\", \"name\": \"Ben\", \"org_level\": \"EXECUTIVE\"}\n\
         not json\n",
    )
    .unwrap();
    let next_month =
        chrono::Utc::now().date_naive().checked_add_months(chrono::Months::new(1)).unwrap().format("%Y-%m");
    std::fs::write(
        dir.join("revenue.csv"),
        format!("customer_external_id,month,revenue,gross_profit\nC-1,2024-01,10,1\nC-1,2024-01,12,1\nC-1,{next_month},10,1\n"),
    )
    .unwrap();
    let refused = import(&app, &["--source", "erp", dir.to_str().unwrap()]).await;
    let said = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    let customers = dir.join("customers.csv").display().to_string();
    let contacts = dir.join("contacts.ndjson").display().to_string();
    let revenue = dir.join("revenue.csv").display().to_string();
    for expected in [
        format!("{customers}:3: name: required"),
        format!("{customers}:4: status: \"DORMANT\" is not one of"),
        format!("{customers}:5: customer_since: \"2021-13-01\" is not a date"),
        format!("{customers}:6: external_id: \"C-1\" appears twice in the file"),
        format!("{customers}:7: owner_email: no active employee with e-mail \"nobody@rapport.demo\""),
        format!("{contacts}:2: customer_external_id: no customer \"C-9\""),
        format!("{contacts}:3: -: not a JSON object"),
        format!("{revenue}:3: month: \"C-1 2024-01\" appears twice in the file"),
        format!("{revenue}:4: month: {next_month} has not begun"),
    ] {
        assert!(said.contains(&expected), "missing {expected:?} in\n{said}");
    }
    assert!(said.contains("9 bad rows; nothing of their files was written"), "{said}");
    for table in ["customer", "contact", "external_ref", "revenue_entry"] {
        assert_eq!(app.count(table).await, 0, "{table}: a refused import writes nothing");
    }

    let unknown =
        import(&app, &["--source", "erp", dir.join("customers.csv").to_str().unwrap(), "/no/such/orders.csv"]).await;
    assert_ne!(unknown.status.code(), Some(0));
    assert!(stderr(&unknown).contains("/no/such/orders.csv"), "{}", stderr(&unknown));
}

#[tokio::test]
async fn the_readme_command_imports_the_example_company_into_the_demo() {
    let app = TestApp::spawn().await;
    // As the README does it: `rapport seed-demo`, then `rapport import`.
    let mut seed = Command::new(env!("CARGO_BIN_EXE_rapport"));
    seed.arg("seed-demo").envs(app.process_env());
    let seeded = crate::helpers::output(seed).await;
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let customers = app.count("customer").await;
    let imported = import(&app, &["--source", "erp", EXAMPLES]).await;
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(stdout(&imported).contains("imported 88 rows from 7 files (source erp)"), "{}", stdout(&imported));
    assert_eq!(app.count("customer").await, customers + 5);
    let audited = app.scalar("SELECT COUNT(*) FROM audit_log a JOIN app_user u ON u.id = a.actor_id WHERE a.action = 'import' AND u.email = 'admin@rapport.demo'").await;
    assert_eq!(audited, 7, "one entry per file, by the first ADMIN");
}

/// A second import that corrects a month and adds one: the corrected row is
/// audited with its old and new figures and fed as UPDATED, the added one fed
/// as CREATED, the untouched ones left alone, the rollups equal a rebuild, and
/// the report moves by the correction (C-1's 2023-06 from 1,000 to 1,300:
/// revenueBefore 18,300, lostRevenueShare 6,000 / 18,300).
#[tokio::test]
async fn a_corrected_month_imported_again_moves_the_figures_and_leaves_its_trail() {
    let app = TestApp::spawn().await;
    let admin = staff(&app).await;
    let first = import(&app, &["--source", "erp", EXAMPLES]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let feed_before = app.scalar("SELECT COALESCE(MAX(position), 0) FROM change_log").await;

    let dir = std::env::temp_dir().join(format!("rapport-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = std::fs::read_to_string(format!("{EXAMPLES}/revenue.csv")).unwrap();
    let corrected = original.replace("C-1,2023-06,1000.00,300.00", "C-1,2023-06,1300.00,390.00") + "C-5,2024-12,50,5\n";
    std::fs::write(dir.join("revenue.csv"), corrected).unwrap();
    let second = import(&app, &["--source", "erp", dir.to_str().unwrap()]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("revenue.csv: 69 rows of revenue: 1 created, 1 updated, 67 unchanged"),
        "{}",
        stdout(&second)
    );

    let audited = app
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'upsert' AND entity = 'revenue_entry' \
             AND entity_id = (SELECT r.id FROM revenue_entry r JOIN external_ref x ON x.entity_id = r.customer_id \
               AND x.entity = 'CUSTOMER' AND x.external_id = 'C-1' WHERE r.revenue_cents = 130000) \
             AND REPLACE(changes, ' ', '') LIKE '%\"revenueCents\":[100000,130000]%'",
        )
        .await;
    assert_eq!(audited, 1, "the corrected row is audited with its old and new figures");
    let fed = |operation: &str| {
        format!(
            "SELECT COUNT(*) FROM change_log WHERE position > {feed_before} AND entity_type = 'REVENUE_ENTRY' \
             AND operation = '{operation}'"
        )
    };
    assert_eq!(app.scalar(&fed("UPDATED")).await, 1);
    assert_eq!(app.scalar(&fed("CREATED")).await, 1);
    assert_eq!(app.scalar(&format!("SELECT COUNT(*) FROM change_log WHERE position > {feed_before}")).await, 2);
    let drift = rapport::service::rollups::check(&app.db).await.unwrap();
    assert!(drift.is_none(), "the rollups drifted: {drift:?}");

    let report = app
        .gql(
            &admin,
            "{ retentionReport(from: \"2023-12-31\", to: \"2024-12-31\") { total { revenueBefore lostRevenueShare } } }",
            json!({}),
        )
        .await;
    let total = &report.ok()["retentionReport"]["total"];
    assert_eq!(total["revenueBefore"], "18300.00", "{total}");
    assert!((total["lostRevenueShare"].as_f64().unwrap() - 6000.0 / 18300.0).abs() < 1e-9, "{total}");
}

#[tokio::test]
async fn custom_columns_of_a_file_set_custom_field_values() {
    let app = TestApp::spawn().await;
    let admin = staff(&app).await;
    for input in [
        json!({"entity": "CUSTOMER", "key": "contract_level", "label": "Level", "type": "ENUM", "options": ["GOLD", "SILVER"]}),
        json!({"entity": "CUSTOMER", "key": "credit_limit", "label": "Credit", "type": "MONEY"}),
        json!({"entity": "CUSTOMER", "key": "employees", "label": "Employees", "type": "NUMBER"}),
        json!({"entity": "CUSTOMER", "key": "key_account", "label": "Key", "type": "BOOLEAN"}),
    ] {
        app.gql(
            &admin,
            "mutation($i: DefineCustomFieldInput!) { defineCustomField(input: $i) { id } }",
            json!({"i": input}),
        )
        .await
        .ok();
    }
    let dir = std::env::temp_dir().join(format!("rapport-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |rows: &str| {
        std::fs::write(
            dir.join("customers.csv"),
            format!("external_id,name,owner_email,custom.contract_level,custom.credit_limit,custom.employees,custom.key_account\n{rows}"),
        )
        .unwrap();
    };
    write("C-1,Acme,rep1.north@rapport.demo,GOLD,75000.50,120,true\nC-2,Beta,rep1.north@rapport.demo,,,,\n");
    let done = import(&app, &["--source", "erp", dir.to_str().unwrap()]).await;
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let read = app
        .gql(
            &admin,
            "{ customers(first: 5, orderBy: {field: NAME}) { nodes { name customFields { key value } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read.ok()["customers"]["nodes"],
        json!([
            {"name": "Acme", "customFields": [
                {"key": "contract_level", "value": "GOLD"}, {"key": "credit_limit", "value": "75000.50"},
                {"key": "employees", "value": 120.0}, {"key": "key_account", "value": true}]},
            {"name": "Beta", "customFields": []}
        ])
    );

    write("C-1,Acme,rep1.north@rapport.demo,PLATINUM,,,\n");
    let refused = import(&app, &["--source", "erp", dir.to_str().unwrap()]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("customFields.contract_level"), "{}", stderr(&refused));
}
