//! Client addresses as throttles count them.

use std::net::{IpAddr, Ipv6Addr};

/// The unit a per-address limit counts: an IPv4 address, or an IPv6 /64 network (one
/// subscriber usually holds a whole /64, so counting single IPv6 addresses would give an
/// attacker 2^64 fresh allowances). IPv4-mapped IPv6 addresses count as their IPv4 address.
pub fn address_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// [`address_bucket`] of an address as text; anything that is not an address counts as
/// itself, truncated (it can only come from the server's own fallback, e.g. `unknown`).
pub fn address_bucket_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(a) => address_bucket(a),
        Err(_) => ip.chars().take(64).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_64_and_ipv4_by_address() {
        let b = |s: &str| address_bucket_of(s);
        assert_eq!(b("203.0.113.7"), "203.0.113.7");
        assert_ne!(b("203.0.113.7"), b("203.0.113.8"));
        assert_eq!(b("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(b("2001:db8:1:2:ffff:1:2:3"), b("2001:db8:1:2::9"));
        assert_ne!(b("2001:db8:1:2::1"), b("2001:db8:1:3::1"));
        assert_eq!(b("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(b("unknown"), "unknown");
    }
}
