//! Input checks shared by every service; each failure names the offending field.

use crate::error::{AppError, AppResult};

/// A required text: trimmed, non-empty, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(field, format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(AppError::bad_input(field, format!("{field} must be at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// An optional text: trimmed, empty becomes absent, at most `max` characters.
pub fn optional_text(field: &str, value: Option<String>, max: usize) -> AppResult<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required_text(field, v, max).map(Some),
    }
}

/// Longest search term or exact-match filter value: the longest name a
/// customer, contact or user may have.
pub const MAX_FILTER_CHARS: usize = 200;

/// A search term or exact-match filter value of a list: at most
/// [`MAX_FILTER_CHARS`] characters (a longer one can match nothing, and a
/// huge `LIKE` pattern is refused by SQLite as too complex).
pub fn filter_text(field: &str, value: Option<String>) -> AppResult<Option<String>> {
    match value {
        Some(v) if v.chars().count() > MAX_FILTER_CHARS => {
            Err(AppError::bad_input(field, format!("{field} must be at most {MAX_FILTER_CHARS} characters")))
        }
        other => Ok(other),
    }
}

/// A plausible e-mail address (one `@`, a dot in the domain, no spaces).
pub fn email(field: &str, value: &str) -> AppResult<String> {
    let value = required_text(field, value, 254)?.to_lowercase();
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid { Ok(value) } else { Err(AppError::bad_input(field, format!("{field} is not a valid e-mail address"))) }
}

pub fn optional_email(field: &str, value: Option<String>) -> AppResult<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => email(field, v).map(Some),
    }
}

/// An integer within `min..=max`.
pub fn in_range(field: &str, value: i32, min: i32, max: i32) -> AppResult<i32> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::bad_input(field, format!("{field} must be between {min} and {max}")))
    }
}

pub fn optional_in_range(field: &str, value: Option<i32>, min: i32, max: i32) -> AppResult<Option<i32>> {
    value.map(|v| in_range(field, v, min, max)).transpose()
}

/// `expected` must match the row's current version (optimistic locking).
pub fn version(entity: &str, expected: Option<i32>, current: i32) -> AppResult<()> {
    match expected {
        Some(v) if v != current => Err(AppError::stale(entity, current)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_requires_a_domain_with_a_dot() {
        assert!(email("email", "ana@example.com").is_ok());
        assert!(email("email", "ana@example").is_err());
        assert!(email("email", "ana example@x.com").is_err());
        assert!(email("email", "@x.com").is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(required_text("name", "  Acme ", 10).ok(), Some("Acme".to_owned()));
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "abcdefghijk", 10).is_err());
        assert_eq!(optional_text("x", Some(" ".into()), 5).ok(), Some(None));
    }
}
