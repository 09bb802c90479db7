//! ss's detail text (-o -e -m -i --tos --cgroup --inet-sockopt -O -n) on recorded
//! sock_diag dumps (tests/fixtures/ss/*.bin, made by record.py with `ss -D` and by
//! craft.py): the
//! real ss prints them through TCPDIAG_FILE, our formatter gets the same bytes, and
//! each socket's text must match byte for byte, line breaks and column padding
//! included.

mod common;

use rnetstat::netlink::ss_attrs::{tcpdiag_file, FileEnd, InetDiag};
use rnetstat::proc::cgroup::CgroupPaths;
use rnetstat::proc::ProcRoot;
use rnetstat::render::ss_detail::{self, DetailOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const IPPROTO_TCP: u8 = 6;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ss")
        .join(name)
}

/// The options ss's flags in `args` turn on.
fn options(args: &[&str]) -> DetailOptions {
    let mut o = DetailOptions::default();
    for a in args {
        match *a {
            "--tos" => o.tos = true,
            "--cgroup" => o.cgroup = true,
            "--inet-sockopt" => o.inet_sockopt = true,
            s if s.starts_with("--") => panic!("unmapped {s}"),
            s => {
                for c in s.chars().skip(1) {
                    match c {
                        'o' => o.timers = true,
                        // ss: -e and -b also turn on -o.
                        'e' => (o.extended, o.timers) = (true, true),
                        'b' => (o.bpf, o.timers) = (true, true),
                        'm' => o.memory = true,
                        'i' => o.info = true,
                        'O' => o.oneline = true,
                        'n' => o.numeric = true,
                        't' | 'H' | 'a' => {}
                        _ => panic!("unmapped -{c}"),
                    }
                }
            }
        }
    }
    o
}

/// Our text for each socket of the file, with its peer port.
fn ours(file: &Path, opts: &DetailOptions) -> Vec<(String, u16)> {
    let data = std::fs::read(file).expect("fixture");
    let cgroups = CgroupPaths::new(&ProcRoot::default());
    let mut rows = Vec::new();
    let end = tcpdiag_file(&data[..], |payload| {
        let d = InetDiag::parse(payload).expect("recorded reply parses");
        let mut buf = Vec::new();
        ss_detail::inet(&mut buf, &d, IPPROTO_TCP, opts, &cgroups);
        rows.push((String::from_utf8(buf).expect("ASCII"), d.dport));
    });
    assert!(matches!(end, FileEnd::Done), "{end:?}");
    rows
}

/// ss's output on the file, one string per socket (a line and its `\t` lines).
fn theirs(file: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("ss")
        .args(["-t", "-H"])
        .args(args)
        .env("TCPDIAG_FILE", file)
        .output()
        .expect("ss runs");
    assert!(out.status.success(), "ss {args:?}: {:?}", out.status);
    // Only ss's complaint about the crafted dump's unknown cgroup id.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().all(|l| l == "Failed to open cgroup2 by ID"),
        "{stderr}"
    );
    let text = String::from_utf8(out.stdout).expect("ASCII");
    let mut records: Vec<String> = Vec::new();
    for line in text.lines() {
        match records.last_mut() {
            Some(r) if line.starts_with('\t') => {
                r.push('\n');
                r.push_str(line);
            }
            _ => records.push(line.to_string()),
        }
    }
    records
}

/// Each of ss's records must be its address columns, then exactly our text, then
/// the padding ss gives its text column.
fn compare(file: &str, args: &[&str]) {
    let path = fixture(file);
    let opts = options(args);
    let ours = ours(&path, &opts);
    let theirs = theirs(&path, args);
    assert_eq!(theirs.len(), ours.len(), "{file} {args:?}: row count");
    // ss measures a column when it moves past it, which it never does for the last
    // row's text: that one does not count for the width.
    let width = ours[..ours.len().saturating_sub(1)]
        .iter()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(0);
    for (record, (text, dport)) in theirs.iter().zip(&ours) {
        let tail = format!("{text}{}", " ".repeat(width.saturating_sub(text.len())));
        let Some(columns) = record.strip_suffix(&tail) else {
            panic!("{file} {args:?}:\nss:   {record:?}\nours: {tail:?}");
        };
        // What is left must end with the peer's port column.
        let last = columns.split_whitespace().last().unwrap_or_default();
        let port = if *dport == 0 {
            "*".to_string()
        } else {
            dport.to_string()
        };
        assert!(
            !opts.numeric || last.ends_with(&format!(":{port}")),
            "{file} {args:?}: columns {columns:?} do not end in port {port}\nss: {record:?}"
        );
        assert!(last.contains(':') && !columns.contains('\n'), "{record:?}");
    }
}

fn ss_missing() -> bool {
    let found = Command::new("ss").arg("-V").output().is_ok();
    if !found {
        common::skip("ss_detail_fixtures", "ss (iproute2) is not installed");
    }
    !found
}

const CASES: &[&[&str]] = &[
    &["-n", "-o"],
    &["-n", "-e"],
    &["-n", "-m"],
    &["-n", "-i"],
    &["-n", "--tos"],
    &["-n", "--cgroup"],
    &["-n", "--inet-sockopt"],
    &["-n", "-oi"],
    &["-n", "-oem"],
    &["-noemi", "--tos", "--cgroup", "--inet-sockopt"],
    &["-nO", "-oemi", "--tos", "--inet-sockopt"],
    // Without -n: rates in k/M/G (and service names in the columns).
    &["-i"],
    &["-oemi", "--tos"],
];

#[test]
fn v4_dump_matches_ss() {
    if ss_missing() {
        return;
    }
    for args in CASES {
        compare("v4.bin", args);
    }
}

/// tests/fixtures/ss/craft.py's replies: every timer kind, dctcp, vegas, bbr, an old
/// kernel's tcp_info, kTLS, int casts, rates past 1 Tbps, %g exponents.
#[test]
fn crafted_dump_matches_ss() {
    if ss_missing() {
        return;
    }
    for args in CASES {
        compare("crafted.bin", args);
    }
}

#[test]
fn v6_dump_matches_ss() {
    if ss_missing() {
        return;
    }
    for args in CASES {
        compare("v6.bin", args);
    }
}
