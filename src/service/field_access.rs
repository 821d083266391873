//! The field policy: ADMIN restricts a sensitive field to some roles and
//! service-account scopes, or opens it again. A change is audited and takes
//! effect at once on every instance and every open connection
//! (`Effect::FieldPolicyChanged`); the rule itself is `policy::fields`.

use entity::{enums::Role, field_access};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;

use crate::{
    db::now,
    error::{AppError, AppResult},
    policy::{self, SensitiveField, Viewer, fields::FieldPolicy},
    service::{
        Services,
        write::{Effect, Write},
    },
};

/// The policy as stored now (ADMIN only).
pub async fn current(svc: &Services, viewer: &Viewer) -> AppResult<FieldPolicy> {
    policy::ensure_admin(viewer)?;
    FieldPolicy::load(&svc.db).await
}

/// Restricts `field` to `roles` (ADMIN always reads it) and to service
/// accounts holding one of `scopes`; replaces any earlier rule of the field.
pub async fn restrict(
    svc: &Services,
    viewer: &Viewer,
    field: SensitiveField,
    roles: Vec<Role>,
    scopes: Vec<String>,
) -> AppResult<FieldPolicy> {
    policy::ensure_admin(viewer)?;
    if roles.contains(&Role::Integration) {
        return Err(AppError::bad_input("roles", "service accounts are granted a field by `scopes`, not by role"));
    }
    policy::ensure_known_scopes(&scopes)?;
    let mut roles: Vec<&str> = roles.into_iter().filter(|r| *r != Role::Admin).map(Role::as_str).collect();
    roles.sort_unstable();
    roles.dedup();
    let mut scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let mut w = Write::begin(svc, viewer).await?;
    let before = field_access::Entity::find_by_id(field.as_str()).one(&*w).await?;
    let row = field_access::ActiveModel {
        field: Set(field.as_str().to_owned()),
        roles: Set(roles.join(" ")),
        scopes: Set(scopes.join(" ")),
        updated_by: Set(viewer.user_id),
        updated_at: Set(now()),
    };
    match &before {
        Some(_) => row.reset_all().update(&*w).await?,
        None => row.insert(&*w).await?,
    };
    w.audit(
        "restrict",
        "field_access",
        0,
        json!({
            "field": field.as_str(),
            "roles": {"old": before.as_ref().map(|b| b.roles.clone()), "new": roles.join(" ")},
            "scopes": {"old": before.as_ref().map(|b| b.scopes.clone()), "new": scopes.join(" ")},
        }),
    );
    w.after(Effect::FieldPolicyChanged);
    w.commit(svc).await?;
    current(svc, viewer).await
}

/// Opens `field` to everyone who reads its record again (no rule).
pub async fn open(svc: &Services, viewer: &Viewer, field: SensitiveField) -> AppResult<FieldPolicy> {
    policy::ensure_admin(viewer)?;
    let mut w = Write::begin(svc, viewer).await?;
    if let Some(before) = field_access::Entity::find_by_id(field.as_str()).one(&*w).await? {
        let audit = json!({"field": field.as_str(), "roles": {"old": before.roles}, "scopes": {"old": before.scopes}});
        before.into_active_model().delete(&*w).await?;
        w.audit("open", "field_access", 0, audit);
        w.after(Effect::FieldPolicyChanged);
    }
    w.commit(svc).await?;
    current(svc, viewer).await
}
