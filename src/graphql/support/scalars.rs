//! Custom scalars: `Money` and `Date`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// An amount of money as a decimal string with two places ("1234.50"), exact
/// unlike a float. Input may be a string or a number with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub i64);

impl Money {
    pub fn cents(self) -> i64 {
        self.0
    }

    fn parse(text: &str) -> Option<i64> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() || fraction.len() > 2 || !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
        let cents = whole.checked_mul(100)?.checked_add(fraction)?;
        Some(if negative { -cents } else { cents })
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::rules::format_cents(self.0))
    }
}

/// An amount of money: a decimal string with exactly two places, e.g. "1234.50" or "-0.05".
/// Exact, unlike a float. Input may also be a number with at most two decimals.
#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            Value::String(s) => Money::parse(s),
            Value::Number(n) => Money::parse(&n.to_string()),
            _ => None,
        };
        parsed.map(Money).ok_or_else(|| InputValueError::custom("Money must be a decimal with at most two places"))
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// A calendar date without time zone, ISO 8601 (`2026-11-28`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time zone, in ISO 8601 form: "2026-11-28".
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("a Date is written YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Self(date)
    }
}

impl From<Date> for NaiveDate {
    fn from(date: Date) -> Self {
        date.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_and_prints_exactly() {
        assert_eq!(Money::parse("12"), Some(1200));
        assert_eq!(Money::parse("12.5"), Some(1250));
        assert_eq!(Money::parse("-0.05"), Some(-5));
        assert_eq!(Money::parse("1.234"), None);
        assert_eq!(Money::parse("abc"), None);
        assert_eq!(Money(-5).to_string(), "-0.05");
        assert_eq!(Money(123456).to_string(), "1234.56");
    }
}
