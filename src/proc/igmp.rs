//! Multicast memberships: /proc/net/igmp (device lines, each followed by tab-indented
//! group lines) and /proc/net/igmp6 (one membership per line).

use super::dev::serialize_lossy;
use super::{fields, hex_u64, numbered_lines, ParseWarning, ProcRoot, Table};
use serde::Serialize;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One group joined on one interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Membership {
    #[serde(serialize_with = "serialize_lossy")]
    pub device: Vec<u8>,
    /// The kernel's user count for the group (netstat's RefCnt).
    pub users: i64,
    pub group: IpAddr,
}

fn dec_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let v = super::dec_u64(digits)?;
    let v = i64::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

/// `2\tveth0     :     1      V3` → `veth0`: the text after the index up to the colon.
fn device_of(line: &[u8]) -> Result<&[u8], &'static str> {
    let line = line.trim_ascii_start();
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err("no interface index");
    }
    let rest = line[digits..].trim_ascii_start();
    let end = rest.iter().position(|&b| b == b':').unwrap_or(rest.len());
    let name = rest[..end].trim_ascii_end();
    if name.is_empty() {
        return Err("no interface name");
    }
    Ok(name)
}

fn group_of(line: &[u8]) -> Result<(Ipv4Addr, i64), &'static str> {
    let mut f = fields(line);
    let hex = f.next().ok_or("empty group line")?;
    if hex.len() > 8 {
        return Err("group is not 8 hex digits");
    }
    // The kernel prints the address word as it lies in memory, like the inet tables.
    let word = hex_u64(hex).ok_or("group is not hex")? as u32;
    let users = f.next().and_then(dec_i64).ok_or("bad user count")?;
    Ok((Ipv4Addr::from(word.to_le_bytes()), users))
}

/// Parses /proc/net/igmp. Group lines belong to the device line above them.
pub fn parse_igmp(data: &[u8], name: &str) -> Table<Membership> {
    let mut table = Table::default();
    let mut device: Vec<u8> = Vec::new();
    for (lnr, line) in numbered_lines(data) {
        if lnr == 1 && line.windows(6).any(|w| w == b"Device") {
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = if line.first() == Some(&b'\t') {
            group_of(line).map(|(group, users)| {
                table.rows.push(Membership {
                    device: device.clone(),
                    users,
                    group: IpAddr::V4(group),
                })
            })
        } else {
            device_of(line).map(|d| device = d.to_vec())
        };
        if let Err(why) = parsed {
            table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            });
        }
    }
    table
}

fn igmp6_line(line: &[u8]) -> Result<Membership, &'static str> {
    let mut f = fields(line);
    f.next()
        .and_then(super::dec_u64)
        .ok_or("bad interface index")?;
    let device = f.next().ok_or("no interface name")?;
    let hex = f.next().ok_or("no group")?;
    if hex.len() != 32 {
        return Err("group is not 32 hex digits");
    }
    let mut bytes = [0u8; 16];
    for (slot, pair) in bytes.iter_mut().zip(hex.chunks(2)) {
        *slot = hex_u64(pair).ok_or("group is not hex")? as u8;
    }
    let users = f.next().and_then(dec_i64).ok_or("bad user count")?;
    Ok(Membership {
        device: device.to_vec(),
        users,
        group: IpAddr::V6(Ipv6Addr::from(bytes)),
    })
}

/// Parses /proc/net/igmp6 (no header).
pub fn parse_igmp6(data: &[u8], name: &str) -> Table<Membership> {
    let mut table = Table::default();
    for (lnr, line) in numbered_lines(data) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match igmp6_line(line) {
            Ok(m) => table.rows.push(m),
            Err(why) => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            }),
        }
    }
    table
}

/// Reads `<root>/<net_dir>/igmp` (`v6` false) or `igmp6`.
pub fn read_groups(root: &ProcRoot, net_dir: &str, v6: bool) -> io::Result<Table<Membership>> {
    let rel = format!("{net_dir}/{}", if v6 { "igmp6" } else { "igmp" });
    let data = root.read(&rel)?;
    let label = root.join(&rel).display().to_string();
    Ok(if v6 {
        parse_igmp6(&data, &label)
    } else {
        parse_igmp(&data, &label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_igmp() {
        let data = b"Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n1\tlo        :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n3\tva        :     2      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n\t\t\t\t030201EF     2 0:00000000\t\t0\n";
        let t = parse_igmp(data, "igmp");
        assert!(t.warnings.is_empty());
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0].device, b"lo");
        assert_eq!(t.rows[0].group.to_string(), "224.0.0.1");
        assert_eq!(t.rows[2].device, b"va");
        assert_eq!(t.rows[2].group.to_string(), "239.1.2.3");
        assert_eq!(t.rows[2].users, 2);
    }

    #[test]
    fn parses_igmp6() {
        let data = b"1    lo              ff020000000000000000000000000001     1 0000000C 0\n3    va              ff150000000000000000000000000042     2 00000004 0\nbogus\n";
        let t = parse_igmp6(data, "igmp6");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].group.to_string(), "ff15::42");
        assert_eq!(t.rows[1].users, 2);
        assert_eq!(t.warnings.len(), 1);
        assert_eq!(t.warnings[0].line, 3);
    }
}
