//! A file's rows read and parsed on a thread of their own, a batch ahead of
//! the database's work on the ones before: reading and writing take turns on
//! one core otherwise. At most [`WAITING`] batches wait, so memory stays flat.

use tokio::sync::mpsc;

use super::{
    files::{Kind, Problem, Rows},
    records::{self, Record},
};

/// Rows per batch handed over.
const BATCH: usize = 1000;
/// Batches read but not yet taken.
const WAITING: usize = 2;

/// One row as read: its line and its record or its problems, or a problem
/// with the file itself (a CSV row that breaks the file).
pub enum Read {
    Row { line: u64, record: Result<Record, Vec<Problem>> },
    Broken(Problem),
}

/// The rows of one file, read ahead.
pub struct Ahead {
    batches: mpsc::Receiver<Vec<Read>>,
    current: std::vec::IntoIter<Read>,
}

impl Ahead {
    /// Starts reading `rows` (a file of `kind`) on a blocking thread.
    pub fn start(mut rows: Rows, kind: Kind) -> Self {
        let (sender, batches) = mpsc::channel(WAITING);
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(next) = rows.next_row() {
                batch.push(match next {
                    Ok(row) => Read::Row { line: row.line, record: records::read(kind, &row) },
                    Err(problem) => Read::Broken(problem),
                });
                if batch.len() == BATCH
                    && sender.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err()
                {
                    // The reader stopped listening (a refusal): nothing more to read for.
                    return;
                }
            }
            if !batch.is_empty() {
                let _ = sender.blocking_send(batch);
            }
        });
        Self { batches, current: Vec::new().into_iter() }
    }

    /// The next row, or `None` at the end of the file.
    pub async fn next(&mut self) -> Option<Read> {
        loop {
            if let Some(read) = self.current.next() {
                return Some(read);
            }
            self.current = self.batches.recv().await?.into_iter();
        }
    }
}
