//! Outbound requests: where the server may send a request on a user's behalf. Today that is
//! only the live ASR client (`live`), whose URL a project admin sets; without this check any
//! account that can administer a project could make the server call its own loopback, the
//! cloud metadata service or the office network, and read the answer back as segment text.
//!
//! Decisions worth knowing:
//! - **Public addresses are allowed, internal ones are not** unless the instance operator lists
//!   the host (`--asr-allow`, `FANGYAN_ASR_ALLOW`: `asr.internal:9000,*.example.org`). Internal
//!   means not globally routable: loopback, private (RFC 1918, fc00::/7), link-local, shared
//!   (CGNAT 100.64/10), unspecified, multicast, reserved, and IPv6 forms that embed one of
//!   those (v4-mapped, v4-compatible, NAT64, 6to4).
//! - **A name is judged by every address it resolves to**: one internal address refuses it.
//! - **Checked when set, and again when used.** Setting `asr.url` answers 400
//!   `asr_url_not_allowed` at once; a job checks again before it connects (DNS may have changed),
//!   and the client connects only to the addresses that check saw (`resolve_to_addrs`), so a DNS
//!   answer that flips to an internal address between check and connect (rebinding) is never used.
//! - **Redirects are never followed** (the client is built by [`client`]), and no proxy is
//!   used: a proxy would resolve the name itself and undo the check.
//! - An allow-listed host is trusted as the operator's decision: it is neither checked nor pinned.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;
use reqwest::redirect::Policy;
use url::Host;

/// Longest wait for a DNS answer when a URL is checked.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The operator's list of hosts that may be internal: `host[:port]` or `*.domain[:port]`
/// entries, comma-separated. An entry without a port allows every port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<Entry>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: Pattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Exactly this name (lower case, no trailing dot).
    Name(String),
    /// Any name ending in this suffix, which starts with a dot (`*.example.org` is
    /// `.example.org`: it allows `a.example.org`, not `example.org`).
    Suffix(String),
    /// This address (canonical: a v4-mapped IPv6 literal is its IPv4 address).
    Ip(IpAddr),
}

/// An allow-list entry that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allow-list entry `{entry}`: {reason} (entries are host[:port] or *.domain[:port])")]
pub struct BadEntry {
    /// The entry as given.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for AllowList {
    type Err = BadEntry;

    fn from_str(s: &str) -> Result<Self, BadEntry> {
        s.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(parse_entry)
            .collect::<Result<_, _>>()
            .map(AllowList)
    }
}

fn parse_entry(raw: &str) -> Result<Entry, BadEntry> {
    let bad = |reason| BadEntry {
        entry: raw.to_string(),
        reason,
    };
    let lower = raw.to_ascii_lowercase();
    let (host, port) = split_port(&lower).ok_or_else(|| bad("the port is not 1 to 65535"))?;
    let host = host.trim_end_matches('.');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Entry {
            host: Pattern::Ip(ip.to_canonical()),
            port,
        });
    }
    let (pattern, name) = match host.strip_prefix("*.") {
        Some(rest) => (Pattern::Suffix(format!(".{rest}")), rest),
        None => (Pattern::Name(host.to_string()), host),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if name.is_empty() || !name.split('.').all(label_ok) {
        return Err(bad("the host is not a DNS name or an IP address"));
    }
    Ok(Entry {
        host: pattern,
        port,
    })
}

/// `host[:port]`, `[v6][:port]` or a bare IPv6 address; `None` for a bad port.
fn split_port(s: &str) -> Option<(&str, Option<u16>)> {
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p > 0);
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(port(p)?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    if s.matches(':').count() > 1 {
        return Some((s, None));
    }
    match s.rsplit_once(':') {
        Some((host, p)) => Some((host, Some(port(p)?))),
        None => Some((s, None)),
    }
}

impl AllowList {
    /// Whether the operator listed this host and port.
    pub fn allows(&self, host: &Host<&str>, port: u16) -> bool {
        self.0.iter().any(|e| {
            let host_ok = match (&e.host, host) {
                (Pattern::Name(n), Host::Domain(d)) => n == &normal_name(d),
                (Pattern::Suffix(s), Host::Domain(d)) => normal_name(d).ends_with(s.as_str()),
                (Pattern::Ip(ip), Host::Ipv4(a)) => *ip == IpAddr::V4(*a),
                (Pattern::Ip(ip), Host::Ipv6(a)) => *ip == IpAddr::V6(*a).to_canonical(),
                _ => false,
            };
            host_ok && e.port.is_none_or(|p| p == port)
        })
    }

    /// True when nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn normal_name(d: &str) -> String {
    d.trim_end_matches('.').to_ascii_lowercase()
}

/// Why an address may not be called, or `None` for a public address.
pub fn internal_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => v4_class(a),
        IpAddr::V6(a) => match embedded_v4(a) {
            Some(v4) => v4_class(v4),
            None => v6_class(a),
        },
    }
}

fn v4_class(a: Ipv4Addr) -> Option<&'static str> {
    let [o0, o1, o2, _] = a.octets();
    Some(if a.is_loopback() {
        "loopback"
    } else if a.is_private() {
        "private"
    } else if a.is_link_local() {
        "link-local"
    } else if o0 == 0 {
        "unspecified"
    } else if o0 == 100 && (o1 & 0xc0) == 64 {
        "shared (CGNAT)"
    } else if a.is_multicast() {
        "multicast"
    } else if o0 >= 240 || (o0 == 192 && o1 == 0 && o2 == 0) || (o0 == 198 && (o1 & 0xfe) == 18) {
        // 240/4 and broadcast, IETF protocol assignments, benchmarking networks.
        "reserved"
    } else {
        return None;
    })
}

fn v6_class(a: Ipv6Addr) -> Option<&'static str> {
    let first = a.segments()[0];
    Some(if a.is_loopback() {
        "loopback"
    } else if a.is_unspecified() {
        "unspecified"
    } else if (first & 0xfe00) == 0xfc00 {
        "private"
    } else if (first & 0xffc0) == 0xfe80 {
        "link-local"
    } else if (first & 0xffc0) == 0xfec0 {
        "site-local"
    } else if a.is_multicast() {
        "multicast"
    } else {
        return None;
    })
}

/// The IPv4 address inside an IPv6 one that carries it: v4-mapped (`::ffff:a.b.c.d`),
/// v4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = a.to_ipv4_mapped() {
        Some(v4)
    } else if (s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1))
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        Some(v4(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(v4(s[1], s[2]))
    } else {
        None
    }
}

/// Why a URL may not be called.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Not an http(s) URL with a host.
    #[error("the ASR server URL is not an http:// or https:// URL with a host: {0}")]
    Invalid(String),
    /// The host is, or resolves to, an internal address and is not allow-listed.
    #[error(
        "{host} is {addr}, a {class} address: the server does not call internal addresses \
         unless the instance operator allows the host (--asr-allow or FANGYAN_ASR_ALLOW)"
    )]
    Internal {
        /// The host as written in the URL.
        host: String,
        /// The address that decided it.
        addr: IpAddr,
        /// Its kind (`loopback`, `private`, ...).
        class: &'static str,
    },
    /// The name does not resolve.
    #[error("the ASR server's host {host} does not resolve: {reason}")]
    Unresolved {
        /// The host.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
}

impl Refusal {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Invalid(_) => "invalid_asr_url",
            Refusal::Internal { .. } => "asr_url_not_allowed",
            Refusal::Unresolved { .. } => "asr_host_unresolved",
        }
    }
}

/// A URL that passed [`check`], and the addresses a client must connect to for it.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The URL.
    pub url: Url,
    /// The host name and the checked addresses it resolved to; `None` for an IP literal or an
    /// allow-listed host (nothing to pin).
    pub pinned: Option<(String, Vec<SocketAddr>)>,
}

/// Checks that `url` is http(s) and that its host is public or allow-listed, resolving a name
/// to every address it has.
pub async fn check(url: &str, allow: &AllowList) -> Result<Destination, Refusal> {
    let parsed = Url::parse(url).map_err(|e| Refusal::Invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Refusal::Invalid(format!(
            "the scheme is {}",
            parsed.scheme()
        )));
    }
    let host = parsed
        .host()
        .ok_or_else(|| Refusal::Invalid("there is no host".into()))?;
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| Refusal::Invalid("there is no port".into()))?;
    if allow.allows(&host, port) {
        return Ok(Destination {
            url: parsed.clone(),
            pinned: None,
        });
    }
    let refuse = |addr: IpAddr| {
        internal_class(addr).map(|class| Refusal::Internal {
            host: host.to_string(),
            addr,
            class,
        })
    };
    let pinned = match &host {
        Host::Ipv4(a) => refuse(IpAddr::V4(*a)).map_or(Ok(None), Err)?,
        Host::Ipv6(a) => refuse(IpAddr::V6(*a)).map_or(Ok(None), Err)?,
        Host::Domain(name) => {
            let unresolved = |reason: String| Refusal::Unresolved {
                host: name.to_string(),
                reason,
            };
            let addrs: Vec<SocketAddr> =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((*name, port)))
                    .await
                    .map_err(|_| unresolved("no answer within 5 s".into()))?
                    .map_err(|e| unresolved(e.to_string()))?
                    .collect();
            if addrs.is_empty() {
                return Err(unresolved("no addresses".into()));
            }
            if let Some(refusal) = addrs.iter().find_map(|a| refuse(a.ip())) {
                return Err(refusal);
            }
            Some((name.to_string(), addrs))
        }
    };
    Ok(Destination {
        url: parsed.clone(),
        pinned,
    })
}

/// An HTTP client for one checked destination: it connects only to the checked addresses,
/// follows no redirect and uses no proxy.
pub fn client(dest: &Destination, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(Policy::none())
        .no_proxy();
    if let Some((host, addrs)) = &dest.pinned {
        builder = builder.resolve_to_addrs(host, addrs);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<&'static str> {
        internal_class(s.parse().unwrap_or_else(|_| panic!("{s}")))
    }

    #[test]
    fn internal_addresses_of_every_kind_are_named_and_public_ones_pass() {
        let cases = [
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("unspecified")),
            ("100.64.0.1", Some("shared (CGNAT)")),
            ("100.127.255.254", Some("shared (CGNAT)")),
            ("224.0.0.1", Some("multicast")),
            ("255.255.255.255", Some("reserved")),
            ("198.18.0.1", Some("reserved")),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fc00::1", Some("private")),
            ("fd12:3456::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("ff02::1", Some("multicast")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::10.0.0.1", Some("private")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("2002:7f00:1::", Some("loopback")),
            // Public neighbours of the ranges above.
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("169.255.0.1", None),
            ("11.0.0.1", None),
            ("8.8.8.8", None),
            ("2001:4860:4860::8888", None),
            ("::ffff:8.8.8.8", None),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn allow_list_entries_parse_and_match_host_and_port() {
        let list: AllowList = " asr.internal:9000, *.Example.org ,127.0.0.1:8080,[::1],10.0.0.7"
            .parse()
            .unwrap();
        let allows = |url: &str| {
            let u = Url::parse(url).unwrap();
            list.allows(&u.host().unwrap(), u.port_or_known_default().unwrap())
        };
        assert!(allows("http://asr.internal:9000/v1"));
        assert!(allows("http://ASR.internal.:9000/v1"));
        assert!(
            !allows("http://asr.internal:9001/v1"),
            "the port is part of the entry"
        );
        assert!(allows("https://a.example.org/"));
        assert!(allows("https://b.a.example.org:444/"));
        assert!(
            !allows("https://example.org/"),
            "*.x allows subdomains, not x"
        );
        assert!(!allows("https://badexample.org/"));
        assert!(allows("http://127.0.0.1:8080/"));
        assert!(!allows("http://127.0.0.1:8081/"));
        assert!(
            !allows("http://localhost:8080/"),
            "a name is not its address"
        );
        assert!(allows("http://[::1]:1234/"));
        assert!(allows("http://10.0.0.7/"));
        assert!(
            allows("http://[::ffff:10.0.0.7]/"),
            "v4-mapped is the same host"
        );
        assert!(AllowList::default().is_empty());
        assert!("".parse::<AllowList>().unwrap().is_empty());
        for bad in [
            "host:0",
            "host:99999",
            "host:x",
            "a b",
            "*.",
            "[::1",
            "http://x",
        ] {
            assert!(bad.parse::<AllowList>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn urls_are_refused_by_scheme_literal_and_resolved_name() {
        let none = AllowList::default();
        let code = |r: Result<Destination, Refusal>| r.map(|_| "ok").unwrap_or_else(|e| e.code());
        assert_eq!(code(check("ftp://x/", &none).await), "invalid_asr_url");
        assert_eq!(code(check("not a url", &none).await), "invalid_asr_url");
        for url in [
            "http://127.0.0.1:1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "http://10.0.0.5/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:9/",
        ] {
            assert_eq!(
                code(check(url, &none).await),
                "asr_url_not_allowed",
                "{url}"
            );
        }
        assert_eq!(code(check("https://93.184.215.14/", &none).await), "ok");
        let local: AllowList = "localhost:9".parse().unwrap();
        let dest = check("http://localhost:9/", &local).await.unwrap();
        assert!(dest.pinned.is_none(), "an allow-listed host is not pinned");
    }
}
