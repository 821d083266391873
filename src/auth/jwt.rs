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

pub use crate::config::IdentityProvider;

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

fn rejected(reason: &str) -> AppError {
    AppError::Unauthenticated(format!("the token was refused: {reason}"))
}

/// Why a token failed, in words a client can act on; the library's own text
/// (base64 offsets, serde messages, variant names) says nothing useful and
/// tells an attacker which check came first.
fn refused(err: jsonwebtoken::errors::Error) -> AppError {
    use jsonwebtoken::errors::ErrorKind;
    rejected(match err.kind() {
        ErrorKind::ExpiredSignature => "it has expired; sign in again or refresh it",
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)",
        ErrorKind::InvalidSignature => "its signature does not match",
        ErrorKind::InvalidIssuer => "it was issued by someone else (iss)",
        ErrorKind::InvalidAudience => "it is meant for another audience (aud)",
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) | ErrorKind::InvalidSubject => {
            "its claims are missing or malformed (exp, iss, aud and sub are required)"
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
            "its algorithm is not accepted (HS256, or RS256 from the configured identity provider)"
        }
        ErrorKind::Json(_) if is_header_algorithm_error(&err) => {
            "its algorithm is not accepted (HS256, or RS256 from the configured identity provider)"
        }
        _ => "it is not a well-formed JWT (three base64url parts separated by dots)",
    })
}

/// `alg: none` and other unknown algorithms fail while the header is read.
fn is_header_algorithm_error(err: &jsonwebtoken::errors::Error) -> bool {
    err.to_string().contains("unknown variant")
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
        let header = decode_header(token).map_err(refused)?;
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
                    .map_err(refused)?;
                let subject = data
                    .claims
                    .sub
                    .parse()
                    .map(Subject::UserId)
                    .map_err(|_| rejected("its subject is not a user of this server"))?;
                Ok(Verified { subject, expires_at: data.claims.exp })
            }
            (Algorithm::RS256, Some(provider)) => {
                let rules = validation(Algorithm::RS256, &provider.issuer, &provider.audience);
                let data = decode::<Claims>(token, &provider.key, &rules).map_err(refused)?;
                let email =
                    data.claims.email.ok_or_else(|| rejected("it names no user (an email claim is required)"))?;
                Ok(Verified { subject: Subject::Email(email.to_lowercase()), expires_at: data.claims.exp })
            }
            (_, _) => {
                Err(rejected("its algorithm is not accepted (HS256, or RS256 from the configured identity provider)"))
            }
        }
    }
}
