//! Who may call the oxd API: oxd's `bind_ip_addresses` (Gatehouse key `oxd_bind_ip_addresses`).

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerAllowList {
    /// Empty setting: only this machine (127.0.0.1 and ::1).
    Loopback,
    /// `*`: anyone.
    Anyone,
    /// Exactly these addresses.
    Only(Vec<IpAddr>),
}

impl CallerAllowList {
    /// Parses a comma- or space-separated list of addresses, `*`, or nothing.
    pub fn parse(setting: &str) -> Result<Self, String> {
        let entries: Vec<&str> =
            setting.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).collect();
        if entries.is_empty() {
            return Ok(CallerAllowList::Loopback);
        }
        if entries == ["*"] {
            return Ok(CallerAllowList::Anyone);
        }
        entries
            .iter()
            .map(|entry| entry.parse::<IpAddr>().map_err(|_| format!("'{entry}' is not an IP address")))
            .collect::<Result<_, _>>()
            .map(CallerAllowList::Only)
    }

    pub fn allows(&self, caller: IpAddr) -> bool {
        // A dual-stack listener reports IPv4 callers as ::ffff:a.b.c.d.
        let caller = caller.to_canonical();
        match self {
            CallerAllowList::Loopback => {
                caller == IpAddr::from([127, 0, 0, 1]) || caller == IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
            }
            CallerAllowList::Anyone => true,
            CallerAllowList::Only(addresses) => addresses.contains(&caller),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_loopback_only() {
        let list = CallerAllowList::parse(" ").unwrap();
        assert!(list.allows("127.0.0.1".parse().unwrap()));
        assert!(list.allows("::ffff:127.0.0.1".parse().unwrap()));
        assert!(list.allows("::1".parse().unwrap()));
        assert!(!list.allows("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn explicit_lists_and_star() {
        let list = CallerAllowList::parse("10.0.0.1, 10.0.0.2").unwrap();
        assert!(list.allows("10.0.0.2".parse().unwrap()));
        assert!(!list.allows("127.0.0.1".parse().unwrap()));
        assert!(CallerAllowList::parse("*").unwrap().allows("203.0.113.9".parse().unwrap()));
        assert!(CallerAllowList::parse("10.0.0.300").unwrap_err().contains("10.0.0.300"));
    }
}
