//! The network an address is shown and counted by: an IPv4 address's /24, an IPv6 address's /64
//! (what one subscriber is usually given, so any of its addresses may be the next one); an
//! IPv4-mapped IPv6 address as the IPv4 address it is.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The /24 or /64 `ip` belongs to.
pub fn source_network(ip: IpAddr) -> IpNet {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::new(v4, 24).expect("24 is a valid prefix").trunc()),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::new(v6, 64).expect("64 is a valid prefix").trunc()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(ip: &str) -> String {
        source_network(ip.parse().unwrap()).to_string()
    }

    #[test]
    fn ipv4_by_its_24_and_ipv6_by_its_64() {
        assert_eq!(network("203.0.113.7"), "203.0.113.0/24");
        assert_eq!(network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(network("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(network("127.0.0.1"), "127.0.0.0/24");
    }
}
