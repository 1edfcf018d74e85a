//! Who is asking, and over what: the client address the login throttle counts, and whether
//! the browser sees the server over https (the `Secure` cookie).
//!
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from a peer in
//! `Config::trusted_proxies`; from anyone else they are ignored, so a client cannot pick its
//! own address to dodge the throttle. Through a chain of trusted proxies the client is the
//! right-most address that is not itself a trusted proxy (what the nearest proxy saw), since
//! anything to its left was written by the client.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::app::Config;

/// An address or a network (`10.0.0.0/8`, `::1`), as given to `--trusted-proxy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    a[..whole] == b[..whole] && (rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0)
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The TCP peer, when the server was started with connect info (`app::serve` is); otherwise
/// the unspecified address, which all such requests then share.
pub fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| {
            c.0.ip().to_canonical()
        })
}

fn trusted(config: &Config, ip: IpAddr) -> bool {
    config.trusted_proxies.iter().any(|net| net.contains(ip))
}

/// The client address of a request: the peer, or what trusted proxies say it is.
pub fn client_ip(parts: &Parts, config: &Config) -> IpAddr {
    forwarded_client(peer(parts), &parts.headers, config)
}

fn forwarded_client(peer: IpAddr, headers: &HeaderMap, config: &Config) -> IpAddr {
    if !trusted(config, peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !trusted(config, client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            // Garbage from a trusted proxy: stop at the last address we can vouch for.
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Whether the browser reaches the server over https: the public URL says so, or a trusted
/// proxy does (`X-Forwarded-Proto: https`).
pub fn is_https(parts: &Parts, config: &Config) -> bool {
    let public = config
        .public_url
        .as_deref()
        .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"));
    public
        || (trusted(config, peer(parts))
            && parts
                .headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn config(trusted: &[&str]) -> Config {
        let mut c = Config::new("unused");
        c.trusted_proxies = trusted.iter().map(|t| t.parse().unwrap()).collect();
        c
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        let net: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        let one: IpNet = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let odd: IpNet = "192.0.2.128/25".parse().unwrap();
        assert!(odd.contains(ip("192.0.2.200")) && !odd.contains(ip("192.0.2.100")));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(
            "0.0.0.0/0"
                .parse::<IpNet>()
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        for bad in ["", "10.0.0.0/33", "host.example", "10.0.0.0/x", "::/129"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let c = config(&[]);
        assert_eq!(
            forwarded_client(ip("198.51.100.7"), &xff("203.0.113.1"), &c),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let c = config(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        assert_eq!(
            forwarded_client(peer, &xff("203.0.113.1"), &c),
            ip("203.0.113.1")
        );
        // The client wrote the left part itself.
        assert_eq!(
            forwarded_client(peer, &xff("1.1.1.1, 203.0.113.1, 10.0.0.3"), &c),
            ip("203.0.113.1")
        );
        assert_eq!(
            forwarded_client(peer, &xff("[2001:db8::5]:443"), &c),
            ip("2001:db8::5")
        );
        assert_eq!(forwarded_client(peer, &xff("junk"), &c), peer);
        assert_eq!(forwarded_client(peer, &HeaderMap::new(), &c), peer);
    }
}
