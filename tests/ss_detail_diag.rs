//! ss's detail text on live sockets: a holder process in a private network namespace
//! (`unshare --net`) keeps unix, packet, netlink and TCP sockets; the real ss (`nsenter -n`)
//! and our formatter, fed by our own sock_diag dumps of that namespace, must print
//! the same text for each socket. Unix and packet sockets are idle, so their text
//! (column padding included) must match byte for byte; for TCP the fields that move
//! while a test runs (lastsnd/lastrcv/lastack, a timer's remaining time) are
//! normalised and padding is left to the recorded-dump test (ss_detail_fixtures).

mod common;

use rnetstat::netlink::ss_attrs::{self, InetDiag, NetlinkDiag, PacketDiag, UnixDiag};
use rnetstat::netlink::{inet, nldiag, packet, unix, DiagSocket};
use rnetstat::proc::cgroup::CgroupPaths;
use rnetstat::proc::ProcRoot;
use rnetstat::render::ss_detail::{self, DetailOptions};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: PathBuf,
    pid: u32,
    /// A cgroup v2 directory of the test's own, which the holder runs in (so `-e`
    /// and `--cgroup` name a path other than `/`), when one could be made.
    cgroup: Option<PathBuf>,
}

/// Makes `NAME` in the first cgroup2 mount.
fn make_cgroup(name: &str) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    let mnt = mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(2) == Some(&"cgroup2")).then(|| f[1].to_string())
    })?;
    let dir = PathBuf::from(mnt).join(name);
    std::fs::create_dir(&dir).ok()?;
    Some(dir)
}

impl Holder {
    fn start(test: &str) -> Holder {
        let dir = std::env::temp_dir().join(format!("rss-detail-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/ss_detail_support/holder.py"
        );
        let cgroup = make_cgroup(&format!("rss-detail-{test}-{}", std::process::id()));
        let mut child = Command::new("unshare")
            .args(["--net", "python3", script])
            .arg(&dir)
            .arg(cgroup.as_deref().unwrap_or(std::path::Path::new("-")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare runs");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("holder answers");
        assert!(line.starts_with("ready "), "holder failed: {line:?}");
        // unshare without --fork execs python: the child is the holder.
        Holder {
            pid: child.id(),
            child,
            stdin,
            dir,
            cgroup,
        }
    }

    fn ss(&self, args: &[&str]) -> String {
        let out = Command::new("nsenter")
            .args(["-t", &self.pid.to_string(), "-n", "ss", "-H"])
            .args(args)
            .output()
            .expect("nsenter ss runs");
        assert!(out.status.success(), "ss {args:?}: {:?}", out.status);
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Every reply of one sock_diag dump made inside the holder's namespace.
    fn dump(&self, request: &[u8]) -> Vec<Vec<u8>> {
        let ns = PathBuf::from(format!("/proc/{}/ns/net", self.pid));
        let request = request.to_vec();
        std::thread::spawn(move || {
            rnetstat::netns::enter(&ns).expect("setns");
            let sock = DiagSocket::open().expect("sock_diag");
            let mut replies = Vec::new();
            sock.dump(&request, |p| replies.push(p.to_vec()))
                .expect("dump");
            replies
        })
        .join()
        .expect("dump thread")
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(cg) = &self.cgroup {
            // Empty once the holder is gone.
            let _ = std::fs::remove_dir(cg);
        }
    }
}

fn skipped(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = ["ss", "unshare", "nsenter", "python3"]
        .iter()
        .all(|t| common::find_program(t).is_some());
    let why = match (root, tools) {
        (false, _) => "needs root for network namespaces",
        (_, false) => "ss, unshare, nsenter or python3 missing",
        _ => return false,
    };
    common::skip(test, why);
    true
}

fn options(args: &[&str]) -> DetailOptions {
    let has = |c: char| {
        args.iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains(c))
    };
    let long = |l: &str| args.contains(&l);
    DetailOptions::from_flags(
        has('o'),
        has('e'),
        has('m'),
        has('i'),
        has('b'),
        long("--tos"),
        long("--cgroup"),
        long("--inet-sockopt"),
        has('O'),
        has('n'),
    )
}

/// ss's output split into one string per socket (a line and its `\t` lines).
fn records(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        match out.last_mut() {
            Some(r) if line.starts_with('\t') => {
                r.push('\n');
                r.push_str(line);
            }
            _ => out.push(line.to_string()),
        }
    }
    out
}

/// Each record must be its columns, exactly our text, then the padding ss gives
/// that column (the widest text of every row but the last, which ss never measures).
fn assert_exact(what: &str, theirs: &[String], ours: &[String]) {
    assert_eq!(
        theirs.len(),
        ours.len(),
        "{what}: rows\n{theirs:#?}\n{ours:#?}"
    );
    let width = ours[..ours.len().saturating_sub(1)]
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0);
    for (record, text) in theirs.iter().zip(ours) {
        let tail = format!("{text}{}", " ".repeat(width.saturating_sub(text.len())));
        assert!(
            record.ends_with(&tail) && !record[..record.len() - tail.len()].contains('\n'),
            "{what}:\nss:   {record:?}\nours: {tail:?}"
        );
    }
}

const UNIX_CASES: &[&[&str]] = &[
    &["-xa", "-e"],
    &["-xa", "-m"],
    &["-xa", "-em"],
    &["-xaO", "-em"],
    &["-xa", "-o"],
];

#[test]
fn unix_details_match_ss() {
    if skipped("unix_details_match_ss") {
        return;
    }
    let h = Holder::start("unix");
    for args in UNIX_CASES {
        let opts = options(args);
        let mut show = unix::UDIAG_SHOW_NAME_PEER | unix::UDIAG_SHOW_RQLEN;
        if opts.memory {
            show |= unix::UDIAG_SHOW_MEMINFO;
        }
        if opts.extended {
            show |= unix::UDIAG_SHOW_VFS | unix::UDIAG_SHOW_ICONS_BIT;
        }
        let ours: HashMap<u32, String> = h
            .dump(&unix::ss_request(u32::MAX, show))
            .iter()
            .filter_map(|p| UnixDiag::parse(p))
            .map(|d| {
                let mut buf = Vec::new();
                ss_detail::unix(&mut buf, &d, &opts);
                (d.inode, String::from_utf8(buf).expect("UTF-8"))
            })
            .collect();
        let theirs = records(&h.ss(args));
        assert!(theirs.len() >= 7, "{args:?}: {theirs:#?}");
        // Our text in ss's row order, found by the inode ss prints as local port.
        let in_order: Vec<String> = theirs
            .iter()
            .map(|r| {
                let ino: u32 = r
                    .split_whitespace()
                    .nth(5)
                    .and_then(|t| t.parse().ok())
                    .expect("inode column");
                ours.get(&ino)
                    .cloned()
                    .unwrap_or_else(|| panic!("{ino} not in our dump"))
            })
            .collect();
        assert_exact(&format!("ss {args:?}"), &theirs, &in_order);
    }
}

const PACKET_CASES: &[&[&str]] = &[
    &["-0a", "-e"],
    &["-0a", "-m"],
    &["-0a", "-b"],
    &["-0a", "-ebm"],
    &["-0aO", "-eb"],
];

#[test]
fn packet_details_match_ss() {
    if skipped("packet_details_match_ss") {
        return;
    }
    let h = Holder::start("packet");
    for args in PACKET_CASES {
        let opts = options(args);
        // Both dumps list the sockets in the kernel's order.
        let ours: Vec<String> = h
            .dump(&packet::request(packet::SS_SHOW))
            .iter()
            .filter_map(|p| PacketDiag::parse(p))
            .map(|d| {
                let mut buf = Vec::new();
                ss_detail::packet(&mut buf, &d, &opts);
                String::from_utf8(buf).expect("UTF-8")
            })
            .collect();
        let theirs = records(&h.ss(args));
        assert_eq!(theirs.len(), 2, "{args:?}: {theirs:#?}");
        assert_exact(&format!("ss {args:?}"), &theirs, &ours);
    }
}

const NETLINK_CASES: &[&[&str]] = &[
    &["-an", "-f", "netlink", "-e"],
    &["-an", "-f", "netlink", "-m"],
    &["-anO", "-f", "netlink", "-em"],
];

/// (protocol, port id, text) of every netlink socket but sock_diag ones (ss's own
/// and our dump's differ), sorted: the kernel's sockets of the namespace and the
/// holder's route socket, which the kernel lists twice (hash and multicast list).
fn netlink_rows(rows: impl Iterator<Item = (u8, u32, String)>) -> Vec<(u8, u32, String)> {
    const NETLINK_SOCK_DIAG: u8 = 4;
    let mut v: Vec<_> = rows.filter(|r| r.0 != NETLINK_SOCK_DIAG).collect();
    v.sort();
    v
}

#[test]
fn netlink_details_match_ss() {
    if skipped("netlink_details_match_ss") {
        return;
    }
    let h = Holder::start("netlink");
    for args in NETLINK_CASES {
        let opts = options(args);
        let ours = netlink_rows(
            h.dump(&nldiag::request())
                .iter()
                .filter_map(|p| NetlinkDiag::parse(p))
                .map(|d| {
                    let mut buf = Vec::new();
                    ss_detail::netlink(&mut buf, &d, &opts);
                    let text = String::from_utf8(buf).expect("UTF-8");
                    (d.protocol, d.portid, text.trim_end().to_string())
                }),
        );
        let text = h.ss(args);
        let theirs = netlink_rows(records(&text).iter().map(|r| {
            // State Recv-Q Send-Q PROTO:PORTID *, then the text.
            let local = r.split_whitespace().nth(3).expect("local column");
            let (proto, id) = local.split_once(':').expect("proto:portid");
            let at = nth_token_end(r, 5);
            (
                proto.parse().expect("numeric protocol"),
                id.parse().expect("numeric port id"),
                r[at..].trim().to_string(),
            )
        }));
        // The holder's route socket: protocol 0, a port id of its own.
        assert!(
            theirs.iter().any(|r| r.0 == 0 && r.1 != 0),
            "{args:?}: the holder's socket is missing:\n{text}"
        );
        if opts.extended {
            assert!(
                theirs.iter().any(|r| r.2.contains("groups=0x00000011")),
                "{text}"
            );
        }
        if opts.memory {
            assert!(theirs.iter().all(|r| r.2.contains("skmem:(")), "{text}");
        }
        let theirs: Vec<_> = theirs
            .into_iter()
            .map(|(p, i, t)| (p, i, t.trim_start().to_string()))
            .collect();
        let ours: Vec<_> = ours
            .into_iter()
            .map(|(p, i, t)| (p, i, t.trim_start().to_string()))
            .collect();
        assert_eq!(theirs, ours, "ss {args:?}");
    }
}

/// Replaces the digits after each of `keys` with `#`.
fn normalise(text: &str) -> String {
    let mut s = text.to_string();
    for key in [
        "lastsnd:",
        "lastrcv:",
        "lastack:",
        "timer:(on,",
        "timer:(keepalive,",
    ] {
        let mut from = 0;
        while let Some(i) = s[from..].find(key) {
            let start = from + i + key.len();
            let end = s[start..]
                .find([' ', ',', ')', '\n'])
                .map_or(s.len(), |e| start + e);
            s.replace_range(start..end, "#");
            from = start + 1;
        }
    }
    s
}

/// Lines without their trailing padding, the text without the columns' padding.
fn trimmed(text: &str) -> String {
    text.trim_start()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

const TCP_CASES: &[&[&str]] = &[
    &["-tan", "-o"],
    &["-tan", "-e"],
    &["-tan", "-m"],
    &["-tan", "-i"],
    &["-tan", "-oemi", "--tos", "--cgroup"],
    &["-tanO", "-emi", "--inet-sockopt"],
    &["-ta", "-i"],
];

/// One comparison of ss and ours on the holder's TCP sockets.
fn tcp_attempt(h: &Holder, args: &[&str], cgroups: &CgroupPaths) -> Result<(), String> {
    let opts = options(args);
    let ext = ss_attrs::ext::for_options(opts.memory, opts.info, opts.tos);
    let mut ours: HashMap<(bool, u16, u16), String> = HashMap::new();
    for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
        let req = inet::ss_request(family, libc::IPPROTO_TCP as u32, u32::MAX, ext);
        for p in h.dump(&req) {
            let d = InetDiag::parse(&p).expect("reply");
            let mut buf = Vec::new();
            ss_detail::inet(&mut buf, &d, libc::IPPROTO_TCP as u8, &opts, cgroups);
            ours.insert(
                (d.family == libc::AF_INET6 as u8, d.sport, d.dport),
                String::from_utf8(buf).expect("UTF-8"),
            );
        }
    }
    let text = h.ss(args);
    let theirs = records(&text);
    if theirs.len() != ours.len() {
        return Err(format!(
            "{args:?}: {} rows, ours {}:\n{text}",
            theirs.len(),
            ours.len()
        ));
    }
    for record in &theirs {
        // State Recv-Q Send-Q Local:Port Peer:Port, then the text.
        let cols: Vec<&str> = record.split_whitespace().take(5).collect();
        let port = |t: &str| -> u16 {
            // `*` (no peer) and service names (without -n; ours are above the
            // named ports) read as 0.
            t[t.rfind(':').expect("addr:port") + 1..]
                .parse()
                .unwrap_or(0)
        };
        let key = (cols[3].starts_with('['), port(cols[3]), port(cols[4]));
        let Some(text) = ours.get(&key) else {
            return Err(format!(
                "{args:?}: no socket {key:?} in our dump for {record:?}"
            ));
        };
        let at = nth_token_end(record, 5);
        if normalise(&trimmed(&record[at..])) != normalise(&trimmed(text)) {
            return Err(format!("ss {args:?}\nss:   {record:?}\nours: {text:?}"));
        }
    }
    Ok(())
}

#[test]
fn tcp_details_match_ss() {
    if skipped("tcp_details_match_ss") {
        return;
    }
    let h = Holder::start("tcp");
    let cgroups = CgroupPaths::new(&ProcRoot::default());
    for args in TCP_CASES {
        // The two views are taken one after the other: while the kernel still
        // finishes the holder's handshakes and FIN exchange (a retransmit timer that
        // stops, a counter that moves) they can differ, so look again a few times.
        let mut result = Err(String::new());
        for _ in 0..5 {
            result = tcp_attempt(&h, args, &cgroups);
            if result.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        if let Err(why) = result {
            panic!("{why}");
        }
    }
    // The holder's cgroup is named (not `/`): the id → path walk was exercised.
    if let Some(cg) = &h.cgroup {
        let name = cg.file_name().and_then(|n| n.to_str()).expect("name");
        let text = h.ss(&["-tan", "--cgroup"]);
        assert!(text.contains(&format!(" cgroup:/{name}")), "{text}");
    }
}

/// The byte offset just past the `n`th whitespace-separated token of the first line.
fn nth_token_end(s: &str, n: usize) -> usize {
    let mut count = 0;
    let mut in_token = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if in_token {
                count += 1;
                if count == n {
                    return i;
                }
            }
            in_token = false;
        } else {
            in_token = true;
        }
    }
    s.len()
}
