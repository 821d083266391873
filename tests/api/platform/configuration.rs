//! Every environment variable the server reads is listed in `.env.example`
//! and in the README's configuration table, so nobody has to read the
//! sources to find a setting.

use std::{collections::BTreeSet, path::Path};

/// The variable names quoted anywhere in `src/`.
fn variables_read() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for quoted in text.split('"').skip(1).step_by(2) {
                    let named = ["RAPPORT_", "OTEL_"].iter().any(|p| quoted.starts_with(p)) || quoted == "DATABASE_URL";
                    if named && quoted.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                        found.insert(quoted.to_owned());
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    found
}

#[test]
fn every_variable_the_server_reads_is_in_env_example_and_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let listed: BTreeSet<String> = example
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.to_owned()))
        .filter(|name| !name.contains(' '))
        .collect();
    let read = variables_read();

    assert!(read.len() > 30, "found only {read:?}");
    let missing: Vec<&String> = read.iter().filter(|v| !listed.contains(*v)).collect();
    assert!(missing.is_empty(), ".env.example lacks {missing:?}");
    let undocumented: Vec<&String> = read.iter().filter(|v| !readme.contains(&format!("`{v}`"))).collect();
    assert!(undocumented.is_empty(), "the README lacks {undocumented:?}");
    let unknown: Vec<&String> = listed.iter().filter(|v| !read.contains(*v) && v.as_str() != "RUST_LOG").collect();
    assert!(unknown.is_empty(), ".env.example lists variables nothing reads: {unknown:?}");
}
