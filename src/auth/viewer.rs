//! The authenticated user of a request or connection. A deactivated user, or a
//! changed role, team or scope set, takes effect on the next request, and on an
//! open WebSocket at its next operation or event ([`LiveViewer`]).

use std::sync::{Arc, RwLock};

use entity::user;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    auth::jwt::Subject,
    error::{AppError, AppResult},
    policy::Viewer,
};

impl Viewer {
    /// Loads the active user behind a verified token.
    pub async fn load(db: &impl ConnectionTrait, subject: &Subject) -> AppResult<Self> {
        let query = match subject {
            Subject::UserId(id) => user::Entity::find_by_id(*id),
            Subject::Email(email) => user::Entity::find().filter(user::Column::Email.eq(email.as_str())),
            Subject::ApiToken(_) => {
                return Err(AppError::Internal("API tokens are read by crate::auth::api_tokens".to_owned()));
            }
        };
        let user = query
            .one(db)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| AppError::Unauthenticated("the token's user is unknown or inactive".to_owned()))?;
        Ok(Self::from_model(&user))
    }

    pub fn from_model(user: &user::Model) -> Self {
        Self {
            user_id: user.id,
            role: user.role,
            team_id: user.team_id,
            scopes: user.scopes.split_whitespace().map(str::to_owned).collect(),
            client: None,
            hidden: crate::policy::HiddenFields::default(),
        }
    }
}

/// The viewer of a request or of a long-lived connection.
///
/// Over HTTP it simply holds the request's viewer. On a WebSocket connection
/// it is a session: the user as they are now, re-read when the feed reports a
/// change of that user (deactivation, role, team, scopes), and ended when the
/// user is deactivated (close code 4403) or the token expires (4401). Every
/// resolver and loader of the connection reads it through [`LiveViewer::get`],
/// and every event is checked through [`LiveViewer::refresh`] first.
#[derive(Clone)]
pub struct LiveViewer {
    viewer: Arc<RwLock<Arc<Viewer>>>,
    session: Option<Arc<Session>>,
}

impl std::fmt::Debug for LiveViewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveViewer").field("viewer", &self.get()).finish()
    }
}

/// Why a connection's session ended, as a WebSocket close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The token expired: 4401.
    Expired,
    /// The user was deactivated: 4403.
    Deactivated,
    /// The API token was revoked or expired, or its account deactivated: 4403.
    Revoked,
}

impl Ended {
    pub fn close_code(self) -> u16 {
        match self {
            Self::Expired => 4401,
            Self::Deactivated | Self::Revoked => 4403,
        }
    }
}

/// What a connection's viewer needs to stay current.
struct Session {
    authenticator: Arc<crate::auth::Authenticator>,
    /// What the connection's token names, re-read at each refresh.
    subject: Subject,
    /// Users changed since the last refresh (from `crate::feed`).
    changes: tokio::sync::Mutex<tokio::sync::broadcast::Receiver<crate::feed::UserChange>>,
    /// Unix time (seconds) at which the token expires.
    expires_at: i64,
    ended: std::sync::Mutex<Option<Ended>>,
    /// Woken when the session ends, so the connection closes at once.
    ended_signal: tokio::sync::Notify,
}

impl LiveViewer {
    pub fn new(viewer: Viewer) -> Self {
        Self { viewer: Arc::new(RwLock::new(Arc::new(viewer))), session: None }
    }

    /// A connection's viewer, kept current by `changes` until the token expires.
    pub fn session(
        viewer: Viewer,
        subject: Subject,
        authenticator: Arc<crate::auth::Authenticator>,
        changes: tokio::sync::broadcast::Receiver<crate::feed::UserChange>,
        expires_at: i64,
    ) -> Self {
        let session = Session {
            subject,
            authenticator,
            changes: tokio::sync::Mutex::new(changes),
            expires_at,
            ended: std::sync::Mutex::new(None),
            ended_signal: tokio::sync::Notify::new(),
        };
        Self { viewer: Arc::new(RwLock::new(Arc::new(viewer))), session: Some(Arc::new(session)) }
    }

    /// The viewer as last known.
    pub fn get(&self) -> Arc<Viewer> {
        self.viewer.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, mut viewer: Viewer) {
        let mut slot = self.viewer.write().unwrap_or_else(|p| p.into_inner());
        viewer.client = viewer.client.or_else(|| slot.client.clone());
        *slot = Arc::new(viewer);
    }

    /// Why the session ended, if it did.
    pub fn ended(&self) -> Option<Ended> {
        let session = self.session.as_ref()?;
        *session.ended.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn end(&self, why: Ended) -> Ended {
        if let Some(session) = &self.session {
            let mut ended = session.ended.lock().unwrap_or_else(|p| p.into_inner());
            let why = *ended.get_or_insert(why);
            session.ended_signal.notify_waiters();
            session.ended_signal.notify_one();
            return why;
        }
        why
    }

    /// Resolves when the session ends (never over HTTP).
    pub async fn until_ended(&self) -> Ended {
        let Some(session) = &self.session else { return std::future::pending().await };
        loop {
            let notified = session.ended_signal.notified();
            if let Some(why) = self.ended() {
                return why;
            }
            notified.await;
        }
    }

    /// The viewer as they are now: ends the session when the token has
    /// expired, and re-reads the user when a change of theirs was announced
    /// (ending the session when they were deactivated).
    pub async fn refresh(&self) -> Result<Arc<Viewer>, Ended> {
        let Some(session) = &self.session else { return Ok(self.get()) };
        if let Some(why) = self.ended() {
            return Err(why);
        }
        if chrono::Utc::now().timestamp() >= session.expires_at {
            return Err(self.end(Ended::Expired));
        }
        let user_id = self.get().user_id;
        let changed = {
            let mut changes = session.changes.lock().await;
            let mut changed = false;
            loop {
                match changes.try_recv() {
                    Ok(change) => changed |= change.concerns(user_id),
                    Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => changed = true,
                    Err(_) => break,
                }
            }
            changed
        };
        if changed {
            self.reload().await?;
        }
        Ok(self.get())
    }

    /// Re-reads the user from the database (every operation started on a
    /// connection does): ends the session when they are no longer active.
    pub async fn reload(&self) -> Result<Arc<Viewer>, Ended> {
        let Some(session) = &self.session else { return Ok(self.get()) };
        if let Some(why) = self.ended() {
            return Err(why);
        }
        if chrono::Utc::now().timestamp() >= session.expires_at {
            return Err(self.end(Ended::Expired));
        }
        let user_id = self.get().user_id;
        match session.authenticator.reload(&session.subject, user_id).await {
            Ok(viewer) => {
                self.set(viewer);
                Ok(self.get())
            }
            Err(crate::error::AppError::Unauthenticated(_)) => {
                let why = match session.subject {
                    Subject::ApiToken(_) => Ended::Revoked,
                    _ => Ended::Deactivated,
                };
                Err(self.end(why))
            }
            // A database hiccup is not a deactivation: keep the last known viewer.
            Err(err) => {
                tracing::warn!(error = %err, user_id, "re-reading a connection's user failed");
                Ok(self.get())
            }
        }
    }

    /// Unix time at which the token expires (connections only).
    pub fn expires_at(&self) -> Option<i64> {
        self.session.as_ref().map(|s| s.expires_at)
    }

    /// Marks the session expired (the connection's timer calls it).
    pub fn expire(&self) -> Ended {
        self.end(Ended::Expired)
    }
}
