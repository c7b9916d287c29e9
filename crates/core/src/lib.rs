//! Gatehouse's domain: the types and pure rules of OAuth 2.0 and OpenID Connect that
//! every other crate shares. Nothing here performs I/O; time and randomness come in
//! through [`Clock`] and the functions of [`secret`].

pub mod access;
pub mod client;
pub mod clock;
pub mod device;
pub mod grant;
pub mod net;
pub mod params;
pub mod password;
pub mod pkce;
pub mod redirect;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod session;
pub mod user;

pub use access::{Actor, Audit, AuditEntry, Group, Listing, Query, Role, SubjectKind};
pub use client::{
    AccessTokenFormat, ApplicationType, Client, ClientAuthMethod, ClientLinks, GrantType, NewClient,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use grant::{
    AuthorizationCode, DeviceAuthorization, DeviceStatus, Grant, OpaqueAccessToken, RefreshToken,
};
pub use params::Params;
pub use resource::Resource;
pub use scope::Scopes;
pub use session::BrowserSession;
pub use user::User;

/// Lifetime of an authorization code: RFC 9700 §4.5 and ASVS 10.4.3 ask for one minute.
pub const AUTHORIZATION_CODE_TTL_SECS: i64 = 60;

/// Free text an administrator or a registering developer types (a client name, a user's
/// name, a description): at most `max_bytes`, no control characters and no format
/// characters (a bidi override in a client name would make the consent page lie). It is shown on pages
/// and written to the database as typed, and PostgreSQL refuses NUL outright.
pub fn is_plain_text(value: &str, max_bytes: usize) -> bool {
    value.len() <= max_bytes
        && !value
            .chars()
            .any(|c| c.is_control() || user::is_format_char(c))
}

/// An `error_description` as RFC 6749 §4.1.2.1 and §5.2 allow it: printable ASCII without
/// `"` and `\`. Section signs in RFC citations become the word; anything else outside the
/// set becomes `?`, so no description can carry a quote, an escape or a control character
/// into a URL or a JSON body.
pub fn error_description(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{a7}' => out.push_str("section "),
            '"' => out.push('\''),
            '\\' => out.push('/'),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.replace("section  ", "section ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_descriptions_stay_in_the_rfc_6749_character_set() {
        let d = super::error_description("bad \"x\\y\" (RFC 6749 \u{a7}3.3) caf\u{e9}\n");
        assert_eq!(d, "bad 'x/y' (RFC 6749 section 3.3) caf??");
        assert!(
            d.chars()
                .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        );
    }
}
