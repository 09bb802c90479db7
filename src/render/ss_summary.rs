//! `ss -s`'s text, line for line as iproute2 6.1's print_summary() writes it, and the
//! same numbers as `--json`'s `ss_summary` object.

use crate::ss::summary::Summary;
use serde_json::{json, Value};
use std::io::{self, Write};

/// What print_summary() derives from the counters, computed once for both views
/// (with its wrapping int arithmetic: the counters are the kernel's, not ours to trust).
struct Totals {
    total: i32,
    tcp: i32,
    estab: i32,
    closed: i32,
    orphaned: i32,
    timewait: i32,
    /// (name, IP, IPv6) in ss's order; the total is their sum.
    transports: [(&'static str, i32, i32); 5],
}

impl Totals {
    fn of(summary: &Summary) -> Totals {
        let s = &summary.sockstat;
        Totals {
            total: s.socks,
            tcp: s.tcp_total.wrapping_add(s.tcp_tws),
            estab: summary.estab,
            closed: s.tcp_total.wrapping_sub(
                s.tcp4_hashed
                    .wrapping_add(s.tcp6_hashed)
                    .wrapping_sub(s.tcp_tws),
            ),
            orphaned: s.tcp_orphans,
            timewait: s.tcp_tws,
            transports: [
                ("RAW", s.raw4, s.raw6),
                ("UDP", s.udp4, s.udp6),
                ("TCP", s.tcp4_hashed, s.tcp6_hashed),
                (
                    "INET",
                    s.raw4.wrapping_add(s.udp4).wrapping_add(s.tcp4_hashed),
                    s.raw6.wrapping_add(s.udp6).wrapping_add(s.tcp6_hashed),
                ),
                ("FRAG", s.frag4, s.frag6),
            ],
        }
    }
}

pub fn write(out: &mut impl Write, summary: &Summary) -> io::Result<()> {
    let t = Totals::of(summary);
    writeln!(out, "Total: {}", t.total)?;
    writeln!(
        out,
        "TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})",
        t.tcp, t.estab, t.closed, t.orphaned, t.timewait
    )?;
    writeln!(out)?;
    writeln!(out, "Transport Total     IP        IPv6")?;
    for (name, ip, ipv6) in t.transports {
        writeln!(
            out,
            "{name}\t  {:<9} {:<9} {:<9}",
            ip.wrapping_add(ipv6),
            ip,
            ipv6
        )?;
    }
    writeln!(out)
}

/// The `ss_summary` object (docs/json.md) of the namespace whose inode is `namespace`.
pub fn json(summary: &Summary, namespace: Option<u64>) -> Value {
    let t = Totals::of(summary);
    let mut transports = serde_json::Map::new();
    for (name, ip, ipv6) in t.transports {
        transports.insert(
            name.to_ascii_lowercase(),
            json!({"total": ip.wrapping_add(ipv6), "ip": ip, "ipv6": ipv6}),
        );
    }
    json!({
        "namespace": namespace,
        "total": t.total,
        "tcp": {
            "total": t.tcp,
            "estab": t.estab,
            "closed": t.closed,
            "orphaned": t.orphaned,
            "timewait": t.timewait,
        },
        "transports": transports,
    })
}
