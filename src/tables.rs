//! The internet socket tables, from the cheapest source that gives the same rows.
//!
//! sock_diag gives the rows of /proc/net/tcp, tcp6, udp and udp6 in their order for a
//! fraction of the kernel's work: no text to format, and one walk of the TCP hash for
//! both families instead of one per file (plus the final empty read, which walks it
//! again). The /proc readers stay for everything else: captures, other namespaces,
//! UDP-Lite and raw, and any dump that fails.

use crate::netlink::{self, DiagSocket};
use crate::proc::inet::{self, InetSocket, Proto};
use crate::proc::{ProcRoot, Table};
use std::io;

/// Set to `proc` to read every table from /proc/net text (benchmarks, tests).
pub const TABLE_SOURCE_ENV: &str = "RNETSTAT_TABLE_SOURCE";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableSource {
    Proc,
    /// /proc for what sock_diag cannot give or when a dump fails. `tcp_states`: the
    /// TCP states whose rows the caller can use, so the kernel skips the rest.
    SockDiag {
        tcp_states: u32,
    },
}

impl TableSource {
    /// sock_diag for the live system's own namespace (a dump describes the namespace
    /// of the socket it is sent on) unless [`TABLE_SOURCE_ENV`] asks for /proc.
    pub fn for_namespace(root: &ProcRoot, own_namespace: bool, tcp_states: u32) -> TableSource {
        let forced_proc = std::env::var_os(TABLE_SOURCE_ENV).is_some_and(|v| v == "proc");
        if forced_proc || !own_namespace || !root.is_live() {
            TableSource::Proc
        } else {
            TableSource::SockDiag { tcp_states }
        }
    }
}

/// Reads the `wanted` tables of the namespace under `dir`, in that order: TCP from one
/// dump for both families and UDP from one dump per family when `source` allows, the
/// /proc file otherwise or when a dump fails or has replies that do not parse (a
/// table with holes /proc has not).
pub fn read_inet_tables(
    root: &ProcRoot,
    dir: &str,
    wanted: &[(Proto, bool)],
    source: TableSource,
) -> Vec<(Proto, bool, io::Result<Table<InetSocket>>)> {
    let (diag, tcp_states) = match source {
        TableSource::SockDiag { tcp_states } => (DiagSocket::open().ok(), tcp_states),
        TableSource::Proc => (None, 0),
    };
    let mut tcp: Option<Option<[Table<InetSocket>; 2]>> = None;
    wanted
        .iter()
        .map(|&(proto, v6)| {
            let dumped = diag.as_ref().and_then(|sock| match proto {
                Proto::Tcp => tcp
                    .get_or_insert_with(|| netlink::inet::dump_tcp(sock, tcp_states).ok())
                    .as_mut()
                    .map(|both| std::mem::take(&mut both[usize::from(v6)])),
                Proto::Udp => netlink::inet::dump(sock, proto, v6)
                    .ok()
                    .map(|(t, _)| t)
                    .filter(|t| t.warnings.is_empty()),
                Proto::UdpLite | Proto::Raw => None,
            });
            let table = match dumped {
                Some(table) => Ok(table),
                None => inet::read_table(root, dir, proto, v6),
            };
            (proto, v6, table)
        })
        .collect()
}
