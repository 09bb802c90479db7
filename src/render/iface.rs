//! netstat's interface views (formats.md A6): the `-i` table and the ifconfig-style
//! blocks of `-ie`, from records read beforehand.

use crate::addr::netstat_host;
use crate::escape::escape;
use crate::proc::dev::*;
use crate::resolve::HostNames;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};

/// What `-i` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceOptions {
    /// `-a`: interfaces that are down too.
    pub all: bool,
    /// `-e`: ifconfig-style blocks instead of the table.
    pub long: bool,
}

/// One interface as the views need it.
pub struct Interface<'a> {
    pub name: &'a [u8],
    /// `None` for names /proc/net/dev does not list (IPv4 alias labels).
    pub counters: Option<&'a DevCounters>,
    pub link: &'a Link,
}

impl Interface<'_> {
    pub fn shown(&self, opts: &IfaceOptions) -> bool {
        opts.all || self.link.flags & IFF_UP != 0
    }
}

pub fn write_title(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "Kernel Interface table")
}

pub fn write_table_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg"
    )
}

/// The Flg column: netstat's letters in netstat's order (P twice: PROMISC and
/// POINTOPOINT).
pub fn flag_letters(flags: u16) -> String {
    if flags == 0 {
        return "[NO FLAGS]".to_string();
    }
    const LETTERS: [(u16, char); 13] = [
        (IFF_ALLMULTI, 'A'),
        (IFF_BROADCAST, 'B'),
        (IFF_DEBUG, 'D'),
        (IFF_LOOPBACK, 'L'),
        (IFF_MULTICAST, 'M'),
        (IFF_DYNAMIC, 'd'),
        (IFF_PROMISC, 'P'),
        (IFF_NOTRAILERS, 'N'),
        (IFF_NOARP, 'O'),
        (IFF_POINTOPOINT, 'P'),
        (IFF_SLAVE, 's'),
        (IFF_MASTER, 'm'),
        (IFF_RUNNING, 'R'),
    ];
    let mut s: String = LETTERS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|&(_, c)| c)
        .collect();
    if flags & IFF_UP != 0 {
        s.push('U');
    }
    s
}

/// `flags=4163<UP,BROADCAST,RUNNING,MULTICAST>`, including netstat's edge cases: the
/// number is the signed 16-bit word, no flags gives `flags=0<`, and unnamed bits alone
/// give no brackets at all.
pub fn flag_words(flags: u16) -> String {
    const NAMES: [(u16, &str); 14] = [
        (IFF_UP, "UP"),
        (IFF_BROADCAST, "BROADCAST"),
        (IFF_DEBUG, "DEBUG"),
        (IFF_LOOPBACK, "LOOPBACK"),
        (IFF_POINTOPOINT, "POINTOPOINT"),
        (IFF_NOTRAILERS, "NOTRAILERS"),
        (IFF_RUNNING, "RUNNING"),
        (IFF_NOARP, "NOARP"),
        (IFF_PROMISC, "PROMISC"),
        (IFF_ALLMULTI, "ALLMULTI"),
        (IFF_SLAVE, "SLAVE"),
        (IFF_MASTER, "MASTER"),
        (IFF_MULTICAST, "MULTICAST"),
        (IFF_DYNAMIC, "DYNAMIC"),
    ];
    let mut s = format!("flags={}<", flags as i16);
    if flags == 0 {
        s.push('>');
    }
    for (bit, name) in NAMES {
        if flags & bit != 0 {
            s.push_str(name);
            s.push(',');
        }
    }
    if s.ends_with(',') {
        s.pop();
        s.push('>');
    } else {
        s.pop();
    }
    s
}

fn name_column(name: &[u8]) -> String {
    let cut = &name[..name.len().min(15)];
    format!("{:<15}", escape(cut))
}

pub fn write_table_row(out: &mut impl Write, iface: &Interface) -> io::Result<()> {
    write!(out, "{} {:5} ", name_column(iface.name), iface.link.mtu)?;
    match iface.counters {
        Some(c) => write!(
            out,
            "{:8} {:6} {:6} {:<6} {:8} {:6} {:6} {:6} ",
            c.rx_packets,
            c.rx_errors,
            c.rx_dropped,
            c.rx_fifo,
            c.tx_packets,
            c.tx_errors,
            c.tx_dropped,
            c.tx_fifo
        )?,
        None => write!(out, "{:<56}", "     - no statistics available -")?,
    }
    writeln!(out, "{}", flag_letters(iface.link.flags))
}

/// Bytes in netstat's short form: one decimal of the largest binary unit the value
/// strictly exceeds, truncated (`50090` → `48.9 KiB`).
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1 << 10;
    let tenths = n.wrapping_mul(10);
    let (value, unit) = if n > 1 << 60 {
        // net-tools divides by 2^60/10 here instead of scaling by ten first.
        (n / 115_292_150_460_684_697, "EiB")
    } else if n > 1 << 50 {
        (tenths / (1 << 50), "PiB")
    } else if n > 1 << 40 {
        (tenths / (1 << 40), "TiB")
    } else if n > 1 << 30 {
        (tenths / (1 << 30), "GiB")
    } else if n > 1 << 20 {
        (tenths / (1 << 20), "MiB")
    } else if n > KIB {
        (tenths / KIB, "KiB")
    } else {
        (tenths, "B")
    };
    format!("{}.{} {}", value / 10, value % 10, unit)
}

/// How netstat names and prints a hardware type (net-tools' hwtypes as Debian builds
/// them; unknown types print as `unspec`).
struct HwType {
    name: &'static str,
    title: &'static str,
    print: Option<fn(&[u8; 8]) -> String>,
}

fn colon_lower(a: &[u8; 8], n: usize) -> String {
    a[..n]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn joined_upper(a: &[u8; 8], n: usize, sep: &str) -> String {
    a[..n]
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

fn hw_type(kind: u16) -> HwType {
    let hw = |name, title, print| HwType { name, title, print };
    // The kernel's ARPHRD_* numbers, compared as netstat's `short` does.
    match kind {
        772 => hw("loop", "Local Loopback", None),
        256 => hw("slip", "Serial Line IP", None),
        257 => hw("cslip", "VJ Serial Line IP", None),
        258 => hw("slip6", "6-bit Serial Line IP", None),
        259 => hw("cslip6", "VJ 6-bit Serial Line IP", None),
        264 => hw("adaptive", "Adaptive Serial Line IP", None),
        1 => hw("ether", "Ethernet", Some(|a| colon_lower(a, 6))),
        768 => hw("tunnel", "IPIP Tunnel", Some(|_| String::new())),
        512 => hw("ppp", "Point-to-Point Protocol", None),
        513 => hw("hdlc", "(Cisco)-HDLC", None),
        516 => hw("lapb", "LAPB", None),
        7 => hw("arcnet", "ARCnet", Some(|a| format!("{:02X}", a[0]))),
        15 => hw(
            "dlci",
            "Frame Relay DLCI",
            Some(|a| i16::from_ne_bytes([a[0], a[1]]).to_string()),
        ),
        770 => hw("frad", "Frame Relay Access Device", None),
        776 => hw("sit", "IPv6-in-IPv4", None),
        774 => hw(
            "fddi",
            "Fiber Distributed Data Interface",
            Some(|a| joined_upper(a, 6, "-")),
        ),
        780 => hw("hippi", "HIPPI", Some(|a| joined_upper(a, 6, ":"))),
        783 => hw(
            "irda",
            "IrLAP",
            Some(|a| format!("{:02x}:{:02x}:{:02x}:{:02x}", a[3], a[2], a[1], a[0])),
        ),
        27 => hw("eui64", "Generic EUI-64", Some(|a| joined_upper(a, 8, ":"))),
        _ => hw(
            "unspec",
            "UNSPEC",
            // 16 bytes, of which the kernel answer fills the first 8.
            Some(|a| {
                let mut all = [0u8; 16];
                all[..8].copy_from_slice(a);
                all.iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join("-")
            }),
        ),
    }
}

fn v4_text(a: Option<Ipv4Addr>) -> String {
    a.map_or_else(|| "[NONE SET]".to_string(), |a| a.to_string())
}

/// `<compat,global,link,site,host>` from the if_inet6 scope bits, as ifconfig words it.
fn scope_words(scope: u32) -> String {
    let mut s = String::from("<");
    let mut rest = scope;
    if rest & 0x80 != 0 {
        s.push_str("compat,");
        rest -= 0x80;
    }
    if rest == 0 {
        s.push_str("global,");
    }
    for (bit, word) in [(0x20, "link,"), (0x40, "site,"), (0x10, "host,")] {
        if rest & bit != 0 {
            s.push_str(word);
        }
    }
    if s.ends_with(',') {
        s.pop();
        s.push('>');
    } else {
        s.pop();
    }
    s
}

const MEDIA: [&str; 7] = [
    "unknown",
    "10base2",
    "10baseT",
    "AUI",
    "100baseT",
    "100baseTX",
    "100baseFX",
];

/// One ifconfig-style block, ending with its blank line. `inet6` is the whole
/// if_inet6 table; the rows naming this interface are printed in file order.
pub fn write_block(out: &mut impl Write, iface: &Interface, inet6: &[Inet6Addr]) -> io::Result<()> {
    let link = iface.link;
    writeln!(
        out,
        "{}: {}  mtu {}",
        escape(iface.name),
        flag_words(link.flags),
        link.mtu
    )?;
    if let Some(v4) = &link.ipv4 {
        write!(
            out,
            "        inet {}  netmask {}",
            v4_text(v4.address),
            v4_text(v4.netmask)
        )?;
        if link.flags & IFF_BROADCAST != 0 {
            write!(out, "  broadcast {}", v4_text(v4.broadcast))?;
        }
        if link.flags & IFF_POINTOPOINT != 0 {
            write!(out, "  destination {}", v4_text(v4.destination))?;
        }
        writeln!(out)?;
    }
    let numeric = HostNames::default();
    for a in inet6.iter().filter(|a| a.name == iface.name) {
        writeln!(
            out,
            "        inet6 {}  prefixlen {}  scopeid 0x{:x}{}",
            netstat_host(&IpAddr::V6(a.address), true, &numeric),
            a.prefix_len,
            a.scope,
            scope_words(a.scope)
        )?;
    }
    let hw = hw_type(link.hw_type);
    match hw.print {
        Some(print) => write!(out, "        {} {}", hw.name, print(&link.hw_addr))?,
        None => write!(out, "        {}", hw.name)?,
    }
    if let Some(q) = link.tx_queue_len.filter(|&q| q != -1) {
        write!(out, "  txqueuelen {q}")?;
    }
    writeln!(out, "  ({})", hw.title)?;
    if link.flags & IFF_PORTSEL != 0 {
        let media = MEDIA.get(link.map.port as usize).unwrap_or(&"unknown");
        write!(out, "        media {media}")?;
        if link.flags & IFF_AUTOMEDIA != 0 {
            write!(out, "autoselect")?;
        }
        writeln!(out)?;
    }
    let compressed = matches!(link.hw_type, 257 | 259);
    if let Some(c) = iface.counters {
        writeln!(
            out,
            "        RX packets {}  bytes {} ({})",
            c.rx_packets,
            c.rx_bytes,
            human_bytes(c.rx_bytes)
        )?;
        if compressed {
            writeln!(out, "        RX compressed:{}", c.rx_compressed)?;
        }
        writeln!(
            out,
            "        RX errors {}  dropped {}  overruns {}  frame {}",
            c.rx_errors, c.rx_dropped, c.rx_fifo, c.rx_frame
        )?;
        writeln!(
            out,
            "        TX packets {}  bytes {} ({})",
            c.tx_packets,
            c.tx_bytes,
            human_bytes(c.tx_bytes)
        )?;
        if compressed {
            writeln!(out, "        TX compressed {}", c.tx_compressed)?;
        }
        writeln!(
            out,
            "        TX errors {}  dropped {} overruns {}  carrier {}  collisions {}",
            c.tx_errors, c.tx_dropped, c.tx_fifo, c.tx_carrier, c.collisions
        )?;
    }
    let map = &link.map;
    if map.irq != 0 || map.mem_start != 0 || map.dma != 0 || map.base_addr >= 0x100 {
        write!(out, "        device ")?;
        if map.irq != 0 {
            write!(out, "interrupt {}  ", map.irq)?;
        }
        if map.base_addr >= 0x100 {
            write!(out, "base 0x{:x}  ", map.base_addr)?;
        }
        if map.mem_start != 0 {
            write!(out, "memory 0x{:x}-{:x}  ", map.mem_start, map.mem_end)?;
        }
        if map.dma != 0 {
            write!(out, "  dma 0x{:x}", map.dma)?;
        }
        writeln!(out)?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_words() {
        assert_eq!(flag_letters(0x1103), "BMPU");
        assert_eq!(flag_letters(0x1143), "BMPRU");
        assert_eq!(flag_letters(0x49), "LRU");
        assert_eq!(flag_letters(0x91), "OPU");
        assert_eq!(flag_letters(0), "[NO FLAGS]");
        assert_eq!(
            flag_words(0x1143),
            "flags=4419<UP,BROADCAST,RUNNING,PROMISC,MULTICAST>"
        );
        assert_eq!(flag_words(0x49), "flags=73<UP,LOOPBACK,RUNNING>");
        assert_eq!(flag_words(0), "flags=0<");
        assert_eq!(flag_words(0x2000), "flags=8192");
        assert_eq!(flag_words(0x8001), "flags=-32767<UP,DYNAMIC>");
    }

    #[test]
    fn human_units_truncate() {
        assert_eq!(human_bytes(0), "0.0 B");
        assert_eq!(human_bytes(1024), "1024.0 B");
        assert_eq!(human_bytes(50090), "48.9 KiB");
        assert_eq!(human_bytes(63767268), "60.8 MiB");
        assert_eq!(human_bytes(520226), "508.0 KiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn scopes() {
        assert_eq!(scope_words(0x20), "<link>");
        assert_eq!(scope_words(0), "<global>");
        assert_eq!(scope_words(0x10), "<host>");
        assert_eq!(scope_words(0x80), "<compat,global>");
        assert_eq!(scope_words(0x1), "");
    }
}
