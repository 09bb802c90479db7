//! The one address printer. netstat's and lsof's conventions differ (0.0.0.0 vs `*`,
//! `[::]` vs `*`, truncation to 23 columns, v4-mapped addresses); they are options here.

use crate::resolve::HostNames;
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv6 text as glibc's inet_ntop writes it (`::a.b.c.d` for v4-compatible and
/// v4-mapped addresses), which netstat prints and Rust's Display does not match.
pub fn ntop6(a: &Ipv6Addr) -> String {
    let s = a.segments();
    let v4_tail = || {
        format!(
            "{}.{}.{}.{}",
            s[6] >> 8,
            s[6] & 0xff,
            s[7] >> 8,
            s[7] & 0xff
        )
    };
    if s[..6] == [0; 6] && s[6] != 0 {
        return format!("::{}", v4_tail());
    }
    if s[..5] == [0; 5] && s[5] == 0xffff {
        return format!("::ffff:{}", v4_tail());
    }
    a.to_string()
}

/// netstat's fix_v4_address: a v4-mapped address prints from its dotted part on.
fn strip_v4_mapped<'a>(text: &'a str, a: &Ipv6Addr) -> &'a str {
    if a.to_ipv4_mapped().is_none() {
        return text;
    }
    match text.find('.') {
        Some(dot) => match text[..dot].rfind(':') {
            Some(colon) => &text[colon + 1..],
            None => text,
        },
        None => text,
    }
}

/// A host as netstat prints it in socket tables.
pub fn netstat_host<'a>(ip: &IpAddr, numeric: bool, names: &'a HostNames) -> Cow<'a, str> {
    match ip {
        IpAddr::V4(a) if a.is_unspecified() => Cow::Borrowed("0.0.0.0"),
        IpAddr::V6(a) if a.is_unspecified() => Cow::Borrowed(if numeric { "::" } else { "[::]" }),
        _ => {
            let mut text = String::new();
            let _ = write_netstat_host(&mut text, ip, numeric, names);
            Cow::Owned(text)
        }
    }
}

/// [`netstat_host`] written into `out`, without allocating for IPv4 and v4-mapped
/// addresses (the renderer's hot path).
pub fn write_netstat_host(
    out: &mut impl fmt::Write,
    ip: &IpAddr,
    numeric: bool,
    names: &HostNames,
) -> fmt::Result {
    let name = if numeric { None } else { names.get(ip) };
    match ip {
        IpAddr::V4(a) if a.is_unspecified() => out.write_str("0.0.0.0"),
        IpAddr::V4(a) => match name {
            Some(name) => out.write_str(name),
            None => write_ipv4(out, a),
        },
        IpAddr::V6(a) if a.is_unspecified() => out.write_str(if numeric { "::" } else { "[::]" }),
        IpAddr::V6(a) => match (name, a.to_ipv4_mapped()) {
            (Some(name), _) => out.write_str(strip_v4_mapped(name, a)),
            // What strip_v4_mapped leaves of ntop6's `::ffff:a.b.c.d`.
            (None, Some(v4)) => write_ipv4(out, &v4),
            (None, None) => out.write_str(&ntop6(a)),
        },
    }
}

/// Dotted quad, as Display writes it but without the formatting machinery (it is
/// called twice per row).
fn write_ipv4(out: &mut impl fmt::Write, a: &Ipv4Addr) -> fmt::Result {
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in a.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    out.write_str(std::str::from_utf8(&text[..len]).unwrap_or_default())
}

/// Whether netstat would ask the resolver about this address at all.
pub fn netstat_wants_lookup(ip: &IpAddr) -> bool {
    !ip.is_unspecified()
}

/// `host:port` cut to 23 columns as netstat does without -W: the port keeps up to 18
/// characters and the host fills the rest.
pub fn netstat_endpoint(host: &str, port: &str, wide: bool) -> String {
    let (host, port) = netstat_endpoint_parts(host, port, wide);
    format!("{host}:{port}")
}

/// The host and port [`netstat_endpoint`] joins with `:`, for writing without a String.
pub fn netstat_endpoint_parts<'a>(host: &'a str, port: &'a str, wide: bool) -> (&'a str, &'a str) {
    const SHORT: usize = 22;
    if wide || host.len() + port.len() <= SHORT {
        return (host, port);
    }
    let port = prefix(port, port.len().min(SHORT - 4));
    let host = prefix(host, SHORT - port.len());
    (host, port)
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A host as lsof prints it: `*` for any address, brackets around numeric IPv6,
/// v4-mapped addresses as IPv4.
pub fn lsof_host<'a>(ip: &IpAddr, numeric: bool, names: &'a HostNames) -> Cow<'a, str> {
    let ip = match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(*ip),
        v4 => *v4,
    };
    if ip.is_unspecified() {
        return Cow::Borrowed("*");
    }
    if !numeric {
        if let Some(name) = names.get(&ip) {
            return Cow::Borrowed(name);
        }
    }
    match ip {
        IpAddr::V4(a) => Cow::Owned(a.to_string()),
        IpAddr::V6(a) => Cow::Owned(format!("[{}]", ntop6(&a))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_matches_netstat() {
        assert_eq!(
            netstat_endpoint("fd00:1234:5678:9abc::2", "47020", false),
            "fd00:1234:5678:9a:47020"
        );
        assert_eq!(
            netstat_endpoint("localhost", "ms-wbt-server", false),
            "localhost:ms-wbt-server"
        );
        assert_eq!(
            netstat_endpoint("a", "0123456789012345678901", false).len(),
            20
        );
        assert_eq!(
            netstat_endpoint("fd00:1234:5678:9abc::2", "47020", true),
            "fd00:1234:5678:9abc::2:47020"
        );
    }

    #[test]
    fn hosts() {
        let names = HostNames::default();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(netstat_host(&mapped, true, &names), "127.0.0.1");
        assert_eq!(netstat_host(&"::".parse().unwrap(), true, &names), "::");
        assert_eq!(netstat_host(&"::".parse().unwrap(), false, &names), "[::]");
        assert_eq!(
            netstat_host(&"0.0.0.0".parse().unwrap(), false, &names),
            "0.0.0.0"
        );
        assert_eq!(lsof_host(&mapped, true, &names), "127.0.0.1");
        assert_eq!(lsof_host(&"::1".parse().unwrap(), true, &names), "[::1]");
        assert_eq!(lsof_host(&"::".parse().unwrap(), true, &names), "*");
        assert_eq!(ntop6(&"::7f00:1".parse().unwrap()), "::127.0.0.1");
        for (text, numeric, want) in [
            ("192.0.2.7", true, "192.0.2.7"),
            ("10.0.100.255", true, "10.0.100.255"),
            ("1.20.0.9", true, "1.20.0.9"),
            ("::ffff:192.0.2.7", false, "192.0.2.7"),
            ("2001:db8::1", true, "2001:db8::1"),
            ("::192.0.2.7", true, "::192.0.2.7"),
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(netstat_host(&ip, numeric, &names), want);
        }
    }
}
