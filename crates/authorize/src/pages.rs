//! Server-rendered pages (askama, auto-escaped) and the headers every page carries.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub issuer: &'a str,
    pub csrf_token: &'a str,
    pub request_id: Option<&'a str>,
    /// Signing in on the way to `/device`: the user code typed so far, or `-`.
    pub device: Option<&'a str>,
    pub next: Option<&'a str>,
    /// Self-service sign-up is open: link to it.
    pub signup: bool,
    pub client_name: Option<&'a str>,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage<'a> {
    pub issuer: &'a str,
    pub csrf_token: &'a str,
    pub request_id: Option<&'a str>,
    pub username: &'a str,
    pub email: &'a str,
    pub min_chars: usize,
    pub error: Option<&'a str>,
}

pub struct ScopeLine {
    pub name: String,
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub issuer: &'a str,
    pub csrf_token: &'a str,
    pub request_id: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub redirect_host: &'a str,
    pub scopes: Vec<ScopeLine>,
    /// What the client registered about itself (RFC 7591 §2).
    pub logo_uri: Option<&'a str>,
    pub policy_uri: Option<&'a str>,
    pub tos_uri: Option<&'a str>,
}

/// Put on a response whose page shows an image from another origin (a client's logo):
/// the Content-Security-Policy then allows images from that one origin as well.
#[derive(Debug, Clone)]
pub struct ImageOrigin(pub String);

/// Set on a page whose form can end, through the server's redirects, at a client's
/// redirect URI (sign-in, sign-up and consent for a pending request; the logout
/// confirmation): browsers apply `form-action` to the whole redirect chain, so the policy
/// admits that one origin (or private-use scheme) besides `'self'`.
#[derive(Debug, Clone)]
pub struct FormTarget(pub String);

/// Set on a page that runs one inline script of its own: the Content-Security-Policy
/// then allows exactly that script, by its hash (and no other script).
#[derive(Debug, Clone)]
pub struct ScriptHash(pub String);

/// The CSP source of an inline script: `'sha256-…'` of its text (CSP Level 3 §8.2).
pub fn script_hash(script: &str) -> String {
    // sha256_b64 is base64url without padding; CSP wants standard base64 with it.
    let b64: String = gatehouse_core::secret::sha256_b64(script.as_bytes())
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    format!("'sha256-{b64}='")
}

/// The form_post page's one script: submit the form as soon as the page loads.
pub const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// OAuth 2.0 Form Post Response Mode: the answer as hidden fields of a form that POSTs
/// itself to the redirect URI (a button does it without script).
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub issuer: &'a str,
    pub action: &'a str,
    pub fields: Vec<(String, String)>,
    pub script: &'static str,
}

/// The form_post answer for `action` (a registered redirect URI): its CSP admits the one
/// script by hash and a form to that URI's origin.
pub fn form_post(issuer: &str, action: &str, fields: Vec<(String, String)>) -> Response {
    let mut res = render(
        StatusCode::OK,
        &FormPostPage {
            issuer,
            action,
            fields,
            script: FORM_POST_SCRIPT,
        },
    );
    res.extensions_mut()
        .insert(ScriptHash(script_hash(FORM_POST_SCRIPT)));
    with_form_target(res, Some(action))
}

/// The CSP source that admits navigations to `uri`: its origin, or `scheme:` for a native
/// client's private-use scheme. Only values that cannot break out of the policy.
pub fn form_source(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    let source = match u.scheme() {
        "http" | "https" => u.origin().ascii_serialization(),
        scheme => format!("{scheme}:"),
    };
    source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._:/[]".contains(&b))
        .then_some(source)
}

/// `res` with its form target set from `uri` (see [`FormTarget`]).
pub fn with_form_target(mut res: Response, uri: Option<&str>) -> Response {
    if let Some(source) = uri.and_then(form_source) {
        res.extensions_mut().insert(FormTarget(source));
    }
    res
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub issuer: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

pub struct LogoutForm<'a> {
    pub csrf_token: &'a str,
    pub client_name: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub issuer: &'a str,
    pub confirm: Option<LogoutForm<'a>>,
    /// After signing out without a valid `id_token_hint`: the client's page, offered as a
    /// link rather than followed (anyone may have sent the request).
    pub continue_to: Option<ContinueLink<'a>>,
    /// How many sessions and grants "sign out everywhere" ended.
    pub everywhere: Option<(u64, u64)>,
}

pub struct ContinueLink<'a> {
    pub client_name: &'a str,
    pub uri: &'a str,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub issuer: &'a str,
    pub username: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device_enter.html")]
pub struct DeviceEnterPage<'a> {
    pub issuer: &'a str,
    pub csrf_token: &'a str,
    pub user_code: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device_approve.html")]
pub struct DeviceApprovePage<'a> {
    pub issuer: &'a str,
    pub csrf_token: &'a str,
    pub user_code: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub scopes: Vec<ScopeLine>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub issuer: &'a str,
    pub title: &'a str,
    pub text: &'a str,
}

/// The lines of a consent list for `scopes`.
pub fn scope_lines(scopes: &gatehouse_core::Scopes) -> Vec<ScopeLine> {
    scopes
        .iter()
        .map(|s| ScopeLine {
            name: s.to_owned(),
            description: describe_scope(s),
        })
        .collect()
}

pub const STYLESHEET: &str = include_str!("../../../templates/gatehouse.css");
pub const FAVICON: &str = include_str!("../../../templates/favicon.svg");

/// What each scope means, in words for the consent page.
pub fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "openid" => "confirm who you are",
        "profile" => "see your name and username",
        "email" => "see your email address",
        "offline_access" => "keep access while you are away",
        "roles" => "see the roles you hold",
        "groups" => "see the groups you belong to",
        _ => "an access right defined by the application",
    }
}

/// Renders a page with the given status.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn error_page(issuer: &str, status: StatusCode, title: &str, description: &str) -> Response {
    render(
        status,
        &ErrorPage {
            issuer,
            title,
            description,
        },
    )
}

/// Headers for every response of the browser-facing endpoints: no framing (RFC 9700 §4.16,
/// RFC 6749 §10.13), no referrer leaking codes or state (RFC 9700 §4.2.4), no assets from
/// other origins and no script at all, and no caching of pages that carry CSRF tokens.
pub fn add_security_headers(res: &mut Response) {
    let extra = res
        .extensions()
        .get::<ImageOrigin>()
        .map(|o| format!(" {}", o.0))
        .unwrap_or_default();
    let form_extra = res
        .extensions()
        .get::<FormTarget>()
        .map(|o| format!(" {}", o.0))
        .unwrap_or_default();
    let script = res
        .extensions()
        .get::<ScriptHash>()
        .map(|h| format!("; script-src {}", h.0))
        .unwrap_or_default();
    let csp = HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'self'; img-src 'self'{extra}; base-uri 'none'; form-action 'self'{form_extra}; frame-ancestors 'none'{script}"
    ))
    .unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        )
    });
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod form_source_tests {
    use super::form_source;

    #[test]
    fn a_script_hash_is_standard_base64_of_sha256() {
        // printf %s 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            super::script_hash("alert(1)"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
    }

    #[test]
    fn only_an_origin_or_a_scheme_enters_the_policy() {
        assert_eq!(
            form_source("https://app.example/cb?x=1").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            form_source("http://127.0.0.1:8000/cb").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            form_source("com.example.app:/cb").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(form_source("not a uri"), None);
    }
}
