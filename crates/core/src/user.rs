//! End users who sign in at Gatehouse.

/// A user account. The password hash never leaves the storage and login code paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Does `email` look like an address (something@something, at most 254 bytes, no control
/// characters)? Deliverability is not checked; a typed address is never marked verified.
pub fn valid_email(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && crate::is_plain_text(email, 254)
}

/// Is `username` acceptable for a new account? 1 to 64 bytes, any Unicode letters, digits
/// and symbols the PRECIS IdentifierClass allows, without whitespace, control or format
/// characters (it appears in logs, pages and the command line).
pub fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= 64
        && !username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_format_char(c))
        && username_key(username).is_some()
}
/// Is `c` a Unicode format character (general category Cf): bidirectional controls and
/// overrides, zero-width characters, invisible operators, tags? Such characters make two
/// names that look alike compare different, or reorder what a page shows.
pub fn is_format_char(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
}

/// Does `text` contain a format character (see [`is_format_char`])?
pub fn has_format_chars(text: &str) -> bool {
    text.chars().any(is_format_char)
}

/// The form usernames are compared and stored in: the PRECIS UsernameCaseMapped profile
/// (RFC 8265 §3.2: width mapping, case folding, NFC, the IdentifierClass of RFC 8264, and
/// the bidi rule). `None` if the name cannot be a username under that profile, or if its
/// key would not be a username itself: the key is what is stored and compared, so it must
/// be its own key (case folding maps a few letters, Cherokee capitals among them, to
/// letters the profile then refuses).
pub fn username_key(username: &str) -> Option<String> {
    use precis_core::profile::PrecisFastInvocation;
    if username.len() > 256 || has_format_chars(username) {
        return None;
    }
    let key = precis_profiles::UsernameCaseMapped::enforce(username).ok()?;
    let again = precis_profiles::UsernameCaseMapped::enforce(key.as_ref()).ok()?;
    (again == key).then(|| key.into_owned())
}

/// The confusable skeleton of a username key (Unicode TS #39 §4): two names with the same
/// skeleton look alike (a Cyrillic `а` for a Latin `a`, `rn` for `m`).
pub fn username_skeleton(key: &str) -> String {
    unicode_security::confusable_detection::skeleton(key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_whose_key_is_no_username_is_refused() {
        // U+13A0 CHEROKEE LETTER A folds to U+AB70, which the profile refuses: the name
        // cannot be stored in a form that compares equal to itself.
        assert_eq!(username_key("\u{13A0}"), None);
        assert_eq!(username_key("\u{AB70}"), None);
    }

    #[test]
    fn usernames_compare_in_one_normalised_form() {
        // Case, width and composition do not make a different name (RFC 8265 §3.2).
        let key = username_key("Alice").unwrap();
        assert_eq!(key, "alice");
        assert_eq!(username_key("ＡＬＩＣＥ").unwrap(), key);
        assert_eq!(
            username_key("ZOË").unwrap(),
            username_key("zoe\u{308}").unwrap()
        );
        // Format characters never: bidi overrides, zero-width characters.
        for bad in [
            "ad\u{202E}nim",
            "ad\u{200B}min",
            "\u{FEFF}admin",
            "adm\u{2066}in",
            "",
        ] {
            assert!(username_key(bad).is_none(), "{bad:?}");
            assert!(!valid_username(bad), "{bad:?}");
        }
        assert!(valid_username("zoë") && valid_username("a.b-c_d") && valid_username("用户"));
    }

    #[test]
    fn look_alikes_share_a_skeleton() {
        let latin = username_skeleton(&username_key("admin").unwrap());
        // Cyrillic а, and "rn" for "m".
        assert_eq!(
            username_skeleton(&username_key("\u{0430}dmin").unwrap()),
            latin
        );
        assert_eq!(username_skeleton(&username_key("adrnin").unwrap()), latin);
        assert_ne!(username_skeleton(&username_key("admins").unwrap()), latin);
    }

    #[test]
    fn emails_need_both_halves_and_plain_text() {
        assert!(valid_email("ana@example.com"));
        for bad in [
            "ana",
            "@example.com",
            "ana@",
            "a\u{0}@x",
            &format!("{}@x", "a".repeat(253)),
        ] {
            assert!(!valid_email(bad), "{bad:?}");
        }
    }
}
