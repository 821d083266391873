//! Who is asking: bearer tokens and the per-request viewer.

pub mod jwt;
pub mod viewer;

pub use jwt::TokenService;
pub use viewer::Viewer;
