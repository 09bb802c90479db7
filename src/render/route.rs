//! `netstat -r`: the IPv4 routing table (three column sets), the (empty) IPv4 routing
//! cache and the IPv6 routing table, line for line as net-tools 2.10 prints them.

use crate::addr::prefix;
use crate::escape::escape;
use crate::proc::route::{flags as rtf, Route4, Route6};
use crate::resolve::{HostNames, NetworkNames};
use std::borrow::Cow;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How netstat was asked to print routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteOptions {
    /// -n, --numeric-hosts or -N: no name lookups at all.
    pub numeric: bool,
    /// netstat's column set after its -e swap: 1 Metric/Ref/Use (-e), 2 MSS/Window/irtt
    /// (no -e), 3 both (-ee); 0 (-eee) prints the title and nothing else.
    pub columns: u8,
}

impl RouteOptions {
    /// `extend` = how many times -e was given.
    pub fn new(numeric: bool, extend: u8) -> Self {
        // netstat counts from 1 and swaps 1 and 2, then keeps the low two bits.
        let count = u32::from(extend) + 1;
        let swapped = match count {
            1 => 2,
            2 => 1,
            n => n,
        };
        RouteOptions {
            numeric,
            columns: (swapped & 3) as u8,
        }
    }
}

/// Name lookups a route row needs before it can be printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    Fixed(&'static str),
    Numeric,
    Host,
    Network,
}

/// netstat's rules for a destination: `default` for 0.0.0.0/0, a host name when the
/// route is a host route or host bits are set, otherwise a network name.
fn destination_lookup(r: &Route4, numeric: bool) -> Lookup {
    let dest = u32::from(r.destination);
    let mask = u32::from(r.mask);
    if numeric {
        Lookup::Numeric
    } else if dest == 0 && mask == 0 {
        Lookup::Fixed("default")
    } else if dest == 0 {
        Lookup::Numeric
    } else if dest & !mask != 0 || r.flags & rtf::HOST != 0 {
        Lookup::Host
    } else {
        Lookup::Network
    }
}

/// Gateways are hosts; 0.0.0.0 stays numeric (netstat never prints `*` here).
fn gateway_lookup(r: &Route4, numeric: bool) -> Lookup {
    if numeric || r.gateway.is_unspecified() {
        Lookup::Numeric
    } else {
        Lookup::Host
    }
}

fn shown(r: &Route4) -> bool {
    r.is_up()
}

/// Addresses to reverse-resolve (hosts) and networks to look up, for the rows shown.
pub fn route4_lookups(rows: &[Route4], opts: &RouteOptions) -> (Vec<IpAddr>, Vec<Ipv4Addr>) {
    let mut hosts = Vec::new();
    let mut nets = Vec::new();
    for r in rows.iter().filter(|r| shown(r)) {
        for (lookup, addr) in [
            (destination_lookup(r, opts.numeric), r.destination),
            (gateway_lookup(r, opts.numeric), r.gateway),
        ] {
            match lookup {
                Lookup::Host => hosts.push(IpAddr::V4(addr)),
                Lookup::Network => nets.push(addr),
                Lookup::Fixed(_) | Lookup::Numeric => {}
            }
        }
    }
    (hosts, nets)
}

/// The name caches a renderer reads (filled beforehand by the caller).
#[derive(Clone, Copy)]
pub struct Names<'a> {
    pub hosts: &'a HostNames,
    pub networks: &'a NetworkNames,
}

fn name4(lookup: Lookup, addr: Ipv4Addr, names: Names<'_>) -> String {
    let found = match lookup {
        Lookup::Fixed(text) => return text.to_string(),
        Lookup::Numeric => None,
        Lookup::Host => names.hosts.get(&IpAddr::V4(addr)),
        Lookup::Network => names.networks.get(&addr),
    };
    match found {
        Some(name) => escape(name.as_bytes()).into_owned(),
        None => addr.to_string(),
    }
}

/// The flag letters of an IPv4 route; `!` replaces whatever was built before it.
pub fn route4_flags(f: u32) -> String {
    let mut s = String::new();
    let mut add = |bit: u32, letter: &str| {
        if f & bit != 0 {
            s.push_str(letter);
        }
    };
    add(rtf::UP, "U");
    add(rtf::GATEWAY, "G");
    if f & rtf::REJECT != 0 {
        s = String::from("!");
    }
    let mut add = |bit: u32, letter: &str| {
        if f & bit != 0 {
            s.push_str(letter);
        }
    };
    add(rtf::HOST, "H");
    add(rtf::REINSTATE, "R");
    add(rtf::DYNAMIC, "D");
    add(rtf::MODIFIED, "M");
    add(rtf::DEFAULT, "d");
    add(rtf::ALLONLINK, "a");
    add(rtf::ADDRCONF, "c");
    add(rtf::NONEXTHOP, "o");
    add(rtf::EXPIRES, "e");
    add(rtf::CACHE, "c");
    add(rtf::FLOW, "f");
    add(rtf::POLICY, "p");
    add(rtf::LOCAL, "l");
    add(rtf::MTU, "u");
    add(rtf::WINDOW, "w");
    add(rtf::IRTT, "i");
    add(rtf::NOTCACHED, "n");
    s
}

/// netstat reads these columns with `%d` into an int.
fn int(v: i64) -> i32 {
    v as i32
}

pub fn write_route4_title(w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "Kernel IP routing table")
}

/// The title and column header of the IPv4 table.
pub fn write_route4_header(w: &mut impl Write, opts: &RouteOptions) -> io::Result<()> {
    write_route4_title(w)?;
    const ADDRS: &str = "Destination     Gateway         Genmask         ";
    match opts.columns {
        1 => writeln!(w, "{ADDRS}Flags Metric Ref    Use Iface"),
        2 => writeln!(w, "{ADDRS}Flags   MSS Window  irtt Iface"),
        3 => writeln!(
            w,
            "{ADDRS}Flags Metric Ref    Use Iface    MSS   Window irtt"
        ),
        _ => Ok(()),
    }
}

/// One IPv4 route; rows without RTF_UP print nothing, as in netstat.
pub fn write_route4_row(
    w: &mut impl Write,
    r: &Route4,
    opts: &RouteOptions,
    names: Names<'_>,
) -> io::Result<()> {
    if !shown(r) || opts.columns == 0 {
        return Ok(());
    }
    let dest_full = name4(destination_lookup(r, opts.numeric), r.destination, names);
    let gw_full = name4(gateway_lookup(r, opts.numeric), r.gateway, names);
    let dest = prefix(&dest_full, 15);
    let gw = prefix(&gw_full, 15);
    let mask = r.mask.to_string();
    let flags = route4_flags(r.flags);
    let reject = r.flags & rtf::REJECT != 0;
    let (metric, refcnt, use_count) = (int(r.metric), int(r.refcnt), int(r.use_count));
    let (mss, window, irtt) = (int(r.mtu), int(r.window), int(r.irtt));
    let iface = escape(&r.iface);
    match (opts.columns, reject) {
        (1, true) => writeln!(
            w,
            "{dest:<15} -               {mask:<15} {flags:<5} {metric:<6} -  {use_count:>7} -"
        ),
        (1, false) => writeln!(
            w,
            "{dest:<15} {gw:<15} {mask:<15} {flags:<5} {metric:<6} {refcnt:<2} {use_count:>7} {iface}"
        ),
        (2, true) => writeln!(
            w,
            "{dest:<15} -               {mask:<15} {flags:<5}     - -          - -"
        ),
        (2, false) => writeln!(
            w,
            "{dest:<15} {gw:<15} {mask:<15} {flags:<5} {mss:>5} {window:<5} {irtt:>6} {iface}"
        ),
        (_, true) => writeln!(
            w,
            "{dest:<15} -               {mask:<15} {flags:<5} {metric:<6} -  {use_count:>7} -        -     -      -"
        ),
        (_, false) => {
            let short_iface = escape(r.iface.get(..6).unwrap_or(&r.iface));
            writeln!(
                w,
                "{dest:<15} {gw:<15} {mask:<15} {flags:<5} {metric:<6} {refcnt:<3} {use_count:>6} {short_iface:<6}   {mss:<5} {window:<6} {irtt}"
            )
        }
    }
}

/// The IPv4 routing cache: kernels since 3.6 have none, so /proc/net/rt_cache holds
/// only its header and netstat -C prints only its titles.
pub fn write_route4_cache_header(w: &mut impl Write, opts: &RouteOptions) -> io::Result<()> {
    writeln!(w, "Kernel IP routing cache")?;
    const ADDRS: &str = "Source          Destination     Gateway         ";
    match opts.columns {
        1 => writeln!(w, "{ADDRS}Flags Metric Ref    Use Iface"),
        2 => writeln!(w, "{ADDRS}Flags   MSS Window  irtt Iface"),
        3 => writeln!(
            w,
            "{ADDRS}Flags Metric Ref    Use Iface    MSS   Window irtt  TOS HHRef HHUptod     SpecDst"
        ),
        _ => Ok(()),
    }
}

/// Which IPv6 rows a table shows: the FIB leaves out cloned (RTF_CACHE) routes, the
/// cache view shows only those.
pub fn route6_selected(r: &Route6, cache: bool) -> bool {
    (r.flags & rtf::CACHE != 0) == cache
}

/// Addresses of the shown IPv6 rows that netstat would ask getnameinfo about.
pub fn route6_lookups(rows: &[Route6], opts: &RouteOptions, cache: bool) -> Vec<IpAddr> {
    if opts.numeric {
        return Vec::new();
    }
    rows.iter()
        .filter(|r| route6_selected(r, cache))
        .flat_map(|r| [r.destination, r.next_hop])
        .filter(|a| !a.is_unspecified())
        .map(IpAddr::V6)
        .collect()
}

pub fn write_route6_header(w: &mut impl Write, cache: bool) -> io::Result<()> {
    if cache {
        writeln!(w, "Kernel IPv6 routing cache")?;
    } else {
        writeln!(w, "Kernel IPv6 routing table")?;
    }
    writeln!(
        w,
        "Destination                    Next Hop                   Flag Met Ref  Use If"
    )
}

/// The flag letters of an IPv6 route, in netstat's order.
pub fn route6_flags(f: u32) -> String {
    [
        (rtf::UP, 'U'),
        (rtf::REJECT, '!'),
        (rtf::GATEWAY, 'G'),
        (rtf::HOST, 'H'),
        (rtf::DEFAULT, 'D'),
        (rtf::ADDRCONF, 'A'),
        (rtf::CACHE, 'C'),
        (rtf::ALLONLINK, 'a'),
        (rtf::EXPIRES, 'e'),
        (rtf::MODIFIED, 'm'),
        (rtf::NONEXTHOP, 'n'),
        (rtf::FLOW, 'f'),
    ]
    .iter()
    .filter(|(bit, _)| f & bit != 0)
    .map(|&(_, c)| c)
    .collect()
}

/// An IPv6 address as netstat's inet6 printer writes it: `[::]` for the unspecified
/// address unless numeric, a name when one resolves, v4-mapped addresses from their
/// dotted part on.
fn name6<'a>(a: &Ipv6Addr, numeric: bool, hosts: &'a HostNames) -> Cow<'a, str> {
    crate::addr::netstat_host(&IpAddr::V6(*a), numeric, hosts)
}

/// One IPv6 route (the caller filters with [`route6_selected`]).
pub fn write_route6_row(
    w: &mut impl Write,
    r: &Route6,
    opts: &RouteOptions,
    hosts: &HostNames,
) -> io::Result<()> {
    let dest = format!(
        "{}/{}",
        escape(name6(&r.destination, opts.numeric, hosts).as_bytes()),
        r.prefix_len
    );
    let hop = escape(name6(&r.next_hop, opts.numeric, hosts).as_bytes()).into_owned();
    let flags = route6_flags(r.flags);
    // Read with %08x into an int and printed with %d.
    let (metric, refcnt, use_count) = (r.metric as i32, r.refcnt as i32, r.use_count as i32);
    writeln!(
        w,
        "{dest:<30} {hop:<26} {flags:<4} {metric:<3} {refcnt:<1} {use_count:>6} {}",
        escape(&r.iface)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::route::parse_route;

    fn render(data: &[u8], opts: RouteOptions) -> String {
        let table = parse_route(data, "route").unwrap();
        let hosts = HostNames::default();
        let networks = NetworkNames::default();
        let names = Names {
            hosts: &hosts,
            networks: &networks,
        };
        let mut out = Vec::new();
        write_route4_header(&mut out, &opts).unwrap();
        for r in &table.rows {
            write_route4_row(&mut out, r, &opts, names).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    const ROUTE: &[u8] =
        b"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
va\t00000000\tFE0200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
va\t007100CB\tFD0200C0\t0003\t0\t0\t7\tC0FFFFFF\t0\t8000\t30\n\
*\t807100CB\t00000000\t0201\t0\t0\t0\t80FFFFFF\t0\t0\t0\n\
down\t0000000A\t00000000\t0000\t0\t0\t0\t000000FF\t0\t0\t0\n\
averylongname\t0000000B\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n";

    #[test]
    fn the_three_column_sets() {
        assert_eq!(
            render(ROUTE, RouteOptions::new(false, 0)),
            "Kernel IP routing table\n\
Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface\n\
default         192.0.2.254     0.0.0.0         UG        0 0          0 va\n\
203.0.113.0     192.0.2.253     255.255.255.192 UG        0 8000      30 va\n\
203.0.113.128   -               255.255.255.128 !         - -          - -\n\
11.0.0.0        0.0.0.0         255.0.0.0       U         0 0          0 averylongname\n"
        );
        assert_eq!(
            render(ROUTE, RouteOptions::new(true, 1)),
            "Kernel IP routing table\n\
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n\
0.0.0.0         192.0.2.254     0.0.0.0         UG    0      0        0 va\n\
203.0.113.0     192.0.2.253     255.255.255.192 UG    7      0        0 va\n\
203.0.113.128   -               255.255.255.128 !     0      -        0 -\n\
11.0.0.0        0.0.0.0         255.0.0.0       U     0      0        0 averylongname\n"
        );
        assert_eq!(
            render(ROUTE, RouteOptions::new(true, 2)),
            "Kernel IP routing table\n\
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface    MSS   Window irtt\n\
0.0.0.0         192.0.2.254     0.0.0.0         UG    0      0        0 va       0     0      0\n\
203.0.113.0     192.0.2.253     255.255.255.192 UG    7      0        0 va       0     8000   30\n\
203.0.113.128   -               255.255.255.128 !     0      -        0 -        -     -      -\n\
11.0.0.0        0.0.0.0         255.0.0.0       U     0      0        0 averyl   0     0      0\n"
        );
        assert_eq!(
            render(ROUTE, RouteOptions::new(true, 3)),
            "Kernel IP routing table\n"
        );
    }

    #[test]
    fn flag_letters() {
        assert_eq!(route4_flags(0x0007), "UGH");
        assert_eq!(route4_flags(0x0203), "!");
        assert_eq!(route4_flags(0x0205), "!H");
        assert_eq!(route4_flags(0x8000_05e1), "UMluwin");
        assert_eq!(route6_flags(0x0020_0200), "!n");
        assert_eq!(route6_flags(0x8020_0001), "Un");
        assert_eq!(route6_flags(0x0105_0003), "UGDAC");
    }

    #[test]
    fn lookups_follow_netstat() {
        let t = parse_route(ROUTE, "route").unwrap();
        let (hosts, nets) = route4_lookups(&t.rows, &RouteOptions::new(false, 0));
        // Gateways are hosts; 203.0.113.0/26 and 11/8 are networks; the reject route's
        // destination is a network too; the down route is not shown.
        assert_eq!(hosts.len(), 2);
        assert_eq!(nets.len(), 3);
        let (hosts, nets) = route4_lookups(&t.rows, &RouteOptions::new(true, 0));
        assert!(hosts.is_empty() && nets.is_empty());
    }
}
