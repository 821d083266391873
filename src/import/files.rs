//! The files of an import: which kind each holds (named by the file), in
//! which order they are written, and their rows read one at a time (CSV
//! with a header row, UTF-8 with or without a BOM, RFC 4180 quoting; or
//! NDJSON, one JSON object per line).

use std::{
    fs::File,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    sync::Arc,
};

crate::names::named! {
    /// What a file holds, named by its file name (`customers.csv`,
    /// `revenue.ndjson`...). The order is the order files are written in:
    /// a row may name rows of the kinds before it.
    pub enum Kind {
        Customers = "customers",
        Contacts = "contacts",
        ChurnEvents = "churn_events",
        Revenue = "revenue",
        Commitments = "commitments",
        Communications = "communications",
        Tickets = "tickets",
    }
}

impl Kind {
    /// The table its rows go to.
    pub fn table(self) -> &'static str {
        match self {
            Self::Customers => "customer",
            Self::Contacts => "contact",
            Self::ChurnEvents => "churn_event",
            Self::Revenue => "revenue_entry",
            Self::Commitments => "commitment",
            Self::Communications => "communication",
            Self::Tickets => "ticket",
        }
    }
}

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

/// One file to import.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub kind: Kind,
    pub format: Format,
}

/// The files named (a folder stands for the files in it), each with its
/// kind, in the order they are written; a name that says no kind is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Source>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut inside: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
            inside.sort();
            files.extend(inside.into_iter().filter(|p| format_of(p).is_some()));
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or folder", path.display()));
        }
    }
    let mut sources = Vec::new();
    for path in files {
        let format = format_of(&path)
            .ok_or_else(|| format!("{}: the file must end in .csv, .ndjson or .jsonl", path.display()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_ascii_lowercase();
        let kind = Kind::parse(&stem.replace('-', "_")).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!("{}: the file name must say what it holds: {}", path.display(), names.join(", "))
        })?;
        if sources.iter().any(|s: &Source| s.kind == kind) {
            return Err(format!("{}: a second {} file; give one file per kind", path.display(), kind.as_str()));
        }
        sources.push(Source { path, kind, format });
    }
    if sources.is_empty() {
        return Err("no file to import".to_owned());
    }
    sources.sort_by_key(|s| s.kind);
    Ok(sources)
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("csv") => Some(Format::Csv),
        Some("ndjson" | "jsonl") => Some(Format::Ndjson),
        _ => None,
    }
}

/// What tells a file changed: its size and when it was last written.
pub type Fingerprint = (u64, std::time::SystemTime);

/// The file's fingerprint now, if it can be read.
pub fn fingerprint(source: &Source) -> Option<Fingerprint> {
    let metadata = std::fs::metadata(&source.path).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

/// One row: its line in the file and its values, found by column.
#[derive(Debug, Default)]
pub struct Row {
    pub line: u64,
    /// The columns (shared by a CSV file's rows; an NDJSON row's own keys).
    columns: Arc<[String]>,
    /// One value per column, in one buffer (a row costs an allocation, not one per value).
    values: csv::StringRecord,
}

impl Row {
    /// The value of a column, trimmed; `None` when the column is missing or the value empty.
    pub fn get(&self, column: &str) -> Option<&str> {
        let index = self.columns.iter().position(|c| c == column)?;
        Some(self.values.get(index)?.trim()).filter(|v| !v.is_empty())
    }

    /// The non-empty values of the columns named `prefix` + a name, as (name, value).
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.columns.iter().enumerate().filter_map(move |(index, column)| {
            let name = column.strip_prefix(prefix)?;
            let value = self.values.get(index)?.trim();
            (!value.is_empty()).then_some((name, value))
        })
    }
}

/// A problem with one row, or with the file itself (line 0).
#[derive(Debug, Clone)]
pub struct Problem {
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// Reads a file's rows one at a time.
pub enum Rows {
    Csv {
        reader: csv::Reader<BufReader<File>>,
        headers: Arc<[String]>,
    },
    Ndjson {
        lines: std::io::Lines<BufReader<File>>,
        line: u64,
    },
    /// A CSV file broke: the rest of it cannot be trusted.
    Done,
}

impl Rows {
    pub fn open(source: &Source) -> Result<Self, Problem> {
        let file =
            File::open(&source.path).map_err(|e| Problem { line: 0, column: String::new(), message: e.to_string() })?;
        let mut buffered = BufReader::with_capacity(1 << 16, file);
        skip_bom(&mut buffered).map_err(|e| Problem { line: 0, column: String::new(), message: e.to_string() })?;
        Ok(match source.format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(buffered);
                let headers = reader
                    .headers()
                    .map_err(|e| Problem { line: 1, column: String::new(), message: csv_message(&e) })?
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect();
                Self::Csv { reader, headers }
            }
            Format::Ndjson => Self::Ndjson { lines: buffered.lines(), line: 0 },
        })
    }

    /// The next row, a problem with it, or `None` at the end.
    pub fn next_row(&mut self) -> Option<Result<Row, Problem>> {
        match self {
            Self::Csv { reader, headers } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        Some(Ok(Row { line, columns: headers.clone(), values: record }))
                    }
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        let problem = Problem { line, column: String::new(), message: csv_message(&e) };
                        *self = Self::Done;
                        Some(Err(problem))
                    }
                }
            }
            Self::Done => None,
            Self::Ndjson { lines, line } => loop {
                *line += 1;
                let text = match lines.next()? {
                    Ok(text) => text,
                    Err(e) => return Some(Err(Problem { line: *line, column: String::new(), message: e.to_string() })),
                };
                if text.trim().is_empty() {
                    continue;
                }
                return Some(ndjson_row(*line, &text));
            },
        }
    }
}

fn ndjson_row(line: u64, text: &str) -> Result<Row, Problem> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).map_err(|e| Problem {
        line,
        column: String::new(),
        message: format!("not a JSON object: {}", e.to_string().split(" at line").next().unwrap_or_default()),
    })?;
    let mut columns = Vec::with_capacity(object.len());
    let mut values = csv::StringRecord::new();
    for (key, value) in object {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(Problem { line, column: key, message: format!("a value, not {other}") });
            }
        };
        columns.push(key.trim().to_ascii_lowercase());
        values.push_field(&text);
    }
    Ok(Row { line, columns: columns.into(), values })
}

fn csv_message(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        _ => err.to_string(),
    }
}

fn skip_bom(reader: &mut BufReader<File>) -> std::io::Result<()> {
    let start = reader.fill_buf()?;
    if start.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
    }
    Ok(())
}
