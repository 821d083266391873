//! JWT bearer tokens (HS256). The algorithm is pinned, so `alg: none` and
//! algorithm-confusion tokens fail verification.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Issuer written into and required from every token.
pub const ISSUER: &str = "rapport";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and verifies tokens with the configured secret.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl TokenService {
    pub fn new(secret: &str, ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            ttl,
        }
    }

    /// A signed token for the user, valid for the configured lifetime.
    pub fn issue(&self, user_id: i64) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims { sub: user_id.to_string(), iss: ISSUER.to_owned(), iat: now, exp: now + ttl };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing token: {e}")))
    }

    /// The user id of a valid token; anything else is UNAUTHENTICATED.
    pub fn verify(&self, token: &str) -> AppResult<i64> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 30;
        let data = decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| AppError::Unauthenticated(format!("invalid token: {e}")))?;
        data.claims.sub.parse().map_err(|_| AppError::Unauthenticated("invalid token subject".to_owned()))
    }
}
