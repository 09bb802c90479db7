//! `ss -s`'s text, line for line as iproute2 6.1's print_summary() writes it.

use crate::ss::summary::Summary;
use std::io::{self, Write};

pub fn write(out: &mut impl Write, summary: &Summary) -> io::Result<()> {
    let s = &summary.sockstat;
    let estab = summary.estab;
    writeln!(out, "Total: {}", s.socks)?;
    writeln!(
        out,
        "TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})",
        s.tcp_total.wrapping_add(s.tcp_tws),
        estab,
        s.tcp_total.wrapping_sub(
            s.tcp4_hashed
                .wrapping_add(s.tcp6_hashed)
                .wrapping_sub(s.tcp_tws)
        ),
        s.tcp_orphans,
        s.tcp_tws
    )?;
    writeln!(out)?;
    writeln!(out, "Transport Total     IP        IPv6")?;
    let line = |out: &mut dyn Write, name: &str, a: i32, b: i32| {
        writeln!(out, "{name}\t  {:<9} {:<9} {:<9}", a.wrapping_add(b), a, b)
    };
    line(out, "RAW", s.raw4, s.raw6)?;
    line(out, "UDP", s.udp4, s.udp6)?;
    line(out, "TCP", s.tcp4_hashed, s.tcp6_hashed)?;
    line(
        out,
        "INET",
        s.raw4.wrapping_add(s.udp4).wrapping_add(s.tcp4_hashed),
        s.raw6.wrapping_add(s.udp6).wrapping_add(s.tcp6_hashed),
    )?;
    line(out, "FRAG", s.frag4, s.frag6)?;
    writeln!(out)
}
