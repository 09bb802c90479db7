//! `rnetstat -s` against net-tools netstat 2.10.
//!
//! - Recorded and crafted files (tests/fixtures/stats/*/net): netstat reads them through a
//!   bind mount over /proc in a private mount namespace, rnetstat with --proc-root; the
//!   outputs must be identical byte for byte. Without root, the outputs recorded that way
//!   (tests/fixtures/stats/expected) are the judge.
//! - Live counters: both tools on this machine (and, as root, inside a fresh network
//!   namespace with a little loopback traffic), every digit run masked because counters
//!   move between two runs.

use rnetstat::proc::snmp::{self, Section};
use rnetstat::proc::ProcRoot;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stats")
        .join(name)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip_reason() -> Option<&'static str> {
    if !is_root() {
        return Some("needs root for mount and network namespaces");
    }
    if !have("netstat") || !have("unshare") || !have("ip") {
        return Some("netstat, unshare or ip missing");
    }
    None
}

/// netstat reading `dir` as /proc: the fixture is bind-mounted over /proc in a private
/// mount namespace. (Mounting over single files in /proc/PID/net does not stick: the
/// kernel does not cache those dentries, so the mount is detached at once.)
fn netstat_on(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            "mount --bind \"$0\" /proc || exit 99; exec \"$@\"",
        ])
        .arg(dir)
        .arg("netstat")
        .args(args)
        .output()
        .expect("unshare runs");
    assert_ne!(
        out.status.code(),
        Some(99),
        "could not mount the fixture: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn rnetstat_on(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnetstat"))
        .arg("--proc-root")
        .arg(dir)
        .args(args)
        .output()
        .expect("rnetstat runs")
}

/// Our messages name rnetstat where netstat names itself.
fn as_netstat(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| match l.strip_prefix("rnetstat: ") {
            Some(rest) => format!("netstat: {rest}\n"),
            None => format!("{l}\n"),
        })
        .collect()
}

fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_run {
                out.push('#');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

fn line_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut diff = String::new();
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            diff += &format!(
                "  line {}:\n    netstat : {:?}\n    rnetstat: {:?}\n",
                i + 1,
                w.get(i),
                g.get(i)
            );
        }
    }
    diff
}

const FIXTURES: &[&str] = &["live", "ones", "odd", "only6", "empty"];

const ARG_SETS: &[&[&str]] = &[
    &["-s"],
    &["-st"],
    &["-su"],
    &["-sw"],
    &["-s", "-6"],
    &["-s", "-6", "-t"],
    &["-s", "-6", "-u"],
    &["-s", "-6", "-w"],
    &["-sU"],
    &["-s", "-4"],
    &["-s", "-A", "inet6"],
    &["--statistics", "--tcp", "--udp"],
    &["-s", "-4", "-6"],
    &["-s", "-x"],
    &["-s", "-A", "inet,unix"],
];

/// netstat is the judge on every fixture and argument set: same stdout, same exit code.
#[test]
fn fixtures_match_netstat() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let mut failures = String::new();
    for name in FIXTURES {
        let dir = fixture(name);
        for args in ARG_SETS {
            let want = netstat_on(&dir, args);
            let got = rnetstat_on(&dir, args);
            let (w, g) = (
                String::from_utf8_lossy(&want.stdout).into_owned(),
                as_netstat(&got.stdout),
            );
            let diff = line_diff(&w, &g);
            if !diff.is_empty() || w != g {
                failures += &format!("{name} {args:?}:\n{diff}");
            }
            if want.status.code() != got.status.code() {
                failures += &format!(
                    "{name} {args:?}: exit {:?} vs {:?}\n",
                    want.status.code(),
                    got.status.code()
                );
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// The outputs netstat printed for the all-ones and odd fixtures, recorded with
/// `netstat_on` (see tests/fixtures/README.md), so the exactness is checked without
/// root too.
#[test]
fn fixtures_match_recorded_netstat_output() {
    let expected = fixture("expected");
    let mut checked = 0;
    for entry in std::fs::read_dir(&expected).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = file.strip_suffix(".txt") else {
            continue;
        };
        // `ones__-s_-6.txt`: fixture, then the arguments joined by `_`.
        let (name, args) = stem.split_once("__").unwrap();
        let args: Vec<&str> = args.split('_').collect();
        let want = std::fs::read_to_string(&path).unwrap();
        let got = rnetstat_on(&fixture(name), &args);
        let got = as_netstat(&got.stdout);
        assert!(got == want, "{file}:\n{}", line_diff(&want, &got));
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} recorded outputs");
}

/// Rewrites tests/fixtures/stats/expected from netstat (run with
/// `RNT_RECORD_STATS=1 cargo test --test stats record_expected`).
#[test]
fn record_expected() {
    if std::env::var_os("RNT_RECORD_STATS").is_none() {
        return;
    }
    let expected = fixture("expected");
    std::fs::create_dir_all(&expected).unwrap();
    for name in ["ones", "odd"] {
        for args in &ARG_SETS[..8] {
            let out = netstat_on(&fixture(name), args);
            let file = expected.join(format!("{name}__{}.txt", args.join("_")));
            std::fs::write(file, out.stdout).unwrap();
        }
    }
}

fn live_args() -> Vec<Vec<&'static str>> {
    [&["-s"][..], &["-st"], &["-su"], &["-sw"], &["-s", "-6"]]
        .iter()
        .map(|a| a.to_vec())
        .collect()
}

/// Runs `netstat`, `rnetstat`, `netstat` (through `prefix`, e.g. `ip netns exec NS`) and
/// accepts our masked output when it equals either netstat run: a counter that turns
/// non-zero between two runs adds a line, so a single pair could differ honestly.
fn sandwich(prefix: &[&str], args: &[&str]) -> Result<(), String> {
    let run = |program: &str| {
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        };
        let out = cmd.args(args).output().expect("runs");
        (
            mask_digits(&String::from_utf8_lossy(&out.stdout)),
            out.status.code(),
        )
    };
    let mut last = String::new();
    for _ in 0..5 {
        let before = run("netstat");
        let ours = run(env!("CARGO_BIN_EXE_rnetstat"));
        let after = run("netstat");
        if ours == before || ours == after {
            return Ok(());
        }
        last = line_diff(&before.0, &ours.0);
    }
    Err(format!("{args:?}:\n{last}"))
}

#[test]
fn live_counters_match_netstat_with_digits_masked() {
    if !have("netstat") {
        eprintln!("SKIPPED: netstat missing");
        return;
    }
    let failures: Vec<String> = live_args()
        .iter()
        .filter_map(|args| sandwich(&[], args).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

const TRAFFIC: &str = r#"
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.sendall(b"x" * 1000); s.recv(1000); c.close(); s.close(); l.close()
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    u = socket.socket(family, socket.SOCK_DGRAM)
    u.sendto(b"x", (addr, 9))  # nothing listens: ICMP port unreachable in and out
    u.close()
print("done", flush=True)
"#;

/// In a fresh namespace the counters hold still, and the traffic above makes TCP, UDP and
/// ICMP (v4 and v6, with histogram rows) non-zero.
#[test]
fn fresh_namespace_matches_netstat() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let ns = Namespace(format!("rnt-stats-{}", std::process::id()));
    assert!(Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .unwrap()
        .success());
    let exec = ["ip", "netns", "exec", ns.0.as_str()];
    assert!(Command::new("ip")
        .args(["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"])
        .status()
        .unwrap()
        .success());
    let traffic = Command::new("ip")
        .args(["netns", "exec", &ns.0, "python3", "-c", TRAFFIC])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&traffic.stdout).trim(),
        "done",
        "{}",
        String::from_utf8_lossy(&traffic.stderr)
    );
    let failures: Vec<String> = live_args()
        .iter()
        .filter_map(|args| sandwich(&exec, args).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The traffic shows up, so the comparison covered more than zeros.
    let ours = Command::new("ip")
        .args(["netns", "exec", &ns.0, env!("CARGO_BIN_EXE_rnetstat"), "-s"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ours.stdout);
    assert!(text.contains("        destination unreachable: "), "{text}");
    assert!(text.contains("1 active connection openings"), "{text}");
}

/// Bad lines are reported with file and line; the good ones still print.
#[test]
fn broken_files_warn_and_the_rest_prints() {
    let got = rnetstat_on(&fixture("broken"), &["-s"]);
    let stderr = String::from_utf8_lossy(&got.stderr);
    for place in [
        "net/snmp:2:",
        "net/snmp:4:",
        "net/snmp:5:",
        "net/snmp:6:",
        "net/snmp:8:",
        "net/snmp:11:",
        "net/netstat:3:",
    ] {
        assert!(
            stderr.contains(place),
            "no warning for {place} in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains('\x1b'),
        "warnings must not carry raw escapes"
    );
    assert_eq!(got.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(got.stdout).unwrap(),
        "Ip:\n    Forwarding: 2\n    9 requests sent out\n\
         Icmp:\n    1 ICMP messages received\n\
         Udp:\n    3 packets received\n    4 packets to unknown port received\n\
         Ev^[il:\n    K: 1\n\
         TcpExt:\n    1 TCP sockets finished time wait in fast timer\n"
    );
    let six = rnetstat_on(&fixture("broken"), &["-s", "-6"]);
    let stderr = String::from_utf8_lossy(&six.stderr);
    for place in ["net/snmp6:1:", "net/snmp6:2:", "net/snmp6:3:"] {
        assert!(
            stderr.contains(place),
            "no warning for {place} in:\n{stderr}"
        );
    }
    assert_eq!(
        String::from_utf8(six.stdout).unwrap(),
        "Ip6:\n    2 incoming packets discarded\nIcmp6:\n    1 ICMP messages received\n"
    );
}

fn names(sections: &[Section]) -> Vec<String> {
    sections
        .iter()
        .map(|s| String::from_utf8_lossy(&s.name).into_owned())
        .collect()
}

/// The readers on this machine's recorded files: every section, every key, no warnings.
#[test]
fn readers_on_recorded_files() {
    let root = ProcRoot::new(fixture("live"));
    let snmp = snmp::read_snmp(&root, "net").unwrap();
    assert!(snmp.warnings.is_empty(), "{:?}", snmp.warnings);
    assert_eq!(
        names(&snmp.rows),
        ["Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "UdpLite"]
    );
    let raw = std::fs::read_to_string(fixture("live/net/snmp")).unwrap();
    for (section, header) in snmp.rows.iter().zip(raw.lines().step_by(2)) {
        assert_eq!(
            section.counters.len(),
            header.split_whitespace().count() - 1
        );
    }
    let tcp = &snmp.rows[3];
    let max_conn = tcp.counters.iter().find(|c| c.key == b"MaxConn").unwrap();
    assert_eq!(max_conn.value, snmp::Value::Signed(-1));

    let netstat = snmp::read_netstat(&root, "net").unwrap();
    assert!(netstat.warnings.is_empty(), "{:?}", netstat.warnings);
    assert_eq!(names(&netstat.rows), ["TcpExt", "IpExt", "MPTcpExt"]);
    assert!(netstat.rows[0].counters.len() > 100);

    let snmp6 = snmp::read_snmp6(&root, "net").unwrap();
    assert!(snmp6.warnings.is_empty(), "{:?}", snmp6.warnings);
    assert_eq!(names(&snmp6.rows), ["Ip6", "Icmp6", "Udp6", "UdpLite6"]);
    let lines = std::fs::read_to_string(fixture("live/net/snmp6")).unwrap();
    let total: usize = snmp6.rows.iter().map(|s| s.counters.len()).sum();
    assert_eq!(total, lines.lines().count());

    assert!(
        snmp::read_sctp(&root, "net").is_err(),
        "no sctp on this machine"
    );
    let odd = snmp::read_sctp(&ProcRoot::new(fixture("odd")), "net").unwrap();
    assert_eq!(names(&odd.rows), ["Sctp"]);
    assert_eq!(odd.rows[0].counters.len(), 4);
}

#[test]
fn readers_report_broken_lines() {
    let root = ProcRoot::new(fixture("broken"));
    let snmp = snmp::read_snmp(&root, "net").unwrap();
    let at: Vec<usize> = snmp.warnings.iter().map(|w| w.line).collect();
    assert_eq!(at, [2, 4, 5, 6, 8, 11]);
    assert!(snmp.warnings.iter().all(|w| w.file.ends_with("net/snmp")));
    assert_eq!(names(&snmp.rows), ["Ip", "Icmp", "Udp", "Ev\u{1b}il"]);
    // The bad value is dropped, its neighbours kept.
    let ip: Vec<&[u8]> = snmp.rows[0].counters.iter().map(|c| &c.key[..]).collect();
    assert_eq!(ip, [&b"Forwarding"[..], b"OutRequests"]);
    let snmp6 = snmp::read_snmp6(&root, "net").unwrap();
    let at: Vec<usize> = snmp6.warnings.iter().map(|w| w.line).collect();
    assert_eq!(at, [1, 2, 3]);
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `-c` prints the statistics again every DELAY seconds.
#[test]
fn continuous_repeats_the_statistics() {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_rnetstat"))
            .arg("--proc-root")
            .arg(fixture("odd"))
            .args(["-s", "-c", "0.1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let headers = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l == "Ip:")
        .take(3)
        .count();
    assert_eq!(headers, 3);
}
