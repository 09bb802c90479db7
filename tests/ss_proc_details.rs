//! The details ss prints for rows of its /proc fallback (-o timers, -e uid/ino/sk and
//! netlink's sk/cb/groups, -i what /proc/net/tcp has of tcp_info), against the
//! installed ss (iproute2 6.1) with the same PROC_* environment: on a crafted tree
//! (tests/fixtures/ss_proc/details: every branch of tcp_show_line()), and on the
//! tables of a private namespace whose sockets the test made (tests/ss_support/
//! proc_scene.py: listeners, established pairs with a keepalive timer and queued
//! data, a SYN retransmitted to a neighbour that never answers, a full window, a
//! TIME-WAIT, packet and netlink sockets). The namespace's tables are copied once
//! and both tools read the copy, so a timer ticking between the runs changes nothing.

mod common;
mod ss_support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ss_proc")
}

/// (stdout, stderr, status) of `program args` with `vars`, inside the network
/// namespace of `netns_pid` when given (interface names come from there).
fn run(
    program: &str,
    args: &[&str],
    vars: &[(&str, &Path)],
    netns_pid: Option<u32>,
) -> (String, String, Option<i32>) {
    let mut cmd = match netns_pid {
        Some(pid) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net=/proc/{pid}/ns/net")).arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args);
    for v in ss_support::SS_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("tool runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// ss's and rss's runs compared byte for byte: a report of each difference, and
/// ss's stdout of every run.
fn compare(
    cases: &[&[&str]],
    vars: &[(&str, &Path)],
    netns_pid: Option<u32>,
) -> (String, Vec<String>) {
    let mut report = String::new();
    let mut outputs = Vec::new();
    for args in cases {
        let theirs = run("ss", args, vars, netns_pid);
        let ours = run(ss_support::rss(), args, vars, netns_pid);
        if theirs != ours {
            report += &format!(
                "{args:?} {vars:?}\n--- ss ({:?}) {}\n{}\n--- rss ({:?}) {}\n{}\n",
                theirs.2, theirs.1, theirs.0, ours.2, ours.1, ours.0
            );
        }
        outputs.push(theirs.0);
    }
    (report, outputs)
}

const DETAIL_VIEWS: &[&[&str]] = &[
    &["-tano"],
    &["-tane"],
    &["-tani"],
    &["-taneoi"],
    &["-taniO"],
    &["-taneoim"],
    &["-ta", "-e", "--tos", "--cgroup"],
    &["-t6aneo"],
    &["-Htaoi", "state", "established"],
    &["-tanoe", "sport", "=", ":7100", "or", "dport", "=", ":7102"],
    &["-uaneo"],
    &["-0ae"],
    &["-0aen"],
    &["-f", "netlink", "-e"],
    &["-f", "netlink", "-en"],
    &["-aneoi"],
];

fn ss_missing(test: &str) -> bool {
    let found = ss_support::have("ss");
    if !found {
        common::skip(test, "ss (iproute2) is not installed");
    }
    !found
}

#[test]
fn crafted_records_match_ss() {
    if ss_missing("crafted_records_match_ss") {
        return;
    }
    let details = fixtures().join("details");
    let odd = fixtures().join("odd");
    let mut report = String::new();
    for root in [&details, &odd] {
        report += &compare(DETAIL_VIEWS, &[("PROC_ROOT", root)], None).0;
    }
    // The table's own variables, PROC_ROOT unset (tcp6 from /proc/net/tcp6 is
    // named too, so nothing live is read).
    let (tcp, tcp6) = (details.join("net/tcp"), details.join("net/tcp6"));
    report += &compare(
        &[&["-tanoei"], &["-t4anoi"]],
        &[("PROC_NET_TCP", &tcp), ("PROC_NET_TCP6", &tcp6)],
        None,
    )
    .0;
    assert!(report.is_empty(), "{report}");
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn live_namespace_tables_match_ss() {
    if ss_support::skip("live_namespace_tables_match_ss") {
        return;
    }
    let scene = ss_support::Scene::start_script(
        "proc_scene.py",
        "ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent &&",
    );
    let root =
        TempDir(std::env::temp_dir().join(format!("rss-proc-details-{}", std::process::id())));
    let net = root.0.join("net");
    std::fs::create_dir_all(&net).expect("temp tree");
    for table in [
        "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet", "netlink",
    ] {
        let data = std::fs::read(format!("/proc/{}/net/{table}", scene.pid)).expect("table");
        std::fs::write(net.join(table), data).expect("copy");
    }
    let range = root.0.join("sys/net/ipv4");
    std::fs::create_dir_all(&range).expect("temp tree");
    std::fs::write(range.join("ip_local_port_range"), "32768\t60999\n").expect("range");
    let (report, outputs) = compare(DETAIL_VIEWS, &[("PROC_ROOT", &root.0)], Some(scene.pid));
    assert!(report.is_empty(), "{report}");
    let of = |args: &[&str]| -> &str {
        let i = DETAIL_VIEWS
            .iter()
            .position(|a| *a == args)
            .expect("a view");
        &outputs[i]
    };
    // What the scene made certain is there to compare: -taneoi's rows.
    let rich = of(&["-taneoi"]);
    for want in [
        "timer:(keepalive,",
        "timer:(on,",
        "timer:(timewait,",
        " rto:",
        " cwnd:",
        " reordering:0",
        " sk:",
        "[::1]:7101",
    ] {
        assert!(rich.contains(want), "{want:?} not in\n{rich}");
    }
    let netlink = of(&["-f", "netlink", "-en"]);
    assert!(
        netlink.contains(" sk=") && netlink.contains("groups=0x00000001"),
        "{netlink}"
    );
    let packet = of(&["-0ae"]);
    assert!(
        packet.contains(":lo ") && packet.contains(" sk:0"),
        "{packet}"
    );
}

/// --json carries the fallback's details as values: the timer ss computes from the
/// record (ticks rounded up to milliseconds, probes for the non-retransmit timers)
/// and the file's `sk`; netlink's sk/cb/groups from /proc/net/netlink.
#[test]
fn json_details_of_fallback_rows() {
    let run_json = |args: &[&str], root: &Path| -> serde_json::Value {
        let (out, err, status) = run(ss_support::rss(), args, &[("PROC_ROOT", root)], None);
        assert_eq!((status, err.as_str()), (Some(0), ""), "{args:?}");
        serde_json::from_str(&out).expect("json")
    };
    let doc = run_json(&["-taneo", "--json"], &fixtures().join("details"));
    let by_port = |port: u64| {
        doc["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["local_port"] == port)
            .unwrap_or_else(|| panic!("{port} in {doc}"))["details"]
            .clone()
    };
    let timer = |port: u64| {
        let t = &by_port(port)["timer"];
        (
            t["name"].as_str().map(str::to_string),
            t["expires_ms"].as_u64(),
            t["retransmits"].as_i64(),
        )
    };
    let named = |n: &str, ms: u64, r: i64| (Some(n.to_string()), Some(ms), Some(r));
    assert_eq!(timer(443), named("keepalive", 432_000, 0));
    assert_eq!(timer(8080), named("on", 10, 3));
    assert_eq!(timer(8081), named("persist", 60_000, 9));
    assert_eq!(timer(8082), named("unknown", 4_000_000, 2));
    assert_eq!(timer(8083), named("timewait", 30_000, 0));
    assert_eq!(by_port(22)["timer"], serde_json::Value::Null);
    assert_eq!(by_port(22)["sk"], 0xffff8c4a12345678u64);
    assert_eq!(by_port(443)["tcp_info"], serde_json::Value::Null);
    // udp rows from /proc: nothing ss would print, so no details.
    let udp = run_json(&["-uaneo", "--json"], &fixtures().join("odd"));
    for s in udp["sockets"].as_array().unwrap() {
        assert_eq!(s["details"], serde_json::Value::Null, "{s}");
    }
    let nl = run_json(&["-f", "netlink", "-e", "--json"], &fixtures().join("odd"));
    let groups: Vec<u64> = nl["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["details"]["groups"].as_u64().unwrap())
        .collect();
    assert_eq!(groups[..2], [0, 1]);
    assert!(nl["sockets"][0]["details"]["sk"].is_u64());
}

mod tails {
    use super::*;
    use proptest::prelude::*;

    /// Words of a record's tail: numbers at and past C's limits, signs, hex prefixes,
    /// words glued to text, text.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..400).prop_map(|n| n.to_string()),
            (-400i64..0).prop_map(|n| n.to_string()),
            Just("2147483647".to_string()),
            Just("2147483648".to_string()),
            Just("4294967295".to_string()),
            Just("4294967296".to_string()),
            Just("99999999999999999999".to_string()),
            Just("-9223372036854775809".to_string()),
            Just("+7".to_string()),
            Just("-".to_string()),
            Just("0x1f".to_string()),
            Just("0x".to_string()),
            Just("ffff8c4a12345678".to_string()),
            Just("12ab".to_string()),
            Just("abc".to_string()),
        ]
    }

    /// A TCP record: a timer kind and ticks, retransmits, probes, then 0-9 tail words.
    fn record() -> impl Strategy<Value = String> {
        (
            0u8..8,
            0u32..2_000_000,
            0u32..300,
            0u32..300,
            proptest::collection::vec(word(), 0..10),
        )
            .prop_map(|(timer, ticks, retr, probes, tail)| {
                format!(
                    "   0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 {timer:02X}:{ticks:08X} {retr:08X}     0 {probes:8} 7001 {}",
                    tail.join(" ")
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Whatever the columns after the inode hold, rss prints what ss prints.
        #[test]
        fn any_tail_prints_as_ss_prints_it(lines in proptest::collection::vec(record(), 1..4)) {
            if ss_missing("any_tail_prints_as_ss_prints_it") {
                return Ok(());
            }
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let dir = TempDir(std::env::temp_dir().join(format!(
                "rss-proc-tails-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            )));
            std::fs::create_dir_all(dir.0.join("net")).unwrap();
            let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
            let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(dir.0.join("net/tcp"), format!("{header}{body}")).unwrap();
            std::fs::write(dir.0.join("net/tcp6"), header).unwrap();
            let (report, _) = compare(&[&["-tanoei"]], &[("PROC_ROOT", &dir.0)], None);
            prop_assert!(report.is_empty(), "{}", report);
        }
    }
}
