//! JWT bearer tokens: HS256 tokens Rapport signs itself, and optionally RS256
//! tokens of an external identity provider (verified with its public key).
//!
//! The algorithm decides the key: an HS256 token is checked only against the
//! secret and an RS256 token only against the public key, so `alg: none` and
//! HS/RS confusion (an HMAC made with the public key) both fail.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Issuer and audience of the tokens Rapport signs.
pub const ISSUER: &str = "rapport";
pub const AUDIENCE: &str = "rapport-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id (Rapport's tokens) or the provider's subject.
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Provider tokens name the user by e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An external identity provider whose RS256 tokens are accepted.
#[derive(Clone)]
pub struct IdentityProvider {
    pub key: DecodingKey,
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProvider").field("issuer", &self.issuer).field("audience", &self.audience).finish()
    }
}

impl IdentityProvider {
    pub fn from_pem(pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        Ok(Self {
            key: DecodingKey::from_rsa_pem(pem.as_bytes())?,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }
}

/// Who a valid token names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    UserId(i64),
    Email(String),
    /// An API token, by its SHA-256 (never cached: see `crate::auth::api_tokens`).
    ApiToken(String),
}

/// A token that passed every check: who it names and until when it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub subject: Subject,
    /// Unix time (seconds) at which the token stops being valid.
    pub expires_at: i64,
}

/// Signs and verifies tokens.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    provider: Option<IdentityProvider>,
}

fn rejected(e: impl std::fmt::Display) -> AppError {
    AppError::Unauthenticated(format!("invalid token: {e}"))
}

impl TokenService {
    pub fn new(secret: &str, ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            ttl,
            provider: None,
        }
    }

    #[must_use]
    pub fn with_provider(mut self, provider: Option<IdentityProvider>) -> Self {
        self.provider = provider;
        self
    }

    /// A signed token for the user, valid for the configured lifetime.
    pub fn issue(&self, user_id: i64) -> AppResult<String> {
        self.issue_for(user_id, self.ttl)
    }

    pub fn issue_for(&self, user_id: i64, ttl: Duration) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user_id.to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + ttl,
            email: None,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing token: {e}")))
    }

    /// The subject and expiry of a valid token; anything else is UNAUTHENTICATED.
    pub fn verify(&self, token: &str) -> AppResult<Verified> {
        let header = decode_header(token).map_err(rejected)?;
        let validation = |alg: Algorithm, issuer: &str, audience: &str| {
            let mut validation = Validation::new(alg);
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = 30;
            validation
        };
        match (header.alg, &self.provider) {
            (Algorithm::HS256, _) => {
                let data = decode::<Claims>(token, &self.decoding, &validation(Algorithm::HS256, ISSUER, AUDIENCE))
                    .map_err(rejected)?;
                let subject = data.claims.sub.parse().map(Subject::UserId).map_err(|_| rejected("bad subject"))?;
                Ok(Verified { subject, expires_at: data.claims.exp })
            }
            (Algorithm::RS256, Some(provider)) => {
                let rules = validation(Algorithm::RS256, &provider.issuer, &provider.audience);
                let data = decode::<Claims>(token, &provider.key, &rules).map_err(rejected)?;
                let email = data.claims.email.ok_or_else(|| rejected("no email claim"))?;
                Ok(Verified { subject: Subject::Email(email.to_lowercase()), expires_at: data.claims.exp })
            }
            (alg, _) => Err(rejected(format!("{alg:?} tokens are not accepted"))),
        }
    }
}
