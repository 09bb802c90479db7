//! `rnetstat --arp`: the neighbour table as net-tools 2.10 `arp` (`arp -n`) prints it
//! in its default (Linux) style.

use crate::escape::escape;
use crate::proc::arp::{flags as atf, ArpEntry};
use crate::resolve::{HostNames, NetworkNames};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};

/// Hardware type names by ARPHRD number, in the order of Debian's net-tools build (the
/// first match wins; unknown types print as `ether`).
const HW_TYPES: &[(u32, &str)] = &[
    (772, "loop"),
    (256, "slip"),
    (257, "cslip"),
    (258, "slip6"),
    (259, "cslip6"),
    (264, "adaptive"),
    (781, "ash"),
    (1, "ether"),
    (3, "ax25"),
    (0, "netrom"),
    (270, "rose"),
    (768, "tunnel"),
    (512, "ppp"),
    (513, "hdlc"),
    (516, "lapb"),
    (7, "arcnet"),
    (15, "dlci"),
    (770, "frad"),
    (776, "sit"),
    (774, "fddi"),
    (780, "hippi"),
    (783, "irda"),
    (782, "ec"),
    (271, "x25"),
    (27, "eui64"),
];

pub fn hw_type_name(hw_type: u32) -> &'static str {
    HW_TYPES
        .iter()
        .find(|(t, _)| *t == hw_type)
        .map_or("ether", |(_, name)| name)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    Numeric,
    Host,
    Network,
}

/// arp asks its inet printer with a fixed netmask 0xffffff00 applied to the address in
/// network byte order, so on little-endian machines every address with a non-zero
/// first octet counts as a host (gethostbyaddr) and the rest as networks.
fn lookup(addr: Ipv4Addr, numeric: bool) -> Lookup {
    let in_memory = u32::from_ne_bytes(addr.octets());
    if numeric || addr.is_unspecified() {
        Lookup::Numeric
    } else if in_memory & !0xffff_ff00u32 != 0 {
        Lookup::Host
    } else {
        Lookup::Network
    }
}

/// Addresses to reverse-resolve and networks to look up before rendering.
pub fn arp_lookups(rows: &[ArpEntry], numeric: bool) -> (Vec<IpAddr>, Vec<Ipv4Addr>) {
    let mut hosts = Vec::new();
    let mut nets = Vec::new();
    for e in rows {
        match lookup(e.address, numeric) {
            Lookup::Host => hosts.push(IpAddr::V4(e.address)),
            Lookup::Network => nets.push(e.address),
            Lookup::Numeric => {}
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

pub fn write_arp_header(w: &mut impl Write) -> io::Result<()> {
    writeln!(
        w,
        "Address                  HWtype  HWaddress           Flags Mask            Iface"
    )
}

fn flag_letters(f: u32) -> String {
    [
        (atf::COM, 'C'),
        (atf::PERM, 'M'),
        (atf::PUBL, 'P'),
        (atf::MAGIC, 'A'),
        (atf::DONTPUB, '!'),
        (atf::USETRAILERS, 'T'),
    ]
    .iter()
    .filter(|(bit, _)| f & bit != 0)
    .map(|&(_, c)| c)
    .collect()
}

/// Pads or cuts to exactly `width` bytes (printf `%-W.Ws`), after escaping.
fn fixed(text: &str, width: usize) -> String {
    format!("{:<width$}", crate::addr::prefix(text, width))
}

pub fn write_arp_row(
    w: &mut impl Write,
    e: &ArpEntry,
    numeric: bool,
    names: Names<'_>,
) -> io::Result<()> {
    let ip = e.address.to_string();
    let name = match lookup(e.address, numeric) {
        Lookup::Numeric => None,
        Lookup::Host => names.hosts.get(&IpAddr::V4(e.address)),
        Lookup::Network => names.networks.get(&e.address),
    };
    let shown = match name {
        Some(n) if n != ip => escape(n.as_bytes()).into_owned(),
        _ => ip,
    };
    let (hw_name, hw_address) = if e.flags & atf::COM == 0 {
        if e.flags & atf::PUBL != 0 {
            ("*", String::from("<from_interface>"))
        } else {
            ("", String::from("(incomplete)"))
        }
    } else {
        (
            hw_type_name(e.hw_type),
            escape(e.hw_address.as_bytes()).into_owned(),
        )
    };
    let mask = if e.flags & atf::NETMASK != 0 {
        escape(e.mask.as_bytes()).into_owned()
    } else {
        String::new()
    };
    writeln!(
        w,
        "{}  {}{}{}{} {}",
        fixed(&shown, 23),
        fixed(hw_name, 8),
        fixed(&hw_address, 20),
        fixed(&flag_letters(e.flags), 6),
        fixed(&mask, 15),
        escape(&e.device)
    )
}

/// The table: the header only when there is at least one entry (as arp), and with
/// `verbose` arp's `Entries:` trailer.
pub fn write_arp_table(
    w: &mut impl Write,
    rows: &[ArpEntry],
    numeric: bool,
    verbose: bool,
    names: Names<'_>,
) -> io::Result<()> {
    if !rows.is_empty() {
        write_arp_header(w)?;
    }
    for e in rows {
        write_arp_row(w, e, numeric, names)?;
    }
    if verbose {
        writeln!(
            w,
            "Entries: {}\tSkipped: 0\tFound: {}",
            rows.len(),
            rows.len()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::arp::parse_arp;

    #[test]
    fn renders_like_arp_n() {
        let data =
            b"IP address       HW type     Flags       HW address            Mask     Device\n\
198.51.100.0     0x1         0x2         02:00:00:00:00:0b     *        vb\n\
192.0.2.9        0x1         0x6         02:00:00:00:00:09     *        va\n\
192.0.2.11       0x1         0x0         00:00:00:00:00:00     *        va\n\
192.0.2.50       0x1         0xc         00:00:00:00:00:00     *        va\n\
192.0.2.51       0x300       0x22        00:00:00:00:00:00     255.255.255.0 va\n";
        let t = parse_arp(data, "arp");
        let hosts = HostNames::default();
        let networks = NetworkNames::default();
        let names = Names {
            hosts: &hosts,
            networks: &networks,
        };
        let mut out = Vec::new();
        write_arp_table(&mut out, &t.rows, true, true, names).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Address                  HWtype  HWaddress           Flags Mask            Iface\n\
198.51.100.0             ether   02:00:00:00:00:0b   C                     vb\n\
192.0.2.9                ether   02:00:00:00:00:09   CM                    va\n\
192.0.2.11                       (incomplete)                              va\n\
192.0.2.50               *       <from_interface>    MP                    va\n\
192.0.2.51               tunnel  00:00:00:00:00:00   C     255.255.255.0   va\n\
Entries: 5\tSkipped: 0\tFound: 5\n"
        );
        let mut empty = Vec::new();
        write_arp_table(&mut empty, &[], true, false, names).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn hw_names() {
        assert_eq!(hw_type_name(1), "ether");
        assert_eq!(hw_type_name(0), "netrom");
        assert_eq!(hw_type_name(9999), "ether");
    }
}
