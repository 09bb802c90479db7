//! /proc/net/arp: the IPv4 neighbour table (and proxy entries), one line per entry.

use super::{fields, hex_u64, numbered_lines, serialize_lossy, ParseWarning, ProcRoot, Table};
use serde::Serialize;
use std::net::Ipv4Addr;

/// ARP entry flags (`ATF_*` of <net/if_arp.h>).
pub mod flags {
    /// Completed entry (the hardware address is known).
    pub const COM: u32 = 0x02;
    pub const PERM: u32 = 0x04;
    /// Published (proxy) entry.
    pub const PUBL: u32 = 0x08;
    pub const USETRAILERS: u32 = 0x10;
    pub const NETMASK: u32 = 0x20;
    pub const DONTPUB: u32 = 0x40;
    pub const MAGIC: u32 = 0x80;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArpEntry {
    pub address: Ipv4Addr,
    /// ARPHRD_* hardware type (1 = Ethernet).
    pub hw_type: u32,
    pub flags: u32,
    /// As the kernel printed it (`02:00:00:00:00:09`); empty when the line has none.
    pub hw_address: String,
    pub mask: String,
    #[serde(serialize_with = "serialize_lossy")]
    pub device: Vec<u8>,
}

fn prefixed_hex(field: &[u8]) -> Option<u32> {
    let digits = field
        .strip_prefix(b"0x")
        .or_else(|| field.strip_prefix(b"0X"))?;
    hex_u64(digits).and_then(|v| u32::try_from(v).ok())
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

fn parse_line(line: &[u8]) -> Result<ArpEntry, &'static str> {
    let f: Vec<&[u8]> = fields(line).collect();
    // Six fields normally; five when an entry has no hardware address at all.
    let (hw_address, mask, device) = match f.as_slice() {
        [_, _, _, hw, mask, dev, ..] => (text(hw), text(mask), dev.to_vec()),
        [_, _, _, mask, dev] => (String::new(), text(mask), dev.to_vec()),
        _ => return Err("short line"),
    };
    let address = std::str::from_utf8(f[0])
        .ok()
        .and_then(|s| s.parse::<Ipv4Addr>().ok())
        .ok_or("IP address is not a dotted quad")?;
    let hw_type = prefixed_hex(f[1]).ok_or("HW type is not 0x-prefixed hex")?;
    let flags = prefixed_hex(f[2]).ok_or("Flags is not 0x-prefixed hex")?;
    Ok(ArpEntry {
        address,
        hw_type,
        flags,
        hw_address,
        mask,
        device,
    })
}

/// Parses /proc/net/arp (header line first). `name` labels warnings.
pub fn parse_arp(data: &[u8], name: &str) -> Table<ArpEntry> {
    let mut table = Table::default();
    for (lnr, line) in numbered_lines(data).skip(1) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line) {
            Ok(entry) => table.rows.push(entry),
            Err(why) => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            }),
        }
    }
    table
}

/// Reads `<root>/<net_dir>/arp`.
pub fn read_arp(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<ArpEntry>> {
    let rel = format!("{net_dir}/arp");
    let data = root.read(&rel)?;
    Ok(parse_arp(&data, &root.join(&rel).display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_complete_incomplete_and_proxy_entries() {
        let data =
            b"IP address       HW type     Flags       HW address            Mask     Device\n\
192.0.2.9        0x1         0x6         02:00:00:00:00:09     *        va\n\
192.0.2.11       0x1         0x0         00:00:00:00:00:00     *        va\n\
192.0.2.50       0x1         0xc         *        va\n";
        let t = parse_arp(data, "arp");
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0].address, Ipv4Addr::new(192, 0, 2, 9));
        assert_eq!(t.rows[0].flags, flags::COM | flags::PERM);
        assert_eq!(t.rows[0].hw_address, "02:00:00:00:00:09");
        assert_eq!(t.rows[1].flags, 0);
        assert_eq!(t.rows[2].hw_address, "");
        assert_eq!(t.rows[2].mask, "*");
        assert_eq!(t.rows[2].device, b"va");
    }
}
