//! `--queues DIR` and `--capture DIR --queues`: the receive queues of the sockets the
//! same options would list (src/queues.rs does the reading). Only those sockets are
//! duplicated, and only when they may hold data: a TCP listener's queue holds
//! connections, and an inet row whose Recv-Q is 0 holds nothing.

use super::netstat::{read_tables, target_namespaces};
use super::output;
use crate::cli::netstat::{Config, QueuesConfig};
use crate::outdir::OutDir;
use crate::proc::inet::{InetSocket, Proto};
use crate::proc::unix::UnixSocket;
use crate::queues::{self, ManifestLine, Writer};
use crate::render::netstat::{self as view, unix_type_name};
use crate::snapshot::{OwnerDetail, Owners};
use crate::tables::TableSource;
use std::io;
use std::net::IpAddr;
use std::path::Path;

/// The name messages start with (see [`output::program_name`]).
fn prog() -> &'static str {
    output::program_name("rnetstat")
}
const TCP_LISTEN: u8 = 10;

/// What a dump did, for stderr and summary.json.
#[derive(Default)]
struct Counts {
    examined: u64,
    written: u64,
    bytes: u64,
    cut: u64,
    /// Sockets whose queued data could not be read, or not in full.
    unread: u64,
    /// Unix sockets nobody visible holds: their queues are unknown.
    unix_without_holder: u64,
}

/// `--queues DIR`: a new private directory holding only the dump.
pub fn run_alone(config: &Config, q: &QueuesConfig) -> u8 {
    let Some(dir) = q.dir.as_deref() else {
        return 2;
    };
    match OutDir::create_new(dir) {
        Ok(out) => dump(config, q, &out, dir),
        Err(e) => {
            output::warn(prog(), format_args!("--queues: {e}"));
            2
        }
    }
}

/// `--capture DIR --queues`: the dump goes into the capture's directory.
pub fn run_in_capture(config: &Config, q: &QueuesConfig, capture_dir: &Path) -> u8 {
    match OutDir::open(capture_dir) {
        Ok(out) => dump(config, q, &out, capture_dir),
        Err(e) => {
            output::warn(prog(), format_args!("--queues: {e}"));
            2
        }
    }
}

fn endpoint(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{}]:{port}", crate::addr::ntop6(a)),
    }
}

fn inet_line(s: &InetSocket) -> ManifestLine {
    ManifestLine {
        inode: s.inode,
        protocol: s.proto.file(s.v6).to_string(),
        socket_type: match s.proto {
            Proto::Tcp => "stream",
            Proto::Udp | Proto::UdpLite => "dgram",
            Proto::Raw => "raw",
        }
        .to_string(),
        local: endpoint(&s.local, s.local_port),
        remote: endpoint(&s.remote, s.remote_port),
        state: view::inet_state_text(s).into_owned(),
        recv_q: Some(s.rx_queue),
        send_q: Some(s.tx_queue),
        ..ManifestLine::default()
    }
}

fn unix_line(s: &UnixSocket) -> ManifestLine {
    ManifestLine {
        inode: s.inode,
        protocol: "unix".to_string(),
        socket_type: unix_type_name(s.sock_type).to_ascii_lowercase(),
        local: s.path.as_deref().map_or_else(
            || "-".to_string(),
            |p| crate::escape::escape(p).into_owned(),
        ),
        remote: "-".to_string(),
        state: view::unix_state_name(s).to_string(),
        ..ManifestLine::default()
    }
}

fn dump(config: &Config, q: &QueuesConfig, out: &OutDir, shown: &Path) -> u8 {
    let root = &config.root;
    let Some(namespaces) = target_namespaces(config) else {
        return 2;
    };
    let mut writer = match Writer::create(out) {
        Ok(w) => w,
        Err(e) => {
            output::warn(
                prog(),
                format_args!("--queues: {}/queues: {e}", shown.display()),
            );
            return 2;
        }
    };
    let sel = &config.selection;
    let rows = config.sockets.rows;
    let mut degraded = false;
    // Tables first, then the owner scan: a socket in a table then has its holder in
    // the scan unless it was closed in between (and then it has no queue to read).
    let mut found: Vec<(usize, Vec<ManifestLine>, Vec<UnixSocket>)> = Vec::new();
    for (index, ns) in namespaces.iter().enumerate() {
        let tables = match ns.read(root, |dir| read_tables(root, dir, sel, TableSource::Proc)) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                output::warn(
                    prog(),
                    format_args!("network namespace {}: {e}", ns.label()),
                );
                degraded = true;
                continue;
            }
        };
        let mut inet: Vec<ManifestLine> = Vec::new();
        for (proto, v6, table) in tables.inet {
            match table {
                Ok(t) => inet.extend(
                    t.rows
                        .iter()
                        .filter(|s| view::inet_selected(s, rows))
                        // A listener's queue holds connections; Recv-Q 0 holds no data.
                        .filter(|s| !(s.proto == Proto::Tcp && s.state == TCP_LISTEN))
                        .filter(|s| s.rx_queue > 0)
                        .map(inet_line),
                ),
                Err(e) if index == 0 && e.kind() != io::ErrorKind::NotFound => {
                    output::warn(prog(), format_args!("/proc/net/{}: {e}", proto.file(v6)));
                    degraded = true;
                }
                Err(_) => {}
            }
        }
        let unix = match tables.unix {
            Some(Ok(t)) => t
                .rows
                .into_iter()
                .filter(|s| view::unix_selected(s, rows) && !s.is_listening())
                .collect(),
            _ => Vec::new(),
        };
        found.push((index, inet, unix));
    }
    let owners = match Owners::scan(
        root,
        OwnerDetail {
            argv0: true,
            ..OwnerDetail::default()
        },
    ) {
        Ok(o) => o,
        Err(e) => {
            output::warn(prog(), format_args!("{}: {e}", root.path().display()));
            return 2;
        }
    };
    degraded |= owners.denied > 0;
    let mut counts = Counts::default();
    let mut failure = None;
    for (index, mut candidates, unix) in found {
        let Some(ns) = namespaces.get(index) else {
            continue;
        };
        for s in &unix {
            // Without a holder a unix socket's queue is unknown: its table has no Recv-Q.
            if owners.get(s.inode).is_none() {
                counts.unix_without_holder += 1;
                continue;
            }
            candidates.push(unix_line(s));
        }
        for mut line in candidates {
            line.netns = ns.inode;
            line.netns_name = ns.name.clone();
            let data = read_one(&owners, q.cap, &mut line, &mut counts);
            // Examined and found empty (read by its owner since the table was read).
            if data.is_empty() && line.notes.is_empty() {
                continue;
            }
            if !line.complete && !line.cut {
                counts.unread += 1;
            }
            if let Err(e) = writer.add(&mut line, &data) {
                failure = Some(e);
                break;
            }
            if line.file.is_some() {
                counts.written += 1;
                counts.bytes += line.bytes;
                counts.cut += u64::from(line.cut);
            }
        }
        if failure.is_some() {
            break;
        }
    }
    let summary = serde_json::json!({
        "tool": "rnetstat",
        "version": env!("CARGO_PKG_VERSION"),
        "captured_at_unix": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "queue_cap": q.cap,
        "sockets_examined": counts.examined,
        "receive_files": counts.written,
        "bytes": counts.bytes,
        "cut": counts.cut,
        "not_read_in_full": counts.unread,
        "unix_sockets_without_visible_holder": counts.unix_without_holder,
        "processes_not_readable": owners.denied,
        "send_queues": "size only (SIOCOUTQ, Send-Q): their content cannot be read without TCP_REPAIR, which would freeze the connection",
    });
    if let Some(e) = failure.or_else(|| writer.finish(&summary).err()) {
        output::warn(
            prog(),
            format_args!("--queues: {}/queues: {e}", shown.display()),
        );
        return 2;
    }
    output::warn(
        prog(),
        format_args!(
            "queues: {} sockets examined, {} receive files ({} bytes, {} cut at --queue-cap) in {}/queues",
            counts.examined,
            counts.written,
            counts.bytes,
            counts.cut,
            shown.display()
        ),
    );
    if counts.unread > 0 {
        output::warn(
            prog(),
            format_args!(
                "queues: {} sockets with queued data were not read in full (notes in {}/queues/manifest.jsonl)",
                counts.unread,
                shown.display()
            ),
        );
        degraded = true;
    }
    if owners.denied > 0 {
        output::warn(
            prog(),
            format_args!(
                "queues: the descriptors of {} processes could not be read; their sockets were not examined (reading another user's sockets needs root)",
                owners.denied
            ),
        );
    }
    u8::from(degraded)
}

/// Reads one socket through its holder; the data for its receive file.
fn read_one(owners: &Owners, cap: usize, line: &mut ManifestLine, counts: &mut Counts) -> Vec<u8> {
    let Some((process, fd)) = owners.get(line.inode) else {
        let root = nix::unistd::geteuid().is_root();
        line.notes.push(
            if root {
                "no process holds it (closed since the table was read, or only in flight)"
            } else {
                "no process holding it is visible (reading another user's descriptors needs root)"
            }
            .to_string(),
        );
        return Vec::new();
    };
    line.pid = Some(process.pid);
    line.fd = Some(fd);
    line.program = process
        .argv0
        .as_deref()
        .map(|a| crate::escape::escape(view::program_name(a)).into_owned());
    counts.examined += 1;
    match queues::peek_held(process.pid, fd, line.inode, cap) {
        Ok(p) => {
            line.record(&p);
            p.data
        }
        Err(why) => {
            line.notes.push(why);
            Vec::new()
        }
    }
}
