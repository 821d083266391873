//! Who is asking: bearer tokens, the viewer they name, and the one function
//! both transports use to turn an `Authorization` header into a viewer.

/// API tokens of service accounts.
pub mod api_tokens;
/// Turning `Bearer <token>` into a viewer, with a short-lived cache.
pub mod bearer;
/// Signing and verifying JWTs.
pub mod jwt;
/// The authenticated user of a request or connection.
pub mod viewer;

pub use bearer::Authenticator;
pub use jwt::TokenService;
pub use viewer::LiveViewer;
