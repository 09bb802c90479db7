//! One namespace's sockets as the two kernel interfaces show them: the /proc/net text
//! tables and the sock_diag netlink dumps. Also the recorded form of both, which the
//! cross-view tests feed in.

use crate::netlink::unix::DiagUnixSocket;
use crate::netlink::{self, DiagSocket};
use crate::proc::inet::{self, InetSocket, Proto};
use crate::proc::packet::{self, PacketSocket};
use crate::proc::unix::{self, UnixSocket};
use crate::proc::{dec_u64, fields, numbered_lines, ProcRoot};
use std::collections::HashSet;
use std::io::{self, Write};
use std::path::Path;

/// The protocols both interfaces can list.
pub const DIAG_PROTOS: [(Proto, bool); 4] = [
    (Proto::Tcp, false),
    (Proto::Tcp, true),
    (Proto::Udp, false),
    (Proto::Udp, true),
];

#[derive(Clone, Debug, Default)]
pub struct Views {
    /// tcp, udp, udplite and raw tables, v4 and v6.
    pub proc_inet: Vec<InetSocket>,
    pub proc_unix: Vec<UnixSocket>,
    pub proc_packet: Vec<PacketSocket>,
    /// Inodes of the other tables a socket can be listed in (netlink, icmp, icmp6).
    pub other_inodes: HashSet<u64>,
    /// TCP and UDP, v4 and v6, from sock_diag; `None` when netlink could not be used.
    pub diag_inet: Option<Vec<InetSocket>>,
    pub diag_unix: Option<Vec<DiagUnixSocket>>,
    pub warnings: Vec<String>,
}

impl Views {
    /// Reads the tables of `net_dir` (`net`, `thread-self/net`, `PID/net`) and, when a
    /// diag socket is given, dumps the same namespace through it right after.
    pub fn read(root: &ProcRoot, net_dir: &str, diag: Option<&DiagSocket>) -> io::Result<Views> {
        let mut v = Views::default();
        for proto in Proto::ALL {
            for v6 in [false, true] {
                match inet::read_table(root, net_dir, proto, v6) {
                    Ok(t) => {
                        v.warnings.extend(t.warnings.iter().map(|w| w.to_string()));
                        v.proc_inet.extend(t.rows);
                    }
                    Err(e) if proto == Proto::Tcp && !v6 => {
                        return Err(io::Error::new(e.kind(), format!("{net_dir}/tcp: {e}")))
                    }
                    Err(_) => {}
                }
            }
        }
        match unix::read_table(root, net_dir) {
            Ok(t) => {
                v.warnings.extend(t.warnings.iter().map(|w| w.to_string()));
                v.proc_unix = t.rows;
            }
            Err(e) => v.warnings.push(format!("{net_dir}/unix: {e}")),
        }
        match packet::read_table(root, net_dir) {
            Ok(t) => {
                v.warnings.extend(t.warnings.iter().map(|w| w.to_string()));
                v.proc_packet = t.rows;
            }
            Err(e) => v.warnings.push(format!("{net_dir}/packet: {e}")),
        }
        if let Ok(data) = root.read(&format!("{net_dir}/netlink")) {
            v.other_inodes.extend(last_column_inodes(&data));
        }
        for (file, v6) in [("icmp", false), ("icmp6", true)] {
            if let Ok(data) = root.read(&format!("{net_dir}/{file}")) {
                let t = inet::parse_table(&data, Proto::Raw, v6, file);
                v.other_inodes.extend(t.rows.iter().map(|s| s.inode));
            }
        }
        if let Some(diag) = diag {
            v.dump_diag(diag);
            // A newline in a bound path makes /proc/net/unix show rows that do not
            // exist: not a rootkit hiding sockets from sock_diag.
            if let Some(dumped) = &v.diag_unix {
                let forged = netlink::unix::repair_proc_rows(&mut v.proc_unix, dumped);
                if forged > 0 {
                    v.warnings.push(format!(
                        "{net_dir}/unix: {forged} line(s) came from socket paths with newlines \
                         (repaired from sock_diag)"
                    ));
                }
            }
        }
        Ok(v)
    }

    fn dump_diag(&mut self, diag: &DiagSocket) {
        let mut rows = Vec::new();
        for (proto, v6) in DIAG_PROTOS {
            match dump_consistent(|| netlink::inet::dump(diag, proto, v6)) {
                Ok(t) => {
                    self.warnings
                        .extend(t.warnings.iter().map(|w| w.to_string()));
                    rows.extend(t.rows);
                }
                Err(e) => {
                    self.warnings
                        .push(format!("sock_diag {}: {e}", proto.file(v6)));
                    return;
                }
            }
        }
        self.diag_inet = Some(rows);
        match dump_consistent(|| netlink::unix::dump_with(diag)) {
            Ok(t) => {
                self.warnings
                    .extend(t.warnings.iter().map(|w| w.to_string()));
                self.diag_unix = Some(t.rows);
            }
            Err(e) => self.warnings.push(format!("sock_diag unix: {e}")),
        }
    }

    /// Every inode any table of the namespace lists.
    pub fn listed_inodes(&self) -> HashSet<u64> {
        let mut set: HashSet<u64> = self.other_inodes.clone();
        set.extend(self.proc_inet.iter().map(|s| s.inode));
        set.extend(self.proc_unix.iter().map(|s| s.inode));
        set.extend(self.proc_packet.iter().map(|s| s.inode));
        set.extend(self.diag_inet.iter().flatten().map(|s| s.inode));
        set.extend(self.diag_unix.iter().flatten().map(|s| s.inode));
        set.remove(&0);
        set
    }

    /// Loads views recorded by [`Views::record`]: the text tables as /proc printed
    /// them, and the raw sock_diag replies.
    pub fn load_recorded(dir: &Path) -> io::Result<Views> {
        let root = ProcRoot::new(dir);
        let mut v = Views::read(&root, ".", None)?;
        let inet_data = crate::proc::read_file(&dir.join("diag_inet"))?;
        let mut rows = Vec::new();
        for (tag, payload) in recorded_records(&inet_data) {
            let proto = if tag == libc::IPPROTO_UDP as u8 {
                Proto::Udp
            } else {
                Proto::Tcp
            };
            match netlink::inet::parse_message(payload, proto) {
                Ok(s) => rows.push(s),
                Err(why) => v.warnings.push(format!("diag_inet: {why}")),
            }
        }
        v.diag_inet = Some(rows);
        let unix_data = crate::proc::read_file(&dir.join("diag_unix"))?;
        let mut rows = Vec::new();
        for (_, payload) in recorded_records(&unix_data) {
            match netlink::unix::parse_message(payload) {
                Ok(s) => rows.push(s),
                Err(why) => v.warnings.push(format!("diag_unix: {why}")),
            }
        }
        v.diag_unix = Some(rows);
        Ok(v)
    }

    /// Records the current namespace's tables and sock_diag replies into `dir`
    /// (what the cross-view fixtures were made with).
    pub fn record(dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for f in ["tcp", "tcp6", "udp", "udp6", "unix"] {
            std::fs::copy(format!("/proc/net/{f}"), dir.join(f))?;
        }
        let diag = DiagSocket::open()?;
        let mut out = std::fs::File::create(dir.join("diag_inet"))?;
        for (proto, v6) in DIAG_PROTOS {
            let Some(req) = netlink::inet::request(proto, v6) else {
                continue;
            };
            let tag = if proto == Proto::Udp {
                libc::IPPROTO_UDP
            } else {
                libc::IPPROTO_TCP
            } as u8;
            let mut err = None;
            diag.dump(&req, |p| {
                if let Err(e) = write_record(&mut out, tag, p) {
                    err.get_or_insert(e);
                }
            })?;
            if let Some(e) = err {
                return Err(e);
            }
        }
        let mut out = std::fs::File::create(dir.join("diag_unix"))?;
        let mut err = None;
        diag.dump(&netlink::unix::request(), |p| {
            if let Err(e) = write_record(&mut out, 0, p) {
                err.get_or_insert(e);
            }
        })?;
        err.map_or(Ok(()), Err)
    }
}

/// Retries a dump the kernel flagged as interrupted (the table changed under it).
fn dump_consistent<T>(
    mut f: impl FnMut() -> io::Result<(crate::proc::Table<T>, bool)>,
) -> io::Result<crate::proc::Table<T>> {
    let mut last = None;
    for _ in 0..3 {
        let (t, interrupted) = f()?;
        if !interrupted {
            return Ok(t);
        }
        last = Some(t);
    }
    last.ok_or_else(|| io::ErrorKind::Interrupted.into())
}

fn write_record(out: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    out.write_all(&[tag])?;
    out.write_all(&(payload.len() as u32).to_le_bytes())?;
    out.write_all(payload)
}

/// `tag, u32 LE length, payload` records; stops at a truncated one.
fn recorded_records(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&tag, rest) = data.split_first()?;
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let payload = rest.get(4..4 + len)?;
        data = &rest[4 + len..];
        Some((tag, payload))
    })
}

/// The Inode column of /proc/net/netlink (its last one).
fn last_column_inodes(data: &[u8]) -> impl Iterator<Item = u64> + '_ {
    numbered_lines(data)
        .skip(1)
        .filter_map(|(_, line)| fields(line).last().and_then(dec_u64))
}
