//! Sensitive console changes ask for the admin's password again when it was last entered
//! more than 15 minutes ago: a session left open is not enough.

use axum::http::StatusCode;
use gatehouse_authorize::browser::PageError;
use gatehouse_authorize::browser::password;
use gatehouse_authorize::browser::throttle::SignInKeys;

use super::form::FormData;
use crate::AdminState;
use crate::auth::Admin;

/// How long after the admin last typed their password the console asks for it again
/// before a sensitive change.
const REAUTH_SECS: i64 = 15 * 60;

/// A new signing key, a new administrator and a new client secret need the admin's
/// password again when it was last entered more than 15 minutes ago (a session left open
/// is not enough). The attempt counts against the account like a sign-in.
pub(super) async fn confirm_recent_password(
    state: &AdminState,
    admin: &Admin,
    form: &FormData,
) -> Result<(), PageError> {
    let Some(session) = &admin.session else {
        return Ok(());
    };
    let oidc = state.oidc();
    let now = oidc.now();
    if session.auth_time.is_some_and(|t| now - t <= REAUTH_SECS) {
        return Ok(());
    }
    let ask = |status: StatusCode, text: &'static str| {
        PageError::page(status, "Confirm with your password", text)
    };
    let typed = form.get("current_password");
    if typed.is_empty() {
        return Err(ask(
            StatusCode::FORBIDDEN,
            "You signed in more than 15 minutes ago: go back and enter your password with this change.",
        ));
    }
    let store = &oidc.store;
    let user = match &session.user_id {
        Some(id) => store.find_user(id).await?,
        None => None,
    };
    let creds = match user {
        Some(u) => store.find_user_credentials(&u.username).await?,
        None => None,
    };
    let Some((user, hash)) = creds else {
        return Err(ask(StatusCode::FORBIDDEN, "Sign in again."));
    };
    let account = gatehouse_core::user::username_key(&user.username)
        .unwrap_or_else(|| user.username.to_lowercase());
    let address = admin.actor.address.as_deref().unwrap_or("");
    let keys = SignInKeys::new(
        &account,
        &gatehouse_core::net::address_bucket_of(address),
        None,
    );
    if let gatehouse_storage::Attempt::Refused { .. } =
        store.count_attempt(&keys.refs(), now).await?
    {
        return Err(ask(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong passwords. Wait a moment and try again.",
        ));
    }
    let Some(permit) = state
        .authorize
        .hash_slots
        .acquire(std::time::Duration::from_secs(10))
        .await
    else {
        return Err(ask(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy; try again in a moment.",
        ));
    };
    let verified = password::verify(Some(hash), typed.to_owned()).await;
    drop(permit);
    if !verified {
        return Err(ask(
            StatusCode::FORBIDDEN,
            "That password is not right. Go back and try again.",
        ));
    }
    store.clear_attempts(&keys.clear).await?;
    store.forgive_attempt(&keys.refs(), now).await?;
    store.touch_session_auth(&session.id_hash, now).await?;
    Ok(())
}
