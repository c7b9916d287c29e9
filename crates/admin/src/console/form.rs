//! What console forms and links carry: form fields, listing queries, notices.

use gatehouse_core::Query;

/// Rows of a console listing page.
pub const PAGE_SIZE: u64 = 25;

/// A submitted form: every pair in order, repeated names kept (checkbox groups).
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Control characters other than the line breaks and tabs a text area may hold.
    pub fn has_control_characters(&self) -> bool {
        self.0.iter().any(|(k, v)| {
            k.chars()
                .chain(v.chars())
                .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
        })
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The value of `name` trimmed, or `None` when blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name).trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// One value per line of a text area (blank lines ignored).
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Words separated by spaces or commas.
    pub fn words(&self, name: &str) -> Vec<String> {
        self.get(name)
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A whole number, when given.
    pub fn number(&self, name: &str) -> Result<Option<i64>, String> {
        match self.optional(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{name} must be a whole number")),
        }
    }

    /// Whether a checkbox or button `action` says to add (anything but `remove`).
    pub fn adds(&self) -> bool {
        self.get("action") != "remove"
    }
}

/// Notices are chosen by code, never echoed from the URL.
pub fn notice(query: Option<&str>) -> Option<String> {
    let params = gatehouse_core::Params::parse(query.unwrap_or("").as_bytes());
    let text = match params.get("notice")? {
        "saved" => "Saved.",
        "client-deleted" => "Client deleted.",
        "user-deleted" => "User deleted.",
        "disabled" => "User disabled: sessions ended and grants revoked.",
        "enabled" => "User enabled.",
        "password" => "Password changed: the user's sessions ended and grants were revoked.",
        "sessions" => "Sessions ended.",
        "grants" => "Grants revoked.",
        "role" => "Roles updated.",
        "group" => "Groups updated.",
        "deleted" => "Deleted.",
        "created" => "Created.",
        "rotated" => "New key published; it signs on every node after the lead time.",
        "resource-created" => "API registered.",
        "resource-deleted" => "API removed.",
        "resource-updated" => "API changed.",
        "signed-out" => "Signed out everywhere: every session ended and every grant revoked.",
        "withdrawn" => "Registration token withdrawn.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// `?search=&offset=` of a listing page.
pub fn listing_query(query: Option<&str>) -> Query {
    let params = gatehouse_core::Params::parse(query.unwrap_or("").as_bytes());
    Query {
        search: params
            .get("search")
            .map(|s| {
                s.trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
            .filter(|s| !s.is_empty()),
        offset: params
            .get("offset")
            .and_then(|o| o.parse().ok())
            .unwrap_or(0)
            .min(crate::ops::MAX_OFFSET),
        limit: PAGE_SIZE,
    }
}
