//! `ip-restriction` (`proxy.md` §12.3).

use std::net::IpAddr;

use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::{Access, Flow, Plugin, RequestCtx, settings};
use crate::errors::negotiated_error;
use crate::model::typedefs::parse_ip_or_cidr;

#[derive(Deserialize)]
struct Settings {
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
    status: Option<u16>,
    message: Option<String>,
}

pub struct IpRestriction {
    allow: Vec<Block>,
    deny: Vec<Block>,
    status: StatusCode,
    message: String,
}

/// An address block: the network address and its prefix length.
#[derive(Debug, Clone, Copy)]
struct Block {
    network: IpAddr,
    bits: u8,
}

impl Block {
    fn parse(text: &str) -> Result<Block, String> {
        let (network, bits) = parse_ip_or_cidr(text).ok_or_else(|| format!("invalid ip or cidr range: '{text}'"))?;
        Ok(Block { network, bits })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen on an IPv6 socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.bits)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl IpRestriction {
    pub fn new(config: &Value) -> Result<IpRestriction, String> {
        let settings: Settings = settings(config)?;
        let blocks = |list: Option<Vec<String>>| -> Result<Vec<Block>, String> {
            list.unwrap_or_default().iter().map(|text| Block::parse(text)).collect()
        };
        Ok(IpRestriction {
            allow: blocks(settings.allow)?,
            deny: blocks(settings.deny)?,
            status: settings.status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::FORBIDDEN),
            message: settings.message.unwrap_or_else(|| "Your IP address is not allowed".into()),
        })
    }

    fn allows(&self, ip: IpAddr) -> bool {
        if self.deny.iter().any(|block| block.contains(ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|block| block.contains(ip))
    }
}

impl Plugin for IpRestriction {
    fn writes_forwarding_headers(&self) -> bool {
        false
    }

    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        if self.allows(cx.client_addr) {
            return Access::Done(Flow::Continue);
        }
        Access::Done(Flow::Respond(negotiated_error(self.status, &self.message, cx.header("accept"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_is_checked_before_allow_for_both_families() {
        let plugin = IpRestriction::new(&serde_json::json!({
            "allow": ["10.0.0.0/8", "2001:db8::/32"], "deny": ["10.1.2.3"]
        }))
        .unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(plugin.allows(ip("10.9.9.9")));
        assert!(!plugin.allows(ip("10.1.2.3")));
        assert!(!plugin.allows(ip("192.168.0.1")));
        assert!(plugin.allows(ip("2001:db8::1")));
        assert!(!plugin.allows(ip("2001:db9::1")));
        assert!(plugin.allows(ip("::ffff:10.0.0.1")), "IPv4-mapped addresses compare as IPv4");
        let deny_only = IpRestriction::new(&serde_json::json!({"deny": ["0.0.0.0/0"]})).unwrap();
        assert!(!deny_only.allows(ip("127.0.0.1")));
        assert!(deny_only.allows(ip("::1")));
    }
}
