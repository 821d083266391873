//! Endpoint URLs: http or https only, and (unless allowed for development)
//! never an address inside our own network: loopback, private, link-local
//! (which holds the cloud metadata service), carrier-grade NAT, unique-local,
//! multicast, unspecified; nor an IPv6 address that reaches one of those
//! through translation or a tunnel (IPv4-compatible, NAT64, 6to4, Teredo).
//! A host name is resolved and every address it
//! resolves to is checked, when the endpoint is saved and again before each
//! delivery; the delivery then connects to the addresses checked (not to a
//! second resolution), so a name pointed inside in between is caught too.

use std::net::SocketAddr;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, for the error message.
pub fn refused_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refused_v4(v4),
            None => refused_v6(v6).or_else(|| embedded_v4(v6).into_iter().find_map(refused_v4)),
        },
    }
}

/// The IPv4 addresses an IPv6 address reaches through a translation or
/// tunnel, which must pass like the addresses they embed: IPv4-compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16` (bits 16 to 48) and
/// Teredo `2001::/32` (the server at bits 32 to 64, the client inverted in
/// the last 32).
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match s {
        [0, 0, 0, 0, 0, 0, high, low] => vec![v4(high, low)],
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => vec![v4(high, low)],
        [0x2002, high, low, ..] => vec![v4(high, low)],
        [0x2001, 0, server_high, server_low, _, _, client_high, client_low] => {
            vec![v4(server_high, server_low), v4(!client_high, !client_low)]
        }
        _ => Vec::new(),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (where cloud metadata lives)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 {
        Some("not a unicast address")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique-local (private) address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xffc0 == 0xfec0 {
        Some("a site-local (private) address")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("not a unicast address")
    } else if matches!(ip.segments(), [0x64, 0xff9b, 1, ..]) {
        Some("a local-use NAT64 address (it reaches IPv4 inside a network)")
    } else if matches!(ip.segments(), [0x100, 0, 0, 0, ..]) || matches!(ip.segments(), [0x2001, 0xdb8, ..]) {
        Some("not a routable address")
    } else {
        None
    }
}

/// An endpoint URL that passed, and for a host name the addresses it was
/// checked at (a delivery must connect to those).
#[derive(Debug)]
pub struct Checked {
    pub url: reqwest::Url,
    pub pinned: Option<(String, Vec<SocketAddr>)>,
}

/// Checks an endpoint URL; the error says what is wrong with it.
pub async fn check(url: &str, allow_private: bool) -> Result<Checked, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("url is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("url must be http or https".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url must not carry credentials; the signature authenticates the sender".to_owned());
    }
    let host = parsed.host_str().ok_or("url has no host")?.to_owned();
    if allow_private {
        return Ok(Checked { url: parsed, pinned: None });
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let (addresses, named): (Vec<SocketAddr>, bool) = match bare.parse::<IpAddr>() {
        Ok(ip) => (vec![SocketAddr::new(ip, port)], false),
        Err(_) => {
            let resolved = tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| format!("url's host {host} does not resolve: {e}"))?;
            (resolved.collect(), true)
        }
    };
    for address in &addresses {
        let ip = address.ip();
        if let Some(reason) = refused_reason(ip) {
            return Err(format!(
                "url's host {host} is {reason} ({ip}); set RAPPORT_WEBHOOK_ALLOW_PRIVATE=true in development"
            ));
        }
    }
    let pinned = (named && !addresses.is_empty()).then(|| (bare.to_owned(), addresses));
    Ok(Checked { url: parsed, pinned })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        refused_reason(ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))).is_some()
    }

    #[test]
    fn inside_addresses_are_refused_and_public_ones_pass() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[test]
    fn ipv6_forms_that_embed_an_inside_ipv4_address_are_refused_like_it() {
        for ip in [
            "::127.0.0.1",
            "::10.0.0.1",
            "::169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.0.1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101::",
            // Teredo: server 65.54.227.120, client 127.0.0.1 (inverted: 80ff:fffe).
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            // Teredo whose server is inside.
            "2001:0:a00:1::1",
            "fec0::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        // The same forms around public addresses pass.
        for ip in ["64:ff9b::808:808", "2002:808:808::1", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"] {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_for_scheme_credentials_and_address() {
        assert!(check("ftp://example.com/x", true).await.is_err());
        assert!(check("https://user:pw@example.com/x", true).await.is_err());
        assert!(check("not a url", true).await.is_err());
        assert!(check("http://127.0.0.1:9/x", false).await.is_err());
        assert!(check("http://[::1]:9/x", false).await.is_err());
        assert!(check("http://localhost:9/x", false).await.is_err());
        assert!(check("http://127.0.0.1:9/x", true).await.is_ok());
        assert!(check("https://93.184.216.34/hook", false).await.is_ok());
    }
}
