//! Gatehouse's domain: the types and pure rules of OAuth 2.0 and OpenID Connect that
//! every other crate shares. Nothing here performs I/O; time and randomness come in
//! through [`Clock`] and the functions of [`secret`].

pub mod client;
pub mod clock;
pub mod grant;
pub mod params;
pub mod pkce;
pub mod redirect;
pub mod scope;
pub mod secret;
pub mod session;
pub mod user;

pub use client::{ApplicationType, Client, ClientAuthMethod, GrantType, NewClient};
pub use clock::{Clock, ManualClock, SystemClock};
pub use grant::{AuthorizationCode, Grant};
pub use params::Params;
pub use scope::Scopes;
pub use session::BrowserSession;
pub use user::User;

/// Lifetime of an authorization code: RFC 9700 §4.5 and ASVS 10.4.3 ask for one minute.
pub const AUTHORIZATION_CODE_TTL_SECS: i64 = 60;
