//! `trusted_ips`: the peers whose `X-Forwarded-*` and `X-Real-IP` headers the gateway believes.

use std::net::IpAddr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedIps {
    blocks: Vec<(IpAddr, u8)>,
}

impl TrustedIps {
    /// Parses a comma-separated list of addresses and CIDR blocks (`0.0.0.0/0,::/0` trusts everyone).
    pub fn parse(setting: &str) -> Result<TrustedIps, String> {
        let mut blocks = Vec::new();
        for entry in setting.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (ip, bits) = match entry.split_once('/') {
                Some((ip, bits)) => (ip, Some(bits)),
                None => (entry, None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| format!("'{entry}' is not an IP address or CIDR block"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(bits) => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("invalid prefix in '{entry}'"))?,
                None => max,
            };
            blocks.push((ip, bits));
        }
        Ok(TrustedIps { blocks })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.blocks.iter().any(|(block, bits)| match (block, ip) {
            (IpAddr::V4(block), IpAddr::V4(ip)) => prefix_eq(&block.octets(), &ip.octets(), *bits),
            (IpAddr::V6(block), IpAddr::V6(ip)) => prefix_eq(&block.octets(), &ip.octets(), *bits),
            _ => false,
        })
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_addresses() {
        let trusted = TrustedIps::parse("10.0.0.0/8, 192.168.1.7, ::1").unwrap();
        assert!(trusted.contains("10.200.3.4".parse().unwrap()));
        assert!(trusted.contains("192.168.1.7".parse().unwrap()));
        assert!(!trusted.contains("192.168.1.8".parse().unwrap()));
        assert!(trusted.contains("::1".parse().unwrap()));
        assert!(trusted.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!TrustedIps::default().contains("127.0.0.1".parse().unwrap()));
        let all = TrustedIps::parse("0.0.0.0/0,::/0").unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()) && all.contains("2001:db8::1".parse().unwrap()));
        assert!(TrustedIps::parse("10.0.0.0/33").is_err());
        assert!(TrustedIps::parse("nope").is_err());
    }
}
