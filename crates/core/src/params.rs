//! Form and query parameters as RFC 6749 §3.1 reads them: an empty value counts as absent,
//! unknown parameters are ignored, and none may appear more than once.

use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    duplicated: Vec<String>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a query string or a form body).
    pub fn parse(raw: &[u8]) -> Self {
        let mut params = Self::default();
        params.extend(raw);
        params
    }

    /// Adds more pairs, so a parameter split between query and body counts as duplicated.
    pub fn extend(&mut self, raw: &[u8]) {
        for (k, v) in form_urlencoded::parse(raw) {
            if v.is_empty() {
                continue;
            }
            if self.values.contains_key(k.as_ref()) {
                if !self.duplicated.iter().any(|d| d == k.as_ref()) {
                    self.duplicated.push(k.into_owned());
                }
            } else {
                self.values.insert(k.into_owned(), v.into_owned());
            }
        }
    }

    /// The value of `name`, unless absent, empty, or sent more than once.
    pub fn get(&self, name: &str) -> Option<&str> {
        if self.is_duplicated(name) {
            return None;
        }
        self.values.get(name).map(String::as_str)
    }

    pub fn is_duplicated(&self, name: &str) -> bool {
        self.duplicated.iter().any(|d| d == name)
    }

    /// The first parameter that was sent more than once, if any.
    pub fn first_duplicated(&self) -> Option<&str> {
        self.duplicated.first().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_absent_and_dupes_are_seen() {
        let mut p = Params::parse(b"a=1&b=&c=x&c=y&d=%20");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), None);
        assert!(p.is_duplicated("c"));
        assert_eq!(p.get("d"), Some(" "));
        p.extend(b"a=2");
        assert!(p.is_duplicated("a"));
        assert_eq!(p.first_duplicated(), Some("c"));
    }
}
