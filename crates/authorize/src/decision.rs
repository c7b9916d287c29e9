//! What to do with a valid authorization request, decided in one pure function: sign in,
//! ask for consent, issue a code, or answer the client with an error. The HTTP layer maps
//! each outcome to a page or a redirect, so the policy is tested without HTTP.

use gatehouse_core::Scopes;

use crate::request::AuthorizationRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Login,
    Consent,
    Issue,
    /// `prompt=none` forbids the page the request needs: an error for the client.
    Error(InteractionRequired),
}

/// The OpenID Connect errors for a request that needs a page `prompt=none` forbids
/// (OIDC Core §3.1.2.6). Gatehouse holds one account per session, so it never needs
/// `account_selection_required`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionRequired {
    /// The user must sign in (`login_required`).
    LoginRequired,
    /// The user must consent (`consent_required`).
    ConsentRequired,
}

impl InteractionRequired {
    /// The `error` code sent to the client.
    pub fn code(self) -> &'static str {
        match self {
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
        }
    }

    /// The `error_description` sent with it.
    pub fn description(self) -> &'static str {
        match self {
            Self::LoginRequired => "the user must sign in, but prompt=none forbids showing a page",
            Self::ConsentRequired => {
                "the user must consent, but prompt=none forbids showing a page"
            }
        }
    }
}

/// Everything besides the request that the decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The signed-in user and when they authenticated.
    pub session: Option<(&'a str, i64)>,
    /// Scopes this user already consented to for this client.
    pub consented: Option<&'a Scopes>,
    /// The user signed in while this very request was pending.
    pub logged_in_for_request: bool,
    /// The user answered the consent page for this very request.
    pub consented_for_request: bool,
    pub now: i64,
}

pub fn decide(req: &AuthorizationRequest, ctx: Context<'_>) -> Outcome {
    let needs_login = match ctx.session {
        None => true,
        Some((user, auth_time)) => {
            // prompt=login asks to authenticate again, and max_age for an authentication
            // recent enough (OIDC Core §3.1.2.1): a sign-in made for this very request
            // satisfies both, however long consent then took.
            let stale = req.prompt.login || req.max_age.is_some_and(|m| ctx.now - auth_time > m);
            (stale && !ctx.logged_in_for_request)
                // id_token_hint names another user: that user must sign in.
                || req.hint_sub.as_deref().is_some_and(|s| s != user)
        }
    };
    if needs_login {
        return if req.prompt.none {
            Outcome::Error(InteractionRequired::LoginRequired)
        } else {
            Outcome::Login
        };
    }
    let covered = ctx.consented.is_some_and(|c| req.scopes.is_subset(c));
    let needs_consent = !ctx.consented_for_request && (req.prompt.consent || !covered);
    if needs_consent {
        return if req.prompt.none {
            Outcome::Error(InteractionRequired::ConsentRequired)
        } else {
            Outcome::Consent
        };
    }
    Outcome::Issue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Prompt;

    fn request(prompt: Prompt, max_age: Option<i64>, scope: &str) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://c.example/cb".into(),
            redirect_uri_sent: true,
            scopes: Scopes::parse(scope).unwrap(),
            state: None,
            nonce: None,
            pkce_challenge: None,
            prompt,
            max_age,
            login_hint: None,
            hint_sub: None,
            response_mode: Default::default(),
        }
    }

    const NONE: Prompt = Prompt {
        none: true,
        login: false,
        consent: false,
    };
    const LOGIN: Prompt = Prompt {
        none: false,
        login: true,
        consent: false,
    };
    const CONSENT: Prompt = Prompt {
        none: false,
        login: false,
        consent: true,
    };
    const DEFAULT: Prompt = Prompt {
        none: false,
        login: false,
        consent: false,
    };

    fn check(
        req: &AuthorizationRequest,
        session: Option<(&str, i64)>,
        consented: Option<&str>,
        flags: (bool, bool),
        expected: Outcome,
    ) {
        let consented = consented.map(|c| Scopes::parse(c).unwrap());
        let ctx = Context {
            session,
            consented: consented.as_ref(),
            logged_in_for_request: flags.0,
            consented_for_request: flags.1,
            now: 1000,
        };
        assert_eq!(
            decide(req, ctx),
            expected,
            "{req:?} {session:?} {consented:?} {flags:?}"
        );
    }

    #[test]
    fn the_decision_table() {
        let user = Some(("u", 900));
        let plain = request(DEFAULT, None, "openid email");
        check(&plain, None, None, (false, false), Outcome::Login);
        check(&plain, user, None, (false, false), Outcome::Consent);
        check(
            &plain,
            user,
            Some("openid"),
            (false, false),
            Outcome::Consent,
        );
        check(
            &plain,
            user,
            Some("openid email profile"),
            (false, false),
            Outcome::Issue,
        );
        check(&plain, user, None, (false, true), Outcome::Issue);

        let none = request(NONE, None, "openid");
        check(
            &none,
            None,
            None,
            (false, false),
            Outcome::Error(InteractionRequired::LoginRequired),
        );
        check(
            &none,
            user,
            None,
            (false, false),
            Outcome::Error(InteractionRequired::ConsentRequired),
        );
        check(&none, user, Some("openid"), (false, false), Outcome::Issue);

        let login = request(LOGIN, None, "openid");
        check(&login, user, Some("openid"), (false, false), Outcome::Login);
        check(&login, user, Some("openid"), (true, false), Outcome::Issue);

        let consent = request(CONSENT, None, "openid");
        check(
            &consent,
            user,
            Some("openid"),
            (false, false),
            Outcome::Consent,
        );
        check(
            &consent,
            user,
            Some("openid"),
            (false, true),
            Outcome::Issue,
        );

        let fresh = request(DEFAULT, Some(60), "openid");
        check(
            &fresh,
            Some(("u", 900)),
            Some("openid"),
            (false, false),
            Outcome::Login,
        );
        check(
            &fresh,
            Some(("u", 950)),
            Some("openid"),
            (false, false),
            Outcome::Issue,
        );
        // A sign-in made for this request satisfies max_age even if consent took longer.
        check(
            &fresh,
            Some(("u", 900)),
            Some("openid"),
            (true, false),
            Outcome::Issue,
        );

        let mut hinted = request(DEFAULT, None, "openid");
        hinted.hint_sub = Some("other".into());
        check(
            &hinted,
            user,
            Some("openid"),
            (false, false),
            Outcome::Login,
        );
        hinted.prompt = NONE;
        check(
            &hinted,
            user,
            Some("openid"),
            (false, false),
            Outcome::Error(InteractionRequired::LoginRequired),
        );
    }
}
