//! Field-level permissions: sensitive figures and personal details that
//! ADMIN may restrict to some roles (and, for service accounts, to some
//! scopes). A restricted field the viewer may not read answers null (and the
//! response lists it in `extensions.hiddenFields`); using it to filter, sort
//! or group is FORBIDDEN; and every value derived from it (a share, a
//! margin-based segment, an explanation that quotes an amount) is hidden with
//! it. Without a stored rule a field is readable by everyone who can read
//! its record, as before field permissions existed. ADMIN always reads
//! everything, so the policy can never lock out the one role that edits it.

use std::collections::BTreeMap;

use entity::{enums::Role, field_access};

use super::Viewer;
use crate::error::{AppError, AppResult};

crate::names::named! {
    /// A sensitive field, or family of fields, that a policy rule governs.
    pub enum SensitiveField {
        /// Revenue amounts, and every sum or share of them.
        Revenue = "REVENUE",
        /// Gross-profit amounts, their sums and shares, and the impact segment (which ranks by margin).
        GrossProfit = "GROSS_PROFIT",
        /// A partnership's discount.
        Discount = "DISCOUNT",
        /// A partnership's credit terms.
        CreditTerms = "CREDIT_TERMS",
        /// A contact's e-mail address.
        ContactEmail = "CONTACT_EMAIL",
        /// A contact's phone number.
        ContactPhone = "CONTACT_PHONE",
        /// A contact's birthday (and the care dates that reveal it).
        ContactBirthday = "CONTACT_BIRTHDAY",
        /// The values of custom fields marked `sensitive`.
        SensitiveCustomFields = "SENSITIVE_CUSTOM_FIELDS",
    }
}

impl SensitiveField {
    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The sensitive fields one viewer may not read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct HiddenFields(u16);

impl HiddenFields {
    pub fn contains(self, field: SensitiveField) -> bool {
        self.0 & field.bit() != 0
    }

    pub fn insert(&mut self, field: SensitiveField) {
        self.0 |= field.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = SensitiveField> {
        SensitiveField::ALL.iter().copied().filter(move |f| self.contains(*f))
    }
}

/// Who may read one restricted field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    /// People's roles that may read it (ADMIN always may; INTEGRATION is never listed).
    pub roles: Vec<Role>,
    /// Service accounts holding any of these scopes may read it.
    pub scopes: Vec<String>,
}

impl FieldRule {
    fn admits(&self, viewer: &Viewer) -> bool {
        match viewer.role {
            Role::Admin => true,
            Role::Integration => self.scopes.iter().any(|s| viewer.has_scope(s)),
            role => self.roles.contains(&role),
        }
    }
}

/// The stored policy: a rule per restricted field.
#[derive(Debug, Clone, Default)]
pub struct FieldPolicy {
    rules: BTreeMap<SensitiveField, FieldRule>,
}

impl FieldPolicy {
    /// The policy as stored; a row naming an unknown field or role is skipped
    /// (written by a newer version), which leaves that field as it was before.
    pub fn from_rows(rows: &[field_access::Model]) -> Self {
        let rules = rows
            .iter()
            .filter_map(|row| {
                let field = SensitiveField::parse(&row.field)?;
                let roles = row.roles.split_whitespace().filter_map(parse_role).collect();
                let scopes = row.scopes.split_whitespace().map(str::to_owned).collect();
                Some((field, FieldRule { roles, scopes }))
            })
            .collect();
        Self { rules }
    }

    /// The policy as stored now.
    pub async fn load(db: &impl sea_orm::ConnectionTrait) -> AppResult<Self> {
        use sea_orm::EntityTrait;
        Ok(Self::from_rows(&field_access::Entity::find().all(db).await?))
    }

    /// The rule of `field`, when it is restricted.
    pub fn rule(&self, field: SensitiveField) -> Option<&FieldRule> {
        self.rules.get(&field)
    }

    /// What `viewer` may not read.
    pub fn hidden_for(&self, viewer: &Viewer) -> HiddenFields {
        let mut hidden = HiddenFields::default();
        for (field, rule) in &self.rules {
            if !rule.admits(viewer) {
                hidden.insert(*field);
            }
        }
        hidden
    }
}

fn parse_role(text: &str) -> Option<Role> {
    [Role::Admin, Role::Leader, Role::TeamLead, Role::Rep].into_iter().find(|r| r.as_str() == text)
}

impl Viewer {
    /// Whether the viewer may read `field` (the records it sits on still need their own visibility).
    pub fn may_read(&self, field: SensitiveField) -> bool {
        !self.hidden.contains(field)
    }
}

/// The keys of the custom fields marked sensitive (live or archived: their
/// values stay in the audit trail) when the viewer may not read them; empty
/// otherwise, without a query.
pub async fn hidden_custom_keys(db: &impl sea_orm::ConnectionTrait, viewer: &Viewer) -> AppResult<Vec<String>> {
    use entity::custom_field;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    if viewer.may_read(SensitiveField::SensitiveCustomFields) {
        return Ok(Vec::new());
    }
    let fields = custom_field::Entity::find().filter(custom_field::Column::Sensitive.eq(true)).all(db).await?;
    Ok(fields.into_iter().map(|f| f.key).collect())
}

/// FORBIDDEN when the viewer may not read `field`, for an argument that would
/// filter, sort or group by it (`argument` names it in the error).
pub fn ensure_may_use(viewer: &Viewer, field: SensitiveField, argument: &str) -> AppResult<()> {
    if viewer.may_read(field) {
        return Ok(());
    }
    Err(AppError::Forbidden(format!("{argument} uses {}, which you may not read", field.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(role: Role, scopes: &[&str]) -> Viewer {
        Viewer {
            user_id: 1,
            role,
            team_id: None,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            client: None,
            hidden: HiddenFields::default(),
        }
    }

    fn row(field: &str, roles: &str, scopes: &str) -> field_access::Model {
        field_access::Model {
            field: field.to_owned(),
            roles: roles.to_owned(),
            scopes: scopes.to_owned(),
            updated_by: 1,
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_rule_admits_its_roles_its_scopes_and_admin_and_hides_from_the_rest() {
        let policy = FieldPolicy::from_rows(&[
            row("GROSS_PROFIT", "LEADER", "finance:read"),
            row("CONTACT_PHONE", "", ""),
            row("SOMETHING_NEWER", "", ""),
        ]);
        let gp = SensitiveField::GrossProfit;
        assert!(!policy.hidden_for(&viewer(Role::Admin, &[])).contains(gp));
        assert!(!policy.hidden_for(&viewer(Role::Leader, &[])).contains(gp));
        assert!(policy.hidden_for(&viewer(Role::Rep, &[])).contains(gp));
        assert!(policy.hidden_for(&viewer(Role::TeamLead, &[])).contains(gp));
        assert!(policy.hidden_for(&viewer(Role::Integration, &["customers:read"])).contains(gp));
        assert!(!policy.hidden_for(&viewer(Role::Integration, &["finance:read"])).contains(gp));
        // Nobody but ADMIN for a rule with no one listed; untouched fields stay open.
        let rep = policy.hidden_for(&viewer(Role::Rep, &[]));
        assert_eq!(rep.iter().collect::<Vec<_>>(), vec![SensitiveField::GrossProfit, SensitiveField::ContactPhone]);
        assert!(policy.hidden_for(&viewer(Role::Admin, &[])).is_empty());
    }
}
