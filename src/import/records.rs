//! A row of a file as the record the services take, with every problem of
//! the row named by its column. The columns of each kind are listed in the
//! README ("Bringing your history in").

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use entity::enums::{ChurnKind, CustomerStatus, Direction, OrgLevel};
use sea_orm::ActiveEnum;

use super::files::{Kind, Problem, Row};
use crate::rules::parse_cents;
use crate::service::custom_fields::Given;
use crate::service::{
    external::{ChurnRecord, CommitmentRecord, CommunicationRecord, ContactRecord, CustomerRecord, TicketRecord},
    revenue::staged::ExternalRevenue,
};

/// One row, read.
#[derive(Debug, Clone)]
pub enum Record {
    Customer(CustomerRecord),
    Contact(ContactRecord),
    ChurnEvent(ChurnRecord),
    Revenue(ExternalRevenue),
    Commitment(CommitmentRecord),
    Communication(CommunicationRecord),
    Ticket(TicketRecord),
}

impl Record {
    /// The row's key in its source: its external id; revenue's is its customer and month.
    pub fn key(&self) -> String {
        match self {
            Self::Customer(r) => r.external_id.clone(),
            Self::Contact(r) => r.external_id.clone(),
            Self::ChurnEvent(r) => r.external_id.clone(),
            Self::Revenue(r) => format!("{} {}", r.customer_external_id, r.month.format("%Y-%m")),
            Self::Commitment(r) => r.external_id.clone(),
            Self::Communication(r) => r.external_id.clone(),
            Self::Ticket(r) => r.external_id.clone(),
        }
    }

    /// The customer the row belongs to, by its external id.
    pub fn customer(&self) -> Option<&str> {
        match self {
            Self::Customer(_) => None,
            Self::Contact(r) => r.customer_external_id.as_deref(),
            Self::ChurnEvent(r) => r.customer_external_id.as_deref(),
            Self::Revenue(r) => Some(&r.customer_external_id),
            Self::Commitment(r) => Some(&r.customer_external_id),
            Self::Communication(r) => Some(&r.customer_external_id),
            Self::Ticket(r) => Some(&r.customer_external_id),
        }
    }
}

/// The values of one row, read column by column; each problem is noted and
/// reading goes on, so that a row's every problem is named at once.
struct Reading<'a> {
    row: &'a Row,
    problems: Vec<Problem>,
}

impl<'a> Reading<'a> {
    fn fail(&mut self, column: &str, message: impl Into<String>) {
        self.problems.push(Problem { line: self.row.line, column: column.to_owned(), message: message.into() });
    }

    fn optional(&self, column: &str) -> Option<String> {
        self.row.get(column).map(str::to_owned)
    }

    /// Custom field values: the `custom.<key>` columns with a value (an empty cell leaves the field as it is).
    fn custom(&self) -> Vec<Given> {
        self.row.prefixed("custom.").map(|(key, value)| Given::text(key, value)).collect()
    }

    fn required(&mut self, column: &str) -> String {
        let value = self.optional(column);
        if value.is_none() {
            self.fail(column, "required");
        }
        value.unwrap_or_default()
    }

    fn parsed<T>(&mut self, column: &str, required: bool, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        let value =
            if required { Some(self.required(column)).filter(|v| !v.is_empty()) } else { self.optional(column) };
        match parse(value.as_deref()?) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.fail(column, message);
                None
            }
        }
    }

    fn choice<E: ActiveEnum<Value = String>>(&mut self, column: &str, required: bool) -> Option<E> {
        self.parsed(column, required, |text| {
            E::try_from_value(&text.trim().to_ascii_uppercase().replace([' ', '-'], "_")).map_err(|_| {
                let allowed: Vec<String> = E::iter().map(|v| v.to_value()).collect();
                format!("{text:?} is not one of {}", allowed.join(", "))
            })
        })
    }

    fn date(&mut self, column: &str, required: bool) -> Option<NaiveDate> {
        self.parsed(column, required, parse_date)
    }

    fn time(&mut self, column: &str, required: bool) -> Option<DateTime<Utc>> {
        self.parsed(column, required, parse_time)
    }

    fn money(&mut self, column: &str, required: bool) -> Option<i64> {
        self.parsed(column, required, parse_cents)
    }

    /// The record, or every problem of the row.
    fn finish<T>(self, record: Option<T>) -> Result<T, Vec<Problem>> {
        match record {
            Some(record) if self.problems.is_empty() => Ok(record),
            _ => Err(self.problems),
        }
    }
}

/// `2024-03-01`.
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// `2024-03-01T09:30:00Z` (RFC 3339), or `2024-03-01 09:30:00` (UTC).
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc()))
        .map_err(|_| format!("{text:?} is not a time (RFC 3339, or YYYY-MM-DD HH:MM:SS in UTC)"))
}

/// `2024-03` or the first day of the month.
fn parse_month(text: &str) -> Result<NaiveDate, String> {
    let date = parse_date(text)
        .or_else(|_| parse_date(&format!("{text}-01")))
        .map_err(|_| format!("{text:?} is not a month (YYYY-MM)"))?;
    if date.format("%d").to_string() != "01" {
        return Err(format!("{text:?} is not the first day of a month"));
    }
    Ok(date)
}

/// Reads one row of a file of `kind`.
pub fn read(kind: Kind, row: &Row) -> Result<Record, Vec<Problem>> {
    let mut r = Reading { row, problems: Vec::new() };
    let record = match kind {
        Kind::Customers => customer(&mut r).map(Record::Customer),
        Kind::Contacts => contact(&mut r).map(Record::Contact),
        Kind::ChurnEvents => churn_event(&mut r).map(Record::ChurnEvent),
        Kind::Revenue => revenue(&mut r).map(Record::Revenue),
        Kind::Commitments => commitment(&mut r).map(Record::Commitment),
        Kind::Communications => communication(&mut r).map(Record::Communication),
        Kind::Tickets => ticket(&mut r).map(Record::Ticket),
    };
    r.finish(record)
}

fn customer(r: &mut Reading) -> Option<CustomerRecord> {
    let status = r.choice::<CustomerStatus>("status", false);
    Some(CustomerRecord {
        external_id: r.required("external_id"),
        name: r.required("name"),
        industry: r.optional("industry"),
        region: r.optional("region"),
        status,
        customer_since: r.date("customer_since", false),
        owner_id: None,
        owner_email: Some(r.required("owner_email")),
        custom_fields: r.custom(),
    })
}

fn contact(r: &mut Reading) -> Option<ContactRecord> {
    let org_level = r.choice::<OrgLevel>("org_level", true);
    Some(ContactRecord {
        external_id: r.required("external_id"),
        customer_id: None,
        customer_external_id: Some(r.required("customer_external_id")),
        name: r.required("name"),
        title: r.optional("title"),
        department: r.optional("department"),
        org_level: org_level?,
        email: r.optional("email"),
        phone: r.optional("phone"),
        custom_fields: r.custom(),
    })
}

fn churn_event(r: &mut Reading) -> Option<ChurnRecord> {
    let kind = r.choice::<ChurnKind>("kind", true);
    let occurred_on = r.date("occurred_on", true);
    let reason = r.choice("reason", false);
    Some(ChurnRecord {
        external_id: r.required("external_id"),
        customer_id: None,
        customer_external_id: Some(r.required("customer_external_id")),
        kind: kind?,
        occurred_on: occurred_on?,
        reason,
        competitor: r.optional("competitor"),
        notes: r.optional("notes"),
    })
}

fn revenue(r: &mut Reading) -> Option<ExternalRevenue> {
    let month = r.parsed("month", true, parse_month);
    let revenue_cents = r.money("revenue", true);
    let gross_profit_cents = r.money("gross_profit", true);
    Some(ExternalRevenue {
        line: r.row.line,
        customer_external_id: r.required("customer_external_id"),
        month: month?,
        revenue_cents: revenue_cents?,
        gross_profit_cents: gross_profit_cents?,
    })
}

fn commitment(r: &mut Reading) -> Option<CommitmentRecord> {
    let kind = r.choice("kind", true);
    let due_on = r.date("due_on", true);
    let amount_cents = r.money("amount", false);
    let description = r.required("description");
    Some(CommitmentRecord {
        external_id: r.required("external_id"),
        customer_external_id: r.required("customer_external_id"),
        kind: kind?,
        description,
        amount_cents,
        due_on: due_on?,
        fulfilled_on: r.date("fulfilled_on", false),
    })
}

fn communication(r: &mut Reading) -> Option<CommunicationRecord> {
    let channel = r.choice("channel", true);
    let direction = r.choice::<Direction>("direction", false).unwrap_or(Direction::Outbound);
    let occurred_at = r.time("occurred_at", true);
    let summary = r.required("summary");
    Some(CommunicationRecord {
        external_id: r.required("external_id"),
        customer_external_id: r.required("customer_external_id"),
        channel: channel?,
        direction,
        occurred_at: occurred_at?,
        summary,
        user_email: r.optional("user_email"),
    })
}

fn ticket(r: &mut Reading) -> Option<TicketRecord> {
    let category = r.choice("category", true);
    let priority = r.choice("priority", true);
    let opened_at = r.time("opened_at", true);
    let first_response_at = r.time("first_response_at", false);
    let resolved_at = r.time("resolved_at", false);
    Some(TicketRecord {
        external_id: r.required("external_id"),
        customer_external_id: r.required("customer_external_id"),
        title: r.required("title"),
        description: r.optional("description"),
        category: category?,
        priority: priority?,
        opened_at: opened_at?,
        first_response_at,
        resolved_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_months_and_times_read_as_written() {
        assert_eq!(parse_cents("1234.5"), Ok(123_450));
        assert_eq!(parse_cents("-0.07"), Ok(-7));
        assert_eq!(parse_cents("12"), Ok(1200));
        assert!(parse_cents("1.234").is_err() && parse_cents("1,5").is_err() && parse_cents("").is_err());
        assert_eq!(parse_month("2024-03"), parse_date("2024-03-01"));
        assert!(parse_month("2024-03-02").is_err());
        assert_eq!(parse_time("2023-05-01 09:30:00"), parse_time("2023-05-01T09:30:00Z"));
        assert!(parse_time("yesterday").is_err());
    }
}
