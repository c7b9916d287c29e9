//! What the administration crate may use of the browser side: the one door from
//! `gatehouse-admin` into this crate (ARCHITECTURE.md records the decision). The console
//! is a set of browser pages like sign-in and consent, so it shares their plumbing —
//! client addresses, sessions and cookies, CSRF, the page error type and the layer that
//! renders it, error pages and security headers,
//! password hashing and the sign-in throttle — rather than copying it. Everything else
//! in this crate is the authorization endpoint's own.

pub use crate::AuthorizeState;
pub use crate::error::{PageError, render_error_pages};
pub use gatehouse_oidc::net::ClientIp;

/// The error page and the security headers every browser page gets.
pub mod pages {
    pub use crate::pages::{add_security_headers, error_page};
}

/// argon2id hashing on the blocking pool (the policy is `gatehouse_core::password`).
pub mod password {
    pub use crate::password::{hash_async, verify};
}

/// The sign-in throttle, which also counts the console's password confirmations and
/// open registration.
pub mod throttle {
    pub use crate::throttle::{ADDRESS, SignInKeys};
}
