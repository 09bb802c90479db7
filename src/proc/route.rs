//! /proc/net/route (IPv4 FIB, little-endian hex, columns named by its header line) and
//! /proc/net/ipv6_route (fixed layout, addresses in network order).

use super::{
    dec_i64, fields, hex_u64, inet::parse_hex_addr, numbered_lines, serialize_lossy, ParseWarning,
    ProcRoot, Table,
};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Route flags (`RTF_*` of <net/route.h> and <linux/ipv6_route.h>).
pub mod flags {
    pub const UP: u32 = 0x0001;
    pub const GATEWAY: u32 = 0x0002;
    pub const HOST: u32 = 0x0004;
    pub const REINSTATE: u32 = 0x0008;
    pub const DYNAMIC: u32 = 0x0010;
    pub const MODIFIED: u32 = 0x0020;
    pub const MTU: u32 = 0x0040;
    pub const WINDOW: u32 = 0x0080;
    pub const IRTT: u32 = 0x0100;
    pub const REJECT: u32 = 0x0200;
    /// net-tools' name for 0x0400 (RTF_STATIC in glibc).
    pub const NOTCACHED: u32 = 0x0400;
    pub const DEFAULT: u32 = 0x0001_0000;
    pub const ALLONLINK: u32 = 0x0002_0000;
    pub const ADDRCONF: u32 = 0x0004_0000;
    pub const NONEXTHOP: u32 = 0x0020_0000;
    pub const EXPIRES: u32 = 0x0040_0000;
    pub const CACHE: u32 = 0x0100_0000;
    pub const FLOW: u32 = 0x0200_0000;
    pub const POLICY: u32 = 0x0400_0000;
    pub const LOCAL: u32 = 0x8000_0000;
}

/// One line of /proc/net/route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route4 {
    #[serde(serialize_with = "serialize_lossy")]
    pub iface: Vec<u8>,
    pub destination: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub flags: u32,
    pub refcnt: i64,
    #[serde(rename = "use")]
    pub use_count: i64,
    pub metric: i64,
    pub mask: Ipv4Addr,
    /// The kernel's "MTU" column, which holds the advertised MSS (+40) and which
    /// netstat labels MSS.
    pub mtu: i64,
    pub window: i64,
    pub irtt: i64,
}

impl Route4 {
    pub fn is_up(&self) -> bool {
        self.flags & flags::UP != 0
    }
}

/// The columns netstat requires in /proc/net/route, in the order it asks for them.
const ROUTE_COLUMNS: [&str; 11] = [
    "Iface",
    "Destination",
    "Gateway",
    "Flags",
    "RefCnt",
    "Use",
    "Metric",
    "Mask",
    "MTU",
    "Window",
    "IRTT",
];

/// The header of /proc/net/route lacks a column netstat needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingColumn(pub &'static str);

fn ipv4_field(field: &[u8]) -> Option<Ipv4Addr> {
    if field.len() != 8 {
        return None;
    }
    match parse_hex_addr(field)? {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn parse_route4_line(line: &[u8], columns: &[usize; 11]) -> Result<Route4, &'static str> {
    let values: Vec<&[u8]> = fields(line).collect();
    let get = |i: usize| {
        columns
            .get(i)
            .and_then(|&c| values.get(c))
            .copied()
            .ok_or("short line")
    };
    let addr = |i: usize, what| ipv4_field(get(i)?).ok_or(what);
    let number = |i: usize, what| dec_i64(get(i)?).ok_or(what);
    Ok(Route4 {
        iface: get(0)?.to_vec(),
        destination: addr(1, "Destination is not 8 hex digits")?,
        gateway: addr(2, "Gateway is not 8 hex digits")?,
        flags: hex_u64(get(3)?)
            .and_then(|f| u32::try_from(f).ok())
            .ok_or("Flags is not hex")?,
        refcnt: number(4, "RefCnt is not a number")?,
        use_count: number(5, "Use is not a number")?,
        metric: number(6, "Metric is not a number")?,
        mask: addr(7, "Mask is not 8 hex digits")?,
        mtu: number(8, "MTU is not a number")?,
        window: number(9, "Window is not a number")?,
        irtt: number(10, "IRTT is not a number")?,
    })
}

/// Parses /proc/net/route. Every row is returned (also those without RTF_UP; the
/// renderer skips them as netstat does). `name` labels warnings.
pub fn parse_route(data: &[u8], name: &str) -> Result<Table<Route4>, MissingColumn> {
    let mut lines = numbered_lines(data);
    let header: Vec<&[u8]> = lines
        .next()
        .map(|(_, h)| fields(h).collect())
        .unwrap_or_default();
    let mut columns = [0usize; 11];
    for (slot, wanted) in columns.iter_mut().zip(ROUTE_COLUMNS) {
        *slot = header
            .iter()
            .position(|h| *h == wanted.as_bytes())
            .ok_or(MissingColumn(wanted))?;
    }
    let mut table = Table::default();
    for (lnr, line) in lines {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_route4_line(line, &columns) {
            Ok(route) => table.rows.push(route),
            Err(why) => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            }),
        }
    }
    Ok(table)
}

/// A read of /proc/net/route that found the file but not its columns.
#[derive(Debug)]
pub enum RouteError {
    Io(std::io::Error),
    MissingColumn { file: String, column: &'static str },
}

/// Reads `<root>/<net_dir>/route`.
pub fn read_route(root: &ProcRoot, net_dir: &str) -> Result<Table<Route4>, RouteError> {
    let rel = format!("{net_dir}/route");
    let data = root.read(&rel).map_err(RouteError::Io)?;
    let label = root.join(&rel).display().to_string();
    parse_route(&data, &label).map_err(|MissingColumn(column)| RouteError::MissingColumn {
        file: label,
        column,
    })
}

/// One line of /proc/net/ipv6_route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route6 {
    pub destination: Ipv6Addr,
    pub prefix_len: u8,
    pub source: Ipv6Addr,
    pub source_prefix_len: u8,
    pub next_hop: Ipv6Addr,
    pub metric: u32,
    pub refcnt: u32,
    #[serde(rename = "use")]
    pub use_count: u32,
    pub flags: u32,
    #[serde(serialize_with = "serialize_lossy")]
    pub iface: Vec<u8>,
}

/// 32 hex digits, the address bytes in network order (`%pi6`).
fn ipv6_field(field: &[u8]) -> Option<Ipv6Addr> {
    if field.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(field.chunks(2)) {
        *byte = hex_u64(pair)? as u8;
    }
    Some(Ipv6Addr::from(bytes))
}

fn hex_u32(field: &[u8]) -> Option<u32> {
    hex_u64(field).and_then(|v| u32::try_from(v).ok())
}

fn parse_route6_line(line: &[u8]) -> Result<Route6, &'static str> {
    let mut f = fields(line);
    let mut next = || f.next().ok_or("short line");
    let destination = ipv6_field(next()?).ok_or("destination is not 32 hex digits")?;
    let prefix_len = hex_u32(next()?)
        .filter(|&p| p <= 128)
        .ok_or("bad destination prefix length")? as u8;
    let source = ipv6_field(next()?).ok_or("source is not 32 hex digits")?;
    let source_prefix_len = hex_u32(next()?)
        .filter(|&p| p <= 128)
        .ok_or("bad source prefix length")? as u8;
    let next_hop = ipv6_field(next()?).ok_or("next hop is not 32 hex digits")?;
    let metric = hex_u32(next()?).ok_or("metric is not hex")?;
    let refcnt = hex_u32(next()?).ok_or("refcnt is not hex")?;
    let use_count = hex_u32(next()?).ok_or("use is not hex")?;
    let flags = hex_u32(next()?).ok_or("flags is not hex")?;
    let iface = next()?.to_vec();
    Ok(Route6 {
        destination,
        prefix_len,
        source,
        source_prefix_len,
        next_hop,
        metric,
        refcnt,
        use_count,
        flags,
        iface,
    })
}

/// Parses /proc/net/ipv6_route (no header line).
pub fn parse_ipv6_route(data: &[u8], name: &str) -> Table<Route6> {
    let mut table = Table::default();
    for (lnr, line) in numbered_lines(data) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_route6_line(line) {
            Ok(route) => table.rows.push(route),
            Err(why) => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            }),
        }
    }
    table
}

/// Reads `<root>/<net_dir>/ipv6_route`.
pub fn read_ipv6_route(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<Route6>> {
    let rel = format!("{net_dir}/ipv6_route");
    let data = root.read(&rel)?;
    Ok(parse_ipv6_route(
        &data,
        &root.join(&rel).display().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &[u8] = b"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       \n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                                                                               \n\
va\t007100CB\tFD0200C0\t0003\t0\t0\t7\tC0FFFFFF\t0\t8000\t30    \n";

    #[test]
    fn parses_route_lines() {
        let t = parse_route(ROUTE, "route").unwrap();
        assert!(t.warnings.is_empty());
        assert_eq!(t.rows.len(), 2);
        let d = &t.rows[0];
        assert_eq!(d.iface, b"eth0");
        assert_eq!(d.destination, Ipv4Addr::UNSPECIFIED);
        assert_eq!(d.gateway, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(d.flags, flags::UP | flags::GATEWAY);
        let m = &t.rows[1];
        assert_eq!(m.destination, Ipv4Addr::new(203, 0, 113, 0));
        assert_eq!(m.mask, Ipv4Addr::new(255, 255, 255, 192));
        assert_eq!((m.metric, m.window, m.irtt), (7, 8000, 30));
    }

    #[test]
    fn columns_are_found_by_name() {
        let moved = b"Destination Iface Gateway Flags RefCnt Use Metric Mask MTU Window IRTT Extra\n0000FEA9 lo 00000000 0001 0 0 0 0000FFFF 0 0 0 x\n";
        let t = parse_route(moved, "route").unwrap();
        assert_eq!(t.rows[0].iface, b"lo");
        assert_eq!(t.rows[0].destination, Ipv4Addr::new(169, 254, 0, 0));
        assert_eq!(
            parse_route(b"Iface Destination Gateway Flags\n", "route").unwrap_err(),
            MissingColumn("RefCnt")
        );
        assert_eq!(
            parse_route(b"", "route").unwrap_err(),
            MissingColumn("Iface")
        );
    }

    #[test]
    fn parses_ipv6_route_lines() {
        let data = b"20010db8000200000000000000000000 30 00000000000000000000000000000000 00 20010db80001000000000000000000fe 00000400 00000001 00000000 00000003       va\n\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
        let t = parse_ipv6_route(data, "ipv6_route");
        assert!(t.warnings.is_empty());
        let r = &t.rows[0];
        assert_eq!(r.destination, "2001:db8:2::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(r.prefix_len, 48);
        assert_eq!(r.next_hop, "2001:db8:1::fe".parse::<Ipv6Addr>().unwrap());
        assert_eq!((r.metric, r.flags), (1024, 3));
        assert_eq!(t.rows[1].metric, u32::MAX);
        assert_eq!(t.rows[1].iface, b"lo");
    }

    #[test]
    fn records_serialize_with_text_addresses_and_numbers() {
        let t = parse_route(ROUTE, "route").unwrap();
        let v = serde_json::to_value(&t.rows[1]).unwrap();
        assert_eq!(v["destination"], "203.0.113.0");
        assert_eq!(v["iface"], "va");
        assert_eq!(v["use"], 0);
        assert_eq!(v["window"], 8000);
        assert_eq!(v["flags"], 3);
    }
}
