//! /proc/net/packet: AF_PACKET sockets (sniffers, DHCP clients, LLDP agents).

use super::{dec_u64, fields, hex_u64, numbered_lines, ParseWarning, ProcRoot, Table};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSocket {
    pub kernel_addr: u64,
    pub refcnt: u64,
    /// SOCK_RAW (3) or SOCK_DGRAM (2).
    pub sock_type: u16,
    /// Ethertype the socket receives, host order (0x0003 = ETH_P_ALL).
    pub ethertype: u16,
    /// Interface index it is bound to; 0 = every interface.
    pub ifindex: i32,
    pub running: bool,
    pub rmem: u64,
    pub uid: u32,
    pub inode: u64,
}

pub fn parse_line(line: &[u8]) -> Result<PacketSocket, &'static str> {
    let mut f = fields(line);
    let kernel_addr = f.next().and_then(hex_u64).ok_or("bad sk")?;
    let refcnt = f.next().and_then(dec_u64).ok_or("bad RefCnt")?;
    let sock_type = f
        .next()
        .and_then(dec_u64)
        .filter(|&t| t <= 0xffff)
        .ok_or("bad Type")? as u16;
    let ethertype = f
        .next()
        .and_then(hex_u64)
        .filter(|&p| p <= 0xffff)
        .ok_or("bad Proto")? as u16;
    let ifindex = f
        .next()
        .and_then(|s| std::str::from_utf8(s).ok()?.parse::<i32>().ok())
        .ok_or("bad Iface")?;
    let running = f.next().and_then(dec_u64).ok_or("bad R")? != 0;
    let rmem = f.next().and_then(dec_u64).ok_or("bad Rmem")?;
    let uid = f
        .next()
        .and_then(dec_u64)
        .filter(|&u| u <= u32::MAX as u64)
        .ok_or("bad User")? as u32;
    let inode = f.next().and_then(dec_u64).ok_or("bad Inode")?;
    Ok(PacketSocket {
        kernel_addr,
        refcnt,
        sock_type,
        ethertype,
        ifindex,
        running,
        rmem,
        uid,
        inode,
    })
}

pub fn parse_table(data: &[u8], name: &str) -> Table<PacketSocket> {
    let mut table = Table::default();
    for (lnr, line) in numbered_lines(data).skip(1) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line) {
            Ok(s) => table.rows.push(s),
            Err(why) => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            }),
        }
    }
    table
}

/// Reads `<root>/<net_dir>/packet`.
pub fn read_table(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<PacketSocket>> {
    let rel = format!("{net_dir}/packet");
    let data = root.read(&rel)?;
    Ok(parse_table(&data, &root.join(&rel).display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_table() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/audit/packet"
        ))
        .unwrap();
        let t = parse_table(&data, "packet");
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].ethertype, 0x0003);
        assert_eq!(t.rows[0].sock_type, 3);
        assert_eq!(t.rows[0].ifindex, 0);
        assert_eq!(t.rows[1].ifindex, 4);
        assert_eq!(t.rows[1].inode, 168263);
        assert_eq!(t.rows[1].ethertype, 0x0806);
    }

    #[test]
    fn broken_lines_warn() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/audit/packet.broken"
        ))
        .unwrap();
        let t = parse_table(&data, "packet");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.warnings.len(), 3);
        assert_eq!(t.warnings[0].line, 2);
    }
}
