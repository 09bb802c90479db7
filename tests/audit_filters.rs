//! `rnetstat --audit` on BPF filters and IPv6 neighbours, in private namespaces the
//! test makes: a holder attaches a BPFDoor-like classic filter (tcpdump's program for
//! `udp and port 53 and udp[8:4] = 0x5254`) to a packet socket and another to a raw
//! socket, and an eBPF program to a second packet socket; a second holder runs from
//! a deleted executable. Two link-local neighbours share one MAC. The findings must
//! name the holders, carry tcpdump's disassembly and say what the filters accept. A
//! namespace with an ordinary IPv6 neighbour (link-local and global address behind
//! one MAC) audits clean.

use std::path::Path;

mod audit_support;
use audit_support::{findings, python, python_binary, Lab, FILTER_EXPRS, FILTER_HOLDER};

/// argv[1]: the classic program as `tcpdump -ddd` prints it (count, then `code jt jf
/// k` lines); attached to a packet socket (ETH_P_IP) and a raw UDP socket. With
/// argv[2] = "ebpf", a packet socket with an eBPF program (SO_ATTACH_BPF) as well.
const HOLDER: &str = r#"
import ctypes, os, socket, struct, sys, time
def attach(s, prog):
    raw = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = ctypes.create_string_buffer(raw)
    s.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HL", len(prog), ctypes.addressof(buf)))
lines = sys.argv[1].strip().split("\n")[1:]
prog = [tuple(int(x) for x in l.split()) for l in lines]
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
attach(p, prog)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
attach(r, [(0x30,0,0,9),(0x15,0,5,17),(0xb1,0,0,0),(0x48,0,0,2),(0x15,0,2,4660),(0x40,0,0,8),(0x6,0,0,0xffff),(0x6,0,0,0)])
plain = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
ino = lambda s: os.fstat(s.fileno()).st_ino
out = [os.getpid(), ino(p), ino(r), ino(plain)]
if len(sys.argv) > 2:
    libc = ctypes.CDLL(None, use_errno=True)
    code = struct.pack("BBhi", 0xb7, 0, 0, 0) + struct.pack("BBhi", 0x95, 0, 0, 0)
    ibuf, lic = ctypes.create_string_buffer(code), ctypes.create_string_buffer(b"GPL")
    attr = struct.pack("IIQQIIQI", 1, 2, ctypes.addressof(ibuf), ctypes.addressof(lic), 0, 0, 0, 0) + bytes(80)
    abuf = ctypes.create_string_buffer(attr)
    fd = libc.syscall(321, 5, abuf, len(attr))
    if fd < 0:
        print("bpf", ctypes.get_errno(), flush=True)
        time.sleep(300)
    e = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    e.setsockopt(socket.SOL_SOCKET, 50, struct.pack("i", fd))
    out.append(ino(e))
print(*out, flush=True)
time.sleep(300)
"#;

const EXPR: &str = "udp and port 53 and udp[8:4] = 0x5254";

fn x86_64() -> bool {
    cfg!(target_arch = "x86_64")
}

#[test]
fn filtered_sockets_and_shared_ipv6_macs_are_reported() {
    let test = "filtered_sockets_and_shared_ipv6_macs_are_reported";
    if audit_support::cannot_run(test, &["tcpdump"]) {
        return;
    }
    let mut lab = Lab::new("dirty");
    lab.ip("link add v0 type veth peer name v1");
    lab.ip("link set v0 up");
    lab.ip("addr add 2001:db8::10/64 dev v0 nodad");
    lab.ip("-6 route add default via fe80::1 dev v0");
    lab.ip("-6 neigh add fe80::1 lladdr 02:00:00:00:00:01 dev v0 nud permanent");
    lab.ip("-6 neigh add fe80::2 lladdr 02:00:00:00:00:01 dev v0 nud permanent");

    let ddd = audit_support::tcpdump("-ddd", EXPR, &lab.dir);
    let want_lines: Vec<String> = audit_support::tcpdump("-d", EXPR, &lab.dir)
        .lines()
        .map(String::from)
        .collect();
    let mut args = vec![ddd.as_str()];
    if x86_64() {
        args.push("ebpf");
    }
    let plain = lab.start(Path::new("python3"), HOLDER, &args);
    assert_ne!(plain[0], 0, "bpf() failed: {plain:?}");
    // The same holder again, from an executable that is then deleted.
    let copy = lab.dir.join("sleeper");
    std::fs::copy(python_binary(), &copy).unwrap();
    let deleted = lab.start(&copy, HOLDER, &[&ddd]);
    std::fs::remove_file(&copy).unwrap();
    let netns = lab.inode();

    let (status, json, stderr) = lab.audit(true, &["--no-probe"]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 1, "{report}\n{stderr}");

    let filt = findings(&json, "socket-filter");
    let by_inode = |inode: u64| {
        filt.iter()
            .find(|f| f["evidence"]["inode"] == inode)
            .unwrap_or_else(|| panic!("no socket-filter finding for inode {inode}\n{report}"))
    };
    let accepts_magic = "(udp and not a fragment and udp src port 53 and udp[8:4] = 0x5254) or \
         (udp and not a fragment and udp src port != 53 and udp dst port 53 and udp[8:4] = 0x5254)";
    for (holder, severity, program) in
        [(&plain, "medium", "python3"), (&deleted, "high", "sleeper")]
    {
        // The packet socket: holder, interface, tcpdump's disassembly, what it accepts.
        let f = by_inode(holder[1]);
        let e = &f["evidence"];
        assert_eq!(f["severity"], severity, "{report}");
        assert_eq!(e["pid"], holder[0], "{report}");
        assert_eq!(e["program"], program, "{report}");
        assert_eq!(e["protocol"], "packet", "{report}");
        assert_eq!(e["interface"], "*", "{report}");
        assert_eq!(e["namespace"], netns, "{report}");
        assert_eq!(e["filter"]["readable"], true, "{report}");
        assert_eq!(e["filter"]["instructions"], want_lines.len(), "{report}");
        assert_eq!(
            e["filter"]["disassembly"],
            serde_json::json!(want_lines),
            "{report}"
        );
        assert_eq!(e["filter"]["accepts"], accepts_magic, "{report}");
        // The raw socket.
        let f = by_inode(holder[2]);
        assert_eq!(f["severity"], severity, "{report}");
        assert_eq!(f["evidence"]["protocol"], "raw", "{report}");
        assert_eq!(f["evidence"]["pid"], holder[0], "{report}");
        assert_eq!(
            f["evidence"]["filter"]["accepts"], "ip and udp and udp dst port 4660",
            "{report}"
        );
        // A packet socket without a filter is no socket-filter finding.
        assert!(
            !filt.iter().any(|f| f["evidence"]["inode"] == holder[3]),
            "{report}"
        );
    }
    if x86_64() {
        let f = by_inode(plain[4]);
        assert_eq!(f["evidence"]["filter"]["readable"], false, "{report}");
        assert!(
            f["evidence"]["filter"]["instructions"].is_null(),
            "{report}"
        );
        assert!(
            f["summary"].as_str().unwrap().contains("cannot be read"),
            "{report}"
        );
    }
    assert!(
        !json["not_done"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["check"] == "socket-filter" || n["check"] == "ndp"),
        "{report}"
    );

    // IPv6: one MAC behind two link-local neighbours, one the default gateway.
    let ndp = findings(&json, "ndp");
    assert!(
        ndp.iter().any(|f| f["severity"] == "high"
            && f["evidence"]["mac"] == "02:00:00:00:00:01"
            && f["evidence"]["addresses"] == serde_json::json!(["fe80::1", "fe80::2"])
            && f["evidence"]["address"] == "fe80::1"
            && f["evidence"]["interface"] == "v0"),
        "{report}"
    );

    // The text report shows the program under its finding, tcpdump's tab as a space
    // (the report carries no control bytes).
    let (status, text, _) = lab.audit_text(&["--no-probe"]);
    assert_eq!(status, 1);
    let block: String = want_lines
        .iter()
        .map(|l| format!("{:<24}   {}\n", "", l.replace('\t', " ")))
        .collect();
    assert!(text.contains(&block), "{text}");
    assert!(text.contains("filter=15 instructions"), "{text}");
}

/// TCP, UDP and unix sockets with a filter: unusual, reported with holder and program.
#[test]
fn filters_on_tcp_udp_and_unix_sockets_are_reported() {
    let test = "filters_on_tcp_udp_and_unix_sockets_are_reported";
    if audit_support::cannot_run(test, &["tcpdump"]) {
        return;
    }
    let mut lab = Lab::new("inet");
    let ddd: Vec<String> = FILTER_EXPRS
        .iter()
        .map(|e| audit_support::tcpdump("-ddd", e, &lab.dir))
        .collect();
    let name = lab.ns.clone();
    let mut args: Vec<&str> = ddd.iter().map(String::as_str).collect();
    args.push(&name);
    let h = lab.start(&python(), FILTER_HOLDER, &args);
    // The same holder from an executable that is then deleted: high.
    let copy = lab.dir.join("sleeper");
    std::fs::copy(python_binary(), &copy).unwrap();
    let other = format!("{name}-2");
    args[5] = &other;
    let deleted = lab.start(&copy, FILTER_HOLDER, &args);
    std::fs::remove_file(&copy).unwrap();
    let (status, json, stderr) = lab.audit(true, &["--no-probe"]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 1, "{report}\n{stderr}");
    let filt = findings(&json, "socket-filter");
    let by_inode = |inode: u64| {
        filt.iter()
            .find(|f| f["evidence"]["inode"] == inode)
            .unwrap_or_else(|| panic!("no socket-filter finding for inode {inode}\n{report}"))
    };
    for (i, protocol) in [(0, "tcp"), (1, "udp"), (2, "unix")] {
        let f = by_inode(h[4 + i]);
        let e = &f["evidence"];
        let lines: Vec<String> = audit_support::tcpdump("-d", FILTER_EXPRS[i], &lab.dir)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(f["severity"], "medium", "{report}");
        assert_eq!(
            f["summary"],
            format!("{protocol} socket with a BPF filter attached"),
            "{report}"
        );
        assert_eq!(e["protocol"], protocol, "{report}");
        assert_eq!(e["pid"], h[0], "{report}");
        assert_eq!(e["program"], "python3", "{report}");
        assert_eq!(e["filter"]["readable"], true, "{report}");
        assert_eq!(e["filter"]["instructions"], lines.len(), "{report}");
        assert_eq!(
            e["filter"]["disassembly"],
            serde_json::json!(lines),
            "{report}"
        );
    }
    assert_eq!(by_inode(h[4])["evidence"]["port"], h[1], "{report}");
    assert_eq!(by_inode(h[4])["evidence"]["state"], "LISTEN", "{report}");
    assert_eq!(by_inode(h[5])["evidence"]["port"], h[2], "{report}");
    assert_eq!(
        by_inode(h[6])["evidence"]["address"],
        format!("@{name}"),
        "{report}"
    );
    for (i, protocol) in [(0, "tcp"), (1, "udp"), (2, "unix")] {
        let f = by_inode(deleted[4 + i]);
        assert_eq!(f["severity"], "high", "{report}");
        assert_eq!(f["evidence"]["pid"], deleted[0], "{report}");
        assert_eq!(f["evidence"]["program"], "sleeper", "{report}");
        assert_eq!(
            f["summary"],
            format!("{protocol} socket with a BPF filter attached, held by a deleted or world-writable-directory executable"),
            "{report}"
        );
    }
    // The listener without a filter is no finding.
    assert!(
        !filt.iter().any(|f| f["evidence"]["inode"] == h[9]),
        "{report}"
    );
    assert!(
        !json["not_done"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["check"] == "socket-filter"),
        "{report}"
    );
}

#[test]
fn an_ordinary_ipv6_neighbour_audits_clean() {
    let test = "an_ordinary_ipv6_neighbour_audits_clean";
    if audit_support::cannot_run(test, &[]) {
        return;
    }
    let lab = Lab::new("clean");
    lab.ip("link add v0 type veth peer name v1");
    lab.ip("link set v0 up");
    lab.ip("addr add 2001:db8::10/64 dev v0 nodad");
    lab.ip("-6 route add default via fe80::1 dev v0");
    // A router's link-local and global addresses share its MAC: normal.
    lab.ip("-6 neigh add fe80::1 lladdr 02:00:00:00:00:01 dev v0 nud permanent");
    lab.ip("-6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev v0 nud permanent");
    lab.ip("-6 neigh add fe80::2 lladdr 02:00:00:00:00:02 dev v0 nud permanent");
    let (status, json, stderr) = lab.audit(true, &["--no-probe"]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 0, "{report}\n{stderr}");
    assert_eq!(json["clean"], true, "{report}");
    assert!(
        json["not_done"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["reason"] == "disabled (--no-probe)"),
        "{report}"
    );
}
