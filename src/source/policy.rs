//! The host policy: what feedloom may fetch at all. Only `http` and
//! `https`; never a loopback, private, link-local, CGNAT, multicast or
//! unspecified address unless the source's own configured URL is on that
//! host or `allow_private` is set; scraped article links only on the
//! listing's own site. Addresses are checked as resolved, when the
//! connection is made ([`PublicOnly`]), so a name that resolves to a public
//! address once and a private one later (DNS rebinding) is still refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Whether `ip` is an address on the public internet. Everything a fetch
/// could use to reach inside a network is not: loopback, RFC 1918 private,
/// link-local (cloud metadata lives at 169.254.169.254), CGNAT, multicast,
/// broadcast, unspecified, documentation and IPv6 unique-local ranges, and
/// IPv4 addresses wrapped in IPv6.
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b // NAT64 of any v4
                || v6.segments()[..6] == [0; 6]) // IPv4-compatible ::a.b.c.d
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Whether `url` is a web address (http or https): the only kind feedloom
/// fetches, and the only kind an item's link or a feed's address may be.
#[must_use]
pub fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// Why `url` may not be fetched before any address is looked up: a scheme
/// other than http(s), or a host written as a non-public IP address (such
/// URLs never reach the resolver). `trusted` lifts the address rule.
#[must_use]
pub fn refusal(url: &Url, trusted: bool) -> Option<String> {
    if !is_web(url) {
        return Some(format!(
            "only http and https addresses are fetched, not `{}:`",
            url.scheme()
        ));
    }
    let ip = match url.host()? {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(_) => return None,
    };
    (!trusted && !is_public(ip)).then(|| private_reason(ip))
}

fn private_reason(ip: IpAddr) -> String {
    format!(
        "{ip} is a loopback, private or link-local address, which only a source configured on that host may reach (set `allow_private = true` in [settings] to allow every source)"
    )
}

/// Whether a fetch for a source configured at `own` may reach `url`'s host
/// on a private address: the same host as the source's own URL.
#[must_use]
pub fn same_host(own: Option<&Url>, url: &Url) -> bool {
    own.and_then(Url::host_str)
        .zip(url.host_str())
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// Whether a scrape source whose listing is at `listing` follows `link`:
/// the same registrable domain (`www.example.org` and `news.example.org`
/// are one site), or a host listed in `follow_hosts`.
#[must_use]
pub fn same_site(listing: &Url, link: &Url, follow_hosts: &[String]) -> bool {
    if !is_web(link) {
        return false;
    }
    let (Some(a), Some(b)) = (listing.host(), link.host()) else {
        return false;
    };
    let host = link.host_str().unwrap_or_default().to_ascii_lowercase();
    if follow_hosts.contains(&host) {
        return true;
    }
    match (a, b) {
        (Host::Domain(a), Host::Domain(b)) => {
            let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
            registrable(&a) == registrable(&b)
        }
        (a, b) => a == b,
    }
}

/// The registrable domain of `host` (`news.example.co.uk` → `example.co.uk`),
/// by the public suffix list; the host itself when the list knows no suffix
/// (`localhost`, an intranet name).
#[must_use]
pub fn registrable(host: &str) -> String {
    let host = host.trim_end_matches('.');
    psl::domain_str(host).unwrap_or(host).to_owned()
}

/// A resolver that drops every non-public address from the answer, so a
/// connection can only be made to the public internet. A name with no
/// public address fails with a message saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                let ip = found
                    .first()
                    .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), SocketAddr::ip);
                return Err(format!("{host} resolves to {}", private_reason(ip)).into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_not_public() {
        for inside in [
            "127.0.0.1",
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(inside.parse().unwrap()), "{inside}");
        }
        for outside in [
            "93.184.216.34",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
        ] {
            assert!(is_public(outside.parse().unwrap()), "{outside}");
        }
    }

    #[test]
    fn schemes_and_literal_addresses_are_checked_before_lookup() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(
            refusal(&u("file:///etc/passwd"), true)
                .unwrap()
                .contains("file:")
        );
        assert!(refusal(&u("ftp://example.org/x"), true).is_some());
        assert!(refusal(&u("http://127.0.0.1:9/admin"), false).is_some());
        assert!(refusal(&u("http://[::1]/"), false).is_some());
        assert!(refusal(&u("http://127.0.0.1:9/admin"), true).is_none());
        assert!(refusal(&u("https://example.org/"), false).is_none());
    }

    #[test]
    fn a_site_is_its_registrable_domain() {
        let u = |s: &str| Url::parse(s).unwrap();
        let listing = u("https://www.example.co.uk/news/");
        assert!(same_site(&listing, &u("https://news.example.co.uk/a"), &[]));
        assert!(!same_site(&listing, &u("https://other.co.uk/a"), &[]));
        assert!(!same_site(&listing, &u("http://localhost:8080/admin"), &[]));
        assert!(same_site(
            &listing,
            &u("https://cdn.example.net/a"),
            &["cdn.example.net".to_owned()]
        ));
        let local = u("http://127.0.0.1:4000/list");
        assert!(same_site(&local, &u("http://127.0.0.1:4001/a"), &[]));
        assert!(!same_site(&local, &u("http://127.0.0.2:4000/a"), &[]));
        assert!(!same_site(&local, &u("file:///etc/passwd"), &[]));
    }
}
