//! rss --json with the detail options (-o -e -m -i --tos --cgroup): the `details`
//! object has exactly the fields docs/json.md documents (ss_details, ss_timer,
//! ss_skmem, ss_tcp_info), and its values are the ones the text view prints for the
//! same sockets, field by field. The sockets are the test's own, in a private
//! namespace, idle while both views are read.

mod common;
mod json_support;
mod netns_support;

use netns_support::{skip_reason, NamedNs};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Two TCP connections with data both ways (one with IP_TOS, one half closed) and
/// a unix pair with unread data, held until stdin closes.
const HOLDER: &str = r#"
import os, socket, sys, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 7101)); l.listen(8)
c = socket.socket(); c.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10)
c.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND
c.connect(("127.0.0.1", 7101)); a, _ = l.accept()
c.sendall(b"x" * 3000); a.recv(10000); a.sendall(b"y" * 500); c.recv(10000)
h = socket.create_connection(("127.0.0.1", 7101)); b, _ = l.accept()
h.sendall(b"z" * 100); h.shutdown(socket.SHUT_WR)
u1, u2 = socket.socketpair(); u1.sendall(b"q" * 64)
time.sleep(0.5)
print("ready", c.getsockname()[1], h.getsockname()[1], flush=True)
sys.stdin.read()
"#;

struct Held {
    child: Child,
    ports: (u16, u16),
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `script` with python3 in `ns` and reads its `ready ...` line: the holder and
/// the line's words after `ready`.
fn start_holder(ns: &NamedNs, script: &str) -> (Child, Vec<String>) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "sh", "-c"])
        .arg(format!("ip link set lo up && exec python3 -c '{script}'"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("holder");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let f: Vec<String> = line.split_whitespace().map(String::from).collect();
    assert_eq!(f.first().map(String::as_str), Some("ready"), "{line:?}");
    (child, f[1..].to_vec())
}

fn hold(ns: &NamedNs) -> Held {
    let (child, f) = start_holder(ns, HOLDER);
    Held {
        ports: (f[0].parse().unwrap(), f[1].parse().unwrap()),
        child,
    }
}

fn rss(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rss"))
        .args(args)
        .output()
        .expect("rss");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Checks `v` against docs/json.md's object `name` (tests/json_support).
fn check(v: &Value, name: &str, schema: &json_support::Schema, at: &str) {
    let mut problems = Vec::new();
    json_support::check_object(v, name, schema, at, &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `name:value` tokens of a text row (its continuation line included).
fn tokens(row: &str) -> BTreeMap<String, String> {
    row.split_whitespace()
        .filter_map(|t| t.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// C's `%g` of `v`, as ss prints times in milliseconds.
fn g(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[test]
fn details_match_the_text_view_field_by_field() {
    if let Some(why) = skip_reason() {
        common::skip("details_match_the_text_view_field_by_field", why);
        return;
    }
    let ns = NamedNs::add(format!("rss-json-{}", std::process::id()));
    let held = hold(&ns);
    let schema = json_support::schema();
    let opts = [
        "-N",
        &ns.name,
        "-tnoemi",
        "--tos",
        "--cgroup",
        "--inet-sockopt",
    ];
    let doc: Value = serde_json::from_str(&rss(&[&opts[..], &["--json"]].concat())).unwrap();
    // The text view, each socket's two lines joined.
    let text = rss(&[&opts[..], &["-O"]].concat());
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let sockets = doc["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), rows.len(), "{doc}\n{text}");
    let mut seen_info = 0;
    for (sock, row) in sockets.iter().zip(&rows) {
        let at = format!("{}:{}", sock["local_port"], sock["peer_port"]);
        check(&sock["details"], "ss_details", &schema, &at);
        let d = &sock["details"];
        let t = tokens(row);
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(
            cols[3].ends_with(&format!(":{}", sock["local_port"])),
            "{at}: {row}"
        );
        assert_eq!(t["ino"], sock["inode"].to_string(), "{at}");
        assert_eq!(
            t["sk"],
            format!("{:x}", d["cookie"].as_u64().unwrap()),
            "{at}"
        );
        assert!(
            cols.contains(&d["shutdown"].as_str().unwrap()),
            "{at}: {row}"
        );
        assert_eq!(
            t.get("tos").map(String::as_str),
            d["tos"]
                .as_u64()
                .map(|v| if v == 0 {
                    "0".to_string()
                } else {
                    format!("{v:#x}")
                })
                .as_deref(),
            "{at}"
        );
        let sockopt: Vec<&str> = row
            .split_once("inet-sockopt: (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(flags, _)| flags.split_whitespace().collect())
            .unwrap_or_else(|| panic!("{at}: no inet-sockopt in {row}"));
        let flags: Vec<&str> = d["inet_sockopt"]
            .as_array()
            .unwrap_or_else(|| panic!("{at}: {d}"))
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(flags, sockopt, "{at}: {row}");
        assert!(flags.contains(&"is_icsk"), "{at}: {flags:?}");
        match &d["timer"] {
            Value::Null => assert!(!t.contains_key("timer"), "{at}: {row}"),
            timer => assert!(
                t["timer"].starts_with(&format!("({},", timer["name"].as_str().unwrap())),
                "{at}"
            ),
        }
        let m = &d["skmem"];
        let skmem = &t["skmem"];
        for (k, f) in [
            ("rb", "rcvbuf"),
            ("tb", "sndbuf"),
            ("r", "rmem_alloc"),
            ("w", "wmem_queued"),
        ] {
            assert!(
                skmem.contains(&format!("{k}{},", m[f]))
                    || skmem.contains(&format!("({k}{},", m[f])),
                "{at}: {k}={} in {skmem}",
                m[f]
            );
        }
        let i = &d["tcp_info"];
        if i.is_null() {
            continue;
        }
        seen_info += 1;
        for (k, f) in [
            ("mss", "snd_mss"),
            ("pmtu", "pmtu"),
            ("rcvmss", "rcv_mss"),
            ("advmss", "advmss"),
            ("cwnd", "snd_cwnd"),
            ("bytes_sent", "bytes_sent"),
            ("bytes_acked", "bytes_acked"),
            ("bytes_received", "bytes_received"),
            ("segs_out", "segs_out"),
            ("segs_in", "segs_in"),
            ("data_segs_out", "data_segs_out"),
            ("data_segs_in", "data_segs_in"),
            ("delivered", "delivered"),
            ("rcv_space", "rcv_space"),
            ("rcv_ssthresh", "rcv_ssthresh"),
            ("snd_wnd", "snd_wnd"),
        ] {
            let v = i[f].as_u64().unwrap();
            // ss prints these only when non-zero.
            match t.get(k) {
                Some(s) => assert_eq!(s, &v.to_string(), "{at}: {k}"),
                None => assert_eq!(v, 0, "{at}: {k} missing from {row}"),
            }
        }
        assert_eq!(t["rto"], g(i["rto_us"].as_f64().unwrap() / 1000.0), "{at}");
        assert_eq!(
            t["wscale"],
            format!("{},{}", i["snd_wscale"], i["rcv_wscale"]),
            "{at}"
        );
        let cong = i["congestion"].as_str().unwrap();
        assert!(cols.contains(&cong), "{at}: {cong} in {row}");
        for flag in ["ts", "sack"] {
            assert_eq!(
                cols.contains(&flag),
                i[flag].as_bool().unwrap(),
                "{at}: {flag}"
            );
        }
    }
    // Both ends of two connections and the listener; the listener has no tcp_info
    // values to compare beyond the zeros.
    assert!(seen_info >= 4, "{doc}");
    let ports: Vec<u64> = sockets
        .iter()
        .filter_map(|s| s["local_port"].as_u64())
        .collect();
    assert!(ports.contains(&u64::from(held.ports.0)) && ports.contains(&u64::from(held.ports.1)));
    // The IP_TOS the holder set.
    let tos: Vec<u64> = sockets
        .iter()
        .filter(|s| s["local_port"] == u64::from(held.ports.0))
        .map(|s| s["details"]["tos"].as_u64().unwrap())
        .collect();
    assert_eq!(tos, [0x10]);
    // The IP_FREEBIND it set on the same socket.
    let freebind: Vec<u64> = sockets
        .iter()
        .filter(|s| {
            let flags = s["details"]["inet_sockopt"].as_array().unwrap();
            flags.contains(&Value::from("freebind"))
        })
        .map(|s| s["local_port"].as_u64().unwrap())
        .collect();
    assert_eq!(freebind, [u64::from(held.ports.0)]);

    // Unix rows: skmem and the shutdown marks; without a detail option, null.
    let unix: Value = serde_json::from_str(&rss(&["-N", &ns.name, "-xme", "--json"])).unwrap();
    let text = rss(&["-N", &ns.name, "-xme", "-O"]);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let socks = unix["sockets"].as_array().unwrap();
    assert_eq!(socks.len(), 2, "{unix}");
    for (sock, row) in socks.iter().zip(&rows) {
        check(&sock["details"], "ss_details", &schema, "unix");
        let t = tokens(row);
        let m = &sock["details"]["skmem"];
        assert!(
            t["skmem"].starts_with(&format!("(r{},rb{},", m["rmem_alloc"], m["rcvbuf"])),
            "{row}"
        );
    }
    let plain: Value = serde_json::from_str(&rss(&["-N", &ns.name, "-a", "--json"])).unwrap();
    for s in plain["sockets"].as_array().unwrap() {
        assert_eq!(s["details"], Value::Null);
    }
    drop(held);
}

/// The numbers of a `ss -s` text: `Total`, the TCP line's five, and each transport
/// line's three, in order.
fn summary_numbers(text: &str) -> Vec<i64> {
    text.lines()
        .filter(|l| !l.starts_with("Transport"))
        .flat_map(|l| l.split(|c: char| !c.is_ascii_digit() && c != '-'))
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// The same numbers from an `ss_summary` object, in the text's order.
fn summary_json_numbers(s: &Value) -> Vec<i64> {
    let mut n = vec![s["total"].as_i64().unwrap()];
    for k in ["total", "estab", "closed", "orphaned", "timewait"] {
        n.push(s["tcp"][k].as_i64().unwrap());
    }
    for t in ["raw", "udp", "tcp", "inet", "frag"] {
        for k in ["total", "ip", "ipv6"] {
            n.push(s["transports"][t][k].as_i64().unwrap());
        }
    }
    n
}

/// ss and rss read the same counter files (ss's PROC_NET_SOCKSTAT, PROC_NET_SOCKSTAT6
/// and PROC_NET_SNMP): the live ones move with every socket on the machine.
#[test]
fn summary_json_carries_the_numbers_ss_prints() {
    if common::find_program("ss").is_none() {
        common::skip("summary_json_carries_the_numbers_ss_prints", "ss missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("rss-json-s-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let files = [
        (
            "PROC_NET_SOCKSTAT",
            "sockstat",
            "sockets: used 317\nTCP: inuse 12 orphan 3 tw 41 alloc 57 mem 9\n\
             UDP: inuse 7 mem 2\nUDPLITE: inuse 0\nRAW: inuse 2\nFRAG: inuse 1 memory 512\n",
        ),
        (
            "PROC_NET_SOCKSTAT6",
            "sockstat6",
            "TCP6: inuse 5\nUDP6: inuse 4\nUDPLITE6: inuse 0\nRAW6: inuse 1\nFRAG6: inuse 0 memory 0\n",
        ),
        (
            "PROC_NET_SNMP",
            "snmp",
            "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails \
             EstabResets CurrEstab InSegs\nTcp: 1 200 120000 -1 10 11 0 0 9 100\n",
        ),
    ];
    for (_, name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let with_files = |cmd: &mut Command| {
        for (var, name, _) in files {
            cmd.env(var, dir.join(name));
        }
    };
    let mut ss = Command::new("ss");
    ss.arg("-s");
    with_files(&mut ss);
    let ss = ss.output().expect("ss");
    assert!(ss.status.success(), "{ss:?}");
    let ss_text = String::from_utf8(ss.stdout).unwrap();
    let expected = summary_numbers(&ss_text);
    assert_eq!(expected.len(), 21, "{ss_text}");

    let mut rss = Command::new(env!("CARGO_BIN_EXE_rss"));
    rss.args(["-s", "--json"]);
    with_files(&mut rss);
    let out = rss.output().expect("rss");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    check(&doc, "ss", &json_support::schema(), "rss -s --json");
    assert_eq!(doc["sockets"].as_array().unwrap().len(), 0, "{doc}");
    let summaries = doc["summary"].as_array().unwrap();
    assert_eq!(summaries.len(), 1, "{doc}");
    assert_eq!(summaries[0]["namespace"], doc["namespaces"][0]["inode"]);
    assert_eq!(
        summary_json_numbers(&summaries[0]),
        expected,
        "{doc}\n{ss_text}"
    );
}

/// With a selection the rows come beside the summary (of the namespace -N names);
/// without -s there is no summary.
#[test]
fn summary_json_with_rows_and_namespace() {
    if let Some(why) = skip_reason() {
        common::skip("summary_json_with_rows_and_namespace", why);
        return;
    }
    let ns = NamedNs::add(format!("rss-json-sn-{}", std::process::id()));
    let _held = hold(&ns);
    let ss = Command::new("ip")
        .args(["netns", "exec", &ns.name, "ss", "-Htn"])
        .output()
        .expect("ss");
    let rows = String::from_utf8(ss.stdout).unwrap().lines().count();
    assert!(rows >= 4, "the holder's connections");
    let doc: Value = serde_json::from_str(&rss(&["-N", &ns.name, "-s", "-tn", "--json"])).unwrap();
    check(&doc, "ss", &json_support::schema(), "rss -s -tn --json");
    assert_eq!(doc["sockets"].as_array().unwrap().len(), rows, "{doc}");
    let summary = &doc["summary"][0];
    assert_eq!(summary["namespace"], doc["namespaces"][0]["inode"], "{doc}");
    // The namespace's own TCP sockets: the holder's listener and connections.
    assert_eq!(
        summary["transports"]["tcp"]["ip"].as_u64(),
        Some(rows as u64 + 1)
    );
    let doc: Value = serde_json::from_str(&rss(&["-N", &ns.name, "-tn", "--json"])).unwrap();
    assert!(doc["summary"].is_null(), "{doc}");
}

/// Packet sockets with a ring, auxdata and a fanout group, and a netlink socket in
/// multicast group 1, held until stdin closes.
const PACKET_HOLDER: &str = r#"
import os, socket, struct, sys
SOL_PACKET = 263
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); p.bind(("lo", 0))
p.setsockopt(SOL_PACKET, 8, 1)
p.setsockopt(SOL_PACKET, 5, struct.pack("IIII", 4096, 4, 2048, 8))
q = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800)); q.bind(("lo", 0))
q.setsockopt(SOL_PACKET, 18, 77 | (1 << 16))
n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15); n.bind((0, 1))
print("ready", n.getsockname()[0], flush=True)
sys.stdin.read()
"#;

/// The text ss prints for a packet or netlink row's `-e`/`-m` details (with -O),
/// rebuilt from the document's values.
fn packet_text(sock: &Value) -> String {
    let d = &sock["details"];
    let mut t = String::new();
    if sock["uid"].as_u64() != Some(0) {
        t += &format!(" uid:{}", sock["uid"]);
    }
    t += &format!(
        " ino:{} sk:{:x}",
        sock["inode"],
        d["cookie"].as_u64().unwrap()
    );
    let p = &d["packet"];
    let flags: Vec<&str> = p["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let flags = if flags.is_empty() {
        "0".to_string()
    } else {
        flags.join(" ")
    };
    t += &format!(
        " ver:{} cpy_thresh:{} flags( {flags} )",
        p["version"], p["copy_thresh"]
    );
    for (key, name) in [("rx_ring", "ring_rx"), ("tx_ring", "ring_tx")] {
        let r = &p[key];
        if !r.is_null() {
            t += &format!(
                " {name}(blk_size:{},blk_nr:{},frm_size:{},frm_nr:{},tmo:{},features:{:#x})",
                r["block_size"],
                r["block_nr"],
                r["frame_size"],
                r["frame_nr"],
                r["retire_tmo"],
                r["features"].as_u64().unwrap()
            );
        }
    }
    if !p["fanout"].is_null() {
        let f = &p["fanout"];
        t += &format!(
            " fanout(id:{},type:{})",
            f["id"],
            f["type"].as_str().unwrap()
        );
    }
    t + &skmem_text(&d["skmem"])
}

fn skmem_text(m: &Value) -> String {
    format!(
        " skmem:(r{},rb{},t{},tb{},f{},w{},o{},bl{},d{})",
        m["rmem_alloc"],
        m["rcvbuf"],
        m["wmem_alloc"],
        m["sndbuf"],
        m["fwd_alloc"],
        m["wmem_queued"],
        m["optmem"],
        m["backlog"],
        m["drops"]
    )
}

/// The text after a row's Peer column (its `*`): the details.
fn after_peer(row: &str) -> String {
    let at = row
        .find(" * ")
        .or_else(|| row.find(" *\t"))
        .expect("peer column");
    row[at + 2..].trim().to_string()
}

#[test]
fn packet_and_netlink_details_match_the_text_view() {
    if let Some(why) = skip_reason() {
        common::skip("packet_and_netlink_details_match_the_text_view", why);
        return;
    }
    let ns = NamedNs::add(format!("rss-jsonpk-{}", std::process::id()));
    let (child, f) = start_holder(&ns, PACKET_HOLDER);
    let held = Held {
        child,
        ports: (0, 0),
    };
    let portid: u64 = f[0].parse().unwrap();
    let schema = json_support::schema();

    // Packet sockets (the holder's are the namespace's only ones), -e and -m.
    let opts = ["-N", &ns.name, "-0aem"];
    let doc: Value = serde_json::from_str(&rss(&[&opts[..], &["--json"]].concat())).unwrap();
    let text = rss(&[&opts[..], &["-O"]].concat());
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let sockets = doc["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 2, "{doc}");
    assert_eq!(rows.len(), 2, "{text}");
    for (sock, row) in sockets.iter().zip(&rows) {
        check(&sock["details"], "ss_details", &schema, "packet");
        assert_eq!(packet_text(sock).trim_start(), after_peer(row), "{sock}");
    }
    // What the holder set up is in the document.
    let ring = &sockets[0]["details"]["packet"]["rx_ring"];
    assert_eq!(
        (&ring["block_size"], &ring["frame_nr"]),
        (&4096.into(), &8.into())
    );
    let fanout = &sockets[1]["details"]["packet"]["fanout"];
    assert_eq!((&fanout["id"], &fanout["type"]), (&77.into(), &"lb".into()));

    // The holder's netlink socket: its groups and skmem.
    let opts = ["-N", &ns.name, "-f", "netlink", "-emn"];
    let doc: Value = serde_json::from_str(&rss(&[&opts[..], &["--json"]].concat())).unwrap();
    let text = rss(&opts);
    let sock = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == portid)
        .unwrap_or_else(|| panic!("port {portid} in {doc}"));
    check(&sock["details"], "ss_details", &schema, "netlink");
    let row = text
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == format!("15:{portid}")))
        .unwrap_or_else(|| panic!("port {portid} in {text}"));
    let d = &sock["details"];
    let want = format!(
        "sk=0 cb=0 groups={:#010x}\t{}",
        d["groups"].as_u64().unwrap(),
        skmem_text(&d["skmem"])
    );
    assert_eq!(after_peer(row), want);
    assert_eq!(d["groups"], 1);

    // Without a detail option, no details.
    let plain: Value = serde_json::from_str(&rss(&["-N", &ns.name, "-0a", "--json"])).unwrap();
    for s in plain["sockets"].as_array().unwrap() {
        assert_eq!(s["details"], Value::Null);
    }
    drop(held);
}
