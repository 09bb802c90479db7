//! Measures the design card's crates against the project's own readers on the live
//! machine, for docs/dependencies.md (issue 16). Run as root inside a private network
//! namespace beside ../shared/bench/sockfarm.py (the 51,000-socket farm):
//!
//!     cargo build --release --example crate_eval
//!     unshare --net --fork sh -c 'ip link set lo up; sockfarm.py ... --ready F & ...;
//!         target/release/examples/crate_eval 20 FARM_PIDS...'
//!
//! - sock_diag: one TCP dump (v4 + v6) and one unix dump are captured once, then parsed
//!   ROUNDS times by `netlink::{inet,unix}::parse_message` and by
//!   netlink-packet-sock-diag; medians per dump, and whether both saw the same sockets.
//! - procfs: the fd scan (procfs `Process::fd` against `for_each_fd_link`) and the
//!   unix table (`procfs::net::unix` against `proc::unix::read_table`), timed, plus the
//!   names procfs loses on two sockets this program binds (a space, a non-UTF-8 byte).

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_sock_diag::{unix::nlas::Nla as UnixNla, SockDiagMessage};
use rnetstat::netlink::{self, DiagSocket};
use rnetstat::proc::inet::Proto;
use rnetstat::proc::{process, unix, ProcRoot};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The replies of one dump, each as a whole netlink message (header + payload), the
/// form netlink-packet-core parses; the project's parser gets the payload after 16.
fn capture(sock: &DiagSocket, request: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    sock.dump(request, |payload| {
        let mut m = Vec::with_capacity(16 + payload.len());
        m.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&netlink::SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.extend_from_slice(payload);
        out.push(m);
    })
    .expect("sock_diag dump");
    out
}

fn time_rounds(rounds: usize, mut f: impl FnMut() -> u64) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut check = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        check = std::hint::black_box(f());
        times.push(t.elapsed());
    }
    (median(times), check)
}

/// Like [`time_rounds`] for two contenders, alternating round by round (the first
/// one rotating) so load from elsewhere on a shared machine hits both alike.
fn time_pair(
    rounds: usize,
    mut a: impl FnMut() -> u64,
    mut b: impl FnMut() -> u64,
) -> ((Duration, u64), (Duration, u64)) {
    let (mut ta, mut tb, mut ca, mut cb) = (Vec::new(), Vec::new(), 0, 0);
    for round in 0..rounds {
        for which in [round % 2, 1 - round % 2] {
            let t = Instant::now();
            if which == 0 {
                ca = std::hint::black_box(a());
                ta.push(t.elapsed());
            } else {
                cb = std::hint::black_box(b());
                tb.push(t.elapsed());
            }
        }
    }
    ((median(ta), ca), (median(tb), cb))
}

fn crate_inodes(msgs: &[Vec<u8>]) -> u64 {
    let mut sum = 0u64;
    for m in msgs {
        match std::hint::black_box(NetlinkMessage::<SockDiagMessage>::deserialize(m))
            .map(|m| m.payload)
        {
            Ok(NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r))) => {
                sum = sum.wrapping_add(
                    u64::from(r.header.inode) ^ u64::from(r.header.socket_id.source_port),
                )
            }
            Ok(NetlinkPayload::InnerMessage(SockDiagMessage::UnixResponse(r))) => {
                let named = r.nlas.iter().any(|n| matches!(n, UnixNla::Name(_)));
                sum = sum.wrapping_add(u64::from(r.header.inode) ^ u64::from(named))
            }
            _ => {}
        }
    }
    sum
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let sock = DiagSocket::open().expect("NETLINK_SOCK_DIAG");

    // ---- sock_diag: TCP (both families) and unix, parse only.
    let mut tcp = Vec::new();
    for v6 in [false, true] {
        let req = netlink::inet::request(Proto::Tcp, v6).expect("tcp request");
        tcp.extend(capture(&sock, &req));
    }
    let ux = capture(&sock, &netlink::unix::request());
    let ((ours_tcp, ours_tcp_sum), (crate_tcp, crate_tcp_sum)) = time_pair(
        rounds,
        || {
            let mut sum = 0u64;
            for m in &tcp {
                // black_box: every field is built, as the crate's parse builds its whole message.
                if let Ok(s) =
                    std::hint::black_box(netlink::inet::parse_message(&m[16..], Proto::Tcp))
                {
                    sum = sum.wrapping_add(s.inode ^ u64::from(s.local_port));
                }
            }
            sum
        },
        || crate_inodes(&tcp),
    );
    let ((ours_ux, ours_ux_sum), (crate_ux, crate_ux_sum)) = time_pair(
        rounds,
        || {
            let mut sum = 0u64;
            for m in &ux {
                if let Ok(s) = std::hint::black_box(netlink::unix::parse_message(&m[16..])) {
                    sum = sum.wrapping_add(s.inode ^ u64::from(s.name.is_some()));
                }
            }
            sum
        },
        || crate_inodes(&ux),
    );
    // The whole dump, kernel included, through the project's socket and parser.
    let (dump_tcp, _) = time_rounds(rounds, || {
        let t = netlink::inet::dump_tcp(
            &sock,
            netlink::inet::PROC_TCP_STATES | netlink::inet::LISTEN_STATE_BIT,
        )
        .expect("tcp dump");
        (t[0].rows.len() + t[1].rows.len()) as u64
    });
    let (dump_ux, _) = time_rounds(rounds, || {
        netlink::unix::dump_with(&sock)
            .expect("unix dump")
            .0
            .rows
            .len() as u64
    });
    println!("sock_diag, median of {rounds} rounds:");
    println!(
        "  tcp  {:6} replies: project {} / netlink-packet-sock-diag {} parse per dump (same sockets: {}); whole dump with project parser {}",
        tcp.len(),
        ms(ours_tcp),
        ms(crate_tcp),
        ours_tcp_sum == crate_tcp_sum,
        ms(dump_tcp)
    );
    println!(
        "  unix {:6} replies: project {} / netlink-packet-sock-diag {} parse per dump (same sockets: {}); whole dump with project parser {}",
        ux.len(),
        ms(ours_ux),
        ms(crate_ux),
        ours_ux_sum == crate_ux_sum,
        ms(dump_ux)
    );

    // ---- procfs: fd scan and the unix table.
    let root = ProcRoot::new("/proc");
    // The farm's pids when given (other work on the machine comes and goes), else all.
    let given: Vec<u32> = std::env::args()
        .skip(2)
        .filter_map(|a| a.parse().ok())
        .collect();
    let pids = if given.is_empty() {
        process::pids(&root).expect("pids")
    } else {
        given
    };
    let ((ours_fd, ours_socks), (procfs_fd, procfs_socks)) = time_pair(
        rounds,
        || {
            let mut n = 0u64;
            for &pid in &pids {
                let _ = process::for_each_fd_link(&root, pid, |_, link| {
                    n += u64::from(process::socket_inode(link).is_some())
                });
            }
            n
        },
        || {
            let mut n = 0u64;
            for &pid in &pids {
                let Ok(p) = procfs::process::Process::new(pid as i32) else {
                    continue;
                };
                let Ok(fds) = p.fd() else { continue };
                for fd in fds.flatten() {
                    n += u64::from(matches!(fd.target, procfs::process::FDTarget::Socket(_)));
                }
            }
            n
        },
    );
    println!(
        "fd scan of {} processes, median of {rounds}: project {} ({ours_socks} sockets) / procfs {} ({procfs_socks} sockets)",
        pids.len(),
        ms(ours_fd),
        ms(procfs_fd)
    );

    // Owner uid of each process: the project stats /proc/PID (owned by the euid);
    // procfs parses the whole status file into a struct.
    let ((ours_uid, ours_uids), (procfs_uid, procfs_uids)) = time_pair(
        rounds,
        || {
            pids.iter()
                .filter_map(|&p| process::owner_uid(&root, p))
                .map(u64::from)
                .sum()
        },
        || {
            pids.iter()
                .filter_map(|&p| procfs::process::Process::new(p as i32).ok()?.status().ok())
                .map(|s| u64::from(s.euid))
                .sum()
        },
    );
    println!(
        "owner uid of {} processes, median of {rounds}: project {} / procfs status() {} (same uids: {})",
        pids.len(),
        ms(ours_uid),
        ms(procfs_uid),
        ours_uids == procfs_uids
    );

    let ((ours_unix, ours_rows), (procfs_unix, procfs_rows)) = time_pair(
        rounds,
        || {
            unix::read_table(&root, "net")
                .map(|t| t.rows.len() as u64)
                .unwrap_or(0)
        },
        || procfs::net::unix().map(|v| v.len() as u64).unwrap_or(0),
    );
    println!(
        "/proc/net/unix, median of {rounds}: project {} ({ours_rows} rows) / procfs {} ({procfs_rows} rows)",
        ms(ours_unix),
        ms(procfs_unix)
    );

    // Two named sockets procfs cannot report whole: a space, then a non-UTF-8 byte.
    let dir = std::env::temp_dir().join(format!("rnt-crate-eval-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let spaced = dir.join("a b");
    let binary = dir.join(std::ffi::OsStr::from_bytes(b"bad\xffname"));
    let _spaced_listener = std::os::unix::net::UnixListener::bind(&spaced);
    let spaced_seen = procfs::net::unix().ok().and_then(|v| {
        v.into_iter()
            .filter_map(|e| e.path)
            .find(|p| p.starts_with(&dir))
    });
    let _binary_listener = std::os::unix::net::UnixListener::bind(&binary);
    let with_binary = procfs::net::unix().map(|v| v.len());
    let ours_with_binary = unix::read_table(&root, "net").map(|t| t.rows.len());
    println!(
        "procfs::net::unix: socket {spaced:?} read back as {spaced_seen:?}; after binding {binary:?}: procfs {with_binary:?}, project {:?} rows",
        ours_with_binary.ok()
    );
    let _ = std::fs::remove_file(&spaced);
    let _ = std::fs::remove_file(&binary);
    let _ = std::fs::remove_dir(&dir);
}
