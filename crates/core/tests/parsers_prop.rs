//! Property tests of the pure parsers that read untrusted input: none may panic, and each
//! keeps its promise on any input. `PROPTEST_CASES=100000 cargo test -p gatehouse-core
//! --test parsers_prop` runs them longer.

use gatehouse_core::{Params, Scopes, device, net, redirect, user};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    // Bounded in CI; `PROPTEST_CASES` raises it on demand.
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(512),
        ..ProptestConfig::default()
    }
}

/// Bytes that look like what clients send: form syntax, percent escapes, UTF-8 and junk.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b'&'),
            Just(b'='),
            Just(b'%'),
            Just(b'+'),
            any::<u8>(),
            prop::sample::select(b"abcdefghijklmnopqrstuvwxyz_0123456789".to_vec()),
        ],
        0..512,
    )
}

proptest! {
    #![proptest_config(config())]

    /// RFC 6749 §3.1: the form parser never panics; a repeated name is seen as repeated,
    /// and an empty value is absent.
    #[test]
    fn form_parsing_never_panics(body in form_bytes()) {
        let p = Params::parse(&body);
        let _ = p.first_duplicated();
        // A body sent twice repeats every name it has.
        let mut twice = body.clone();
        twice.push(b'&');
        twice.extend_from_slice(&body);
        if p.first_duplicated().is_none() && p.get("a").is_some() {
            prop_assert!(Params::parse(&twice).first_duplicated().is_some());
        }
    }

    #[test]
    fn empty_values_are_absent(name in "[a-z_]{1,12}") {
        let p = Params::parse(format!("{name}=").as_bytes());
        prop_assert_eq!(p.get(&name), None);
    }

    /// Scope strings: parsing never panics, and what parses prints back to itself.
    #[test]
    fn scopes_round_trip(s in "\\PC{0,200}") {
        if let Ok(scopes) = Scopes::parse(&s) {
            let again = Scopes::parse(&scopes.to_string()).unwrap();
            prop_assert_eq!(again, scopes);
        }
    }

    /// Redirect URIs: a URI matches a registered one only if it is that one, byte for byte
    /// (RFC 9700 §4.1.3), save the loopback port of native clients (RFC 8252 §7.3).
    #[test]
    fn redirect_matching_is_exact(registered in "https://[a-z]{1,8}\\.example(/[a-z]{0,6}){0,2}", suffix in "\\PC{1,16}") {
        let requested = format!("{registered}{suffix}");
        prop_assert!(!redirect::matches(&registered, &requested, gatehouse_core::ApplicationType::Web));
        prop_assert!(redirect::matches(&registered, &registered, gatehouse_core::ApplicationType::Web));
    }

    #[test]
    fn redirect_validation_never_panics(uri in "\\PC{0,300}") {
        let _ = redirect::validate_for_registration(&uri, gatehouse_core::ApplicationType::Web);
        let _ = redirect::validate_for_registration(&uri, gatehouse_core::ApplicationType::Native);
    }

    /// User codes (RFC 8628 §6.1): whatever is typed normalises to eight letters of the
    /// alphabet, or to nothing.
    #[test]
    fn user_codes_normalise_to_the_alphabet_or_nothing(typed in "\\PC{0,40}") {
        if let Some(code) = device::normalize_user_code(&typed) {
            prop_assert_eq!(code.len(), 8);
            prop_assert!(code.chars().all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)));
        }
    }

    /// Throttle keys: the address bucket of anything is short, and an IPv6 address always
    /// lands in its /64.
    #[test]
    fn address_buckets_are_bounded(s in "\\PC{0,200}", segs in prop::array::uniform8(any::<u16>())) {
        prop_assert!(net::address_bucket_of(&s).chars().count() <= 64);
        let a = std::net::Ipv6Addr::from(segs);
        let mut b = segs;
        b[7] = b[7].wrapping_add(1);
        let b = std::net::Ipv6Addr::from(b);
        prop_assert_eq!(
            net::address_bucket(a.into()),
            net::address_bucket(b.into())
        );
    }

    /// Usernames: normalisation never panics, is idempotent, and never keeps a format
    /// character.
    #[test]
    fn usernames_normalise_idempotently(s in "\\PC{0,80}") {
        if let Some(key) = user::username_key(&s) {
            prop_assert_eq!(user::username_key(&key), Some(key.clone()));
            prop_assert!(!user::has_format_chars(&key));
            let _ = user::username_skeleton(&key);
        }
    }
}
