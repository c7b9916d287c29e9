//! Administration: the operations an administrator can run ([`ops`]), and the three ways
//! to run them, which are thin adapters over those operations: the admin API under
//! `/admin/api` ([`api`], with its OpenAPI document), the console under `/admin`
//! ([`console`]), and the command line (in the server crate). Also dynamic client
//! registration (RFC 7591) and its management protocol (RFC 7592), for developers.

// Handlers return early with a finished `Response` as the error; boxing it would only add
// noise on a path taken once per refused request.
#![allow(clippy::result_large_err)]

pub mod api;
mod auth;
pub mod console;
pub mod ops;
mod registration;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use gatehouse_authorize::browser::AuthorizeState;
use gatehouse_oidc::Oidc;

#[derive(Clone)]
pub struct AdminState {
    /// Sessions, sign-in and client addresses, shared with the sign-in pages (and through
    /// them the store, keys and clock).
    pub authorize: AuthorizeState,
    /// Anyone may register a client without an initial access token.
    pub open_registration: bool,
    /// What a dynamically registered client may ask for (an initial access token may
    /// allow more).
    pub registration_policy: gatehouse_core::client::RegistrationPolicy,
}

impl AdminState {
    pub fn oidc(&self) -> &Oidc {
        &self.authorize.oidc
    }
}

impl FromRef<AdminState> for Oidc {
    fn from_ref(state: &AdminState) -> Self {
        state.authorize.oidc.clone()
    }
}

impl FromRef<AdminState> for AuthorizeState {
    fn from_ref(state: &AdminState) -> Self {
        state.authorize.clone()
    }
}

pub fn routes(state: AdminState) -> Router {
    Router::new()
        .merge(api::router(state.clone()))
        .merge(console::router(state.clone()))
        .route("/register", post(registration::register))
        .route(
            "/register/{client_id}",
            get(registration::read)
                .put(registration::update)
                .delete(registration::delete),
        )
        .with_state(state)
}
