//! ss's /proc fallback against the installed ss (iproute2 6.1): both read recorded
//! /proc files named by ss's environment (PROC_ROOT, PROC_NET_TCP, ...), and stdout,
//! stderr and the exit status must match byte for byte. With PROC_ROOT set every
//! table, the -p scan, netlink owners, -s and the ephemeral range come from the
//! fixture, so nothing on the machine changes the answer. Malformed records, where
//! ss prints what sscanf() half-read, are skipped and said (docs/rss.md); a property
//! test feeds arbitrary bytes to every reader.

mod common;
mod ss_support;

use proptest::prelude::*;
use rnetstat::cli::ss::Tables;
use rnetstat::select::ss_filter::Filter;
use rnetstat::ss::{proc as ssproc, ProcEnv};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn rss() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rss"))
}

/// Environment variables set for a run.
type Vars<'a> = Vec<(&'a str, PathBuf)>;

/// (stdout, stderr, status) of `program args` with `vars`.
fn run(program: &Path, args: &[&str], vars: &[(&str, PathBuf)]) -> (Vec<u8>, Vec<u8>, i32) {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for v in ss_support::SS_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    let status = out
        .status
        .code()
        .unwrap_or_else(|| panic!("{program:?} {args:?}: {:?}", out.status));
    (out.stdout, out.stderr, status)
}

fn ss_missing(test: &str) -> bool {
    let found = Command::new("ss").arg("-V").output().is_ok();
    if !found {
        common::skip(test, "ss (iproute2) is not installed");
    }
    !found
}

/// Runs ss and rss with the same arguments and environment; returns a report of the
/// differences, empty when they printed the same bytes and exited alike.
fn differences(args: &[&str], vars: &[(&str, PathBuf)]) -> String {
    let theirs = run(Path::new("ss"), args, vars);
    let ours = run(&rss(), args, vars);
    if theirs == ours {
        return String::new();
    }
    format!(
        "{args:?} {vars:?}\n--- ss (status {})\n{}{}\n--- rss (status {})\n{}{}\n",
        theirs.2,
        String::from_utf8_lossy(&theirs.0),
        String::from_utf8_lossy(&theirs.1),
        ours.2,
        String::from_utf8_lossy(&ours.0),
        String::from_utf8_lossy(&ours.1),
    )
}

const EVERY_VIEW: &[&[&str]] = &[
    &[],
    &["-a"],
    &["-an"],
    &["-tan"],
    &["-ta"],
    &["-t6an"],
    &["-t4an"],
    &["-uan"],
    &["-ua"],
    &["-wan"],
    &["-xa"],
    &["-xan"],
    &["-x", "-4a"],
    &["-0a"],
    &["-0an"],
    &["-f", "netlink"],
    &["-f", "netlink", "-n"],
    &["-A", "unix_dgram,unix_seqpacket"],
    &["-s"],
    &["-tapn"],
    &["-xap"],
    &["-uap"],
    &["-Ha"],
    &["-ta", "state", "listening"],
    &["-a", "exclude", "established"],
    &["-ta", "dport", "=", ":22", "or", "sport", "=", ":ssh"],
    &["-a", "src", "192.0.2.1"],
    &["-x", "src", "/run/odd/*"],
    &["-0a", "dev", "=", "lo"],
    &["--json", "-tan"],
    // udp, raw and unix rows read from /proc have no detail text in ss either.
    &["-uaneo"],
    &["-waneim"],
    &["-xanem"],
];

#[test]
fn fixture_trees_match_ss_byte_for_byte() {
    if ss_missing("fixture_trees_match_ss_byte_for_byte") {
        return;
    }
    let mut report = String::new();
    let odd = fixtures().join("ss_proc/odd");
    let crafted = fixtures().join("proc/crafted");
    for args in EVERY_VIEW {
        // --json is rss's own: it must print the same rows as JSON, not ss's error.
        if args.contains(&"--json") {
            continue;
        }
        report += &differences(args, &[("PROC_ROOT", odd.clone())]);
        // ss names a process from PID/stat, rss from PID/comm (the same text on a
        // live system); the shared trees have no stat files.
        if !args
            .iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('p'))
        {
            report += &differences(args, &[("PROC_ROOT", crafted.clone())]);
        }
    }
    // Recorded live tables (TCP/UDP/raw; its unix table holds names with a newline
    // and control bytes: see the hostile test).
    let live = fixtures().join("proc/live");
    for args in [&["-tan"][..], &["-ta"], &["-uan"], &["-wan"], &["-s"]] {
        report += &differences(args, &[("PROC_ROOT", live.clone())]);
    }
    // 2,600 unix sockets: ss prints its sorted list in batches of 1,680.
    let large = fixtures().join("proc/large");
    for args in [&["-xan"][..], &["-tan"]] {
        report += &differences(args, &[("PROC_ROOT", large.clone())]);
    }
    assert!(report.is_empty(), "{report}");
}

/// The details of /proc rows are printed as ss prints them (tests/ss_proc_details.rs
/// compares them): nothing is said to be missing, and the run succeeds.
#[test]
fn fallback_details_are_not_degraded() {
    let vars = [("PROC_ROOT", fixtures().join("ss_proc/odd"))];
    for args in [
        &["-tane"][..],
        &["-tano"],
        &["-tani"],
        &["-0ae"],
        &["-f", "netlink", "-e"],
    ] {
        let (out, err, status) = run(&rss(), args, &vars);
        let err = String::from_utf8_lossy(&err);
        assert_eq!(err, "", "{args:?}");
        assert_eq!(status, 0, "{args:?}");
        let out = String::from_utf8_lossy(&out);
        let extended = args
            .iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('e'));
        assert_eq!(out.contains(" sk"), extended, "{args:?}: {out}");
    }
}

#[test]
fn file_variables_name_single_tables() {
    if ss_missing("file_variables_name_single_tables") {
        return;
    }
    let net = fixtures().join("ss_proc/odd/net");
    let f = |name: &str| net.join(name);
    let mut report = String::new();
    // Only the named table leaves netlink; the others would be live, so each run
    // selects the named table alone (-4: tcp/udp/raw have one file per family).
    let cases: Vec<(Vec<&str>, Vars)> = vec![
        (vec!["-t4an"], vec![("PROC_NET_TCP", f("tcp"))]),
        (
            vec!["-t6an"],
            vec![("PROC_NET_TCP", f("tcp")), ("PROC_NET_TCP6", f("tcp6"))],
        ),
        (vec!["-u4an"], vec![("PROC_NET_UDP", f("udp"))]),
        (vec!["-w4an"], vec![("PROC_NET_RAW", f("raw"))]),
        (vec!["-xan"], vec![("PROC_NET_UNIX", f("unix"))]),
        (vec!["-0an"], vec![("PROC_NET_PACKET", f("packet"))]),
        (
            vec!["-f", "netlink", "-n"],
            vec![("PROC_NET_NETLINK", f("netlink"))],
        ),
        (
            vec!["-s"],
            vec![
                ("PROC_NET_SOCKSTAT", f("sockstat")),
                ("PROC_NET_SOCKSTAT6", f("sockstat6")),
                ("PROC_NET_SNMP", f("snmp")),
            ],
        ),
        // A missing file: ss shows nothing of that table, quietly.
        (vec!["-t4an"], vec![("PROC_NET_TCP", f("no-such-table"))]),
        (vec!["-xan"], vec![("PROC_NET_UNIX", f("no-such-table"))]),
        (
            vec!["-s"],
            vec![
                ("PROC_NET_SOCKSTAT", f("no-such-table")),
                ("PROC_NET_SNMP", f("no-such-table")),
            ],
        ),
    ];
    for (args, vars) in &cases {
        report += &differences(args, vars);
    }
    assert!(report.is_empty(), "{report}");
}

/// The rows of a text view as fields, control bytes escaped as rss escapes them.
fn field_rows(out: &[u8]) -> Vec<Vec<String>> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
                .map(|f| rnetstat::escape::escape(f).into_owned())
                .collect()
        })
        .collect()
}

#[test]
fn malformed_records_are_skipped_and_said() {
    if ss_missing("malformed_records_are_skipped_and_said") {
        return;
    }
    // (tree, args, rows ss prints from half-read records, warnings rss gives).
    let cases: &[(&str, &[&str], usize, usize)] = &[
        // A truncated address line (ss reads the rest from its previous line's
        // buffer) and a 28-digit v6 address; the garbage line ends tcp as in ss.
        ("proc/broken", &["-tan"], 2, 2),
        ("proc/broken", &["-uan"], 1, 1),
        // Two unix lines that are not records.
        ("proc/broken", &["-xan"], 2, 2),
        // A path holding a newline: ss shows its second half as a row of its own;
        // rss joins it (no warning: nothing is lost). Its bad-UTF-8/ESC name is
        // escaped.
        ("proc/live", &["-xan"], 1, 0),
    ];
    for &(tree, args, garbage, warnings) in cases {
        let vars = [("PROC_ROOT", fixtures().join(tree))];
        let (ss_out, _, ss_status) = run(Path::new("ss"), args, &vars);
        let (out, err, status) = run(&rss(), args, &vars);
        assert_eq!(ss_status, 0);
        let theirs = field_rows(&ss_out);
        let ours = field_rows(&out);
        // Ours are theirs, in order, less the half-read ones.
        let mut rest = theirs.iter();
        for row in &ours {
            assert!(
                rest.any(|t| t == row),
                "{tree} {args:?}: {row:?} is not a row of ss's, in order:\n{theirs:?}"
            );
        }
        assert_eq!(
            theirs.len() - ours.len(),
            garbage,
            "{tree} {args:?}:\n{ours:?}"
        );
        let said = String::from_utf8_lossy(&err);
        assert_eq!(said.lines().count(), warnings, "{tree} {args:?}: {said}");
        assert!(said
            .lines()
            .all(|l| l.starts_with("rss: ") && l.ends_with("; not shown")));
        assert_eq!(status, if warnings > 0 { 1 } else { 0 }, "{said}");
    }
    // rss never prints the raw control byte of a name.
    let (out, _, _) = run(
        &rss(),
        &["-xan"],
        &[("PROC_ROOT", fixtures().join("proc/live"))],
    );
    assert!(!out.contains(&0x1b));
    assert!(String::from_utf8_lossy(&out).contains("bad\\xff^[utf.sock"));
}

#[test]
fn json_rows_of_the_fallback_are_the_text_rows() {
    let odd = fixtures().join("ss_proc/odd");
    let (out, err, status) = run(&rss(), &["--json", "-tan"], &[("PROC_ROOT", odd.clone())]);
    assert_eq!(status, 0, "{}", String::from_utf8_lossy(&err));
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let sockets = doc["sockets"].as_array().expect("sockets");
    let (text, _, _) = run(&rss(), &["-Htan"], &[("PROC_ROOT", odd)]);
    let text = field_rows(&text);
    assert_eq!(sockets.len(), text.len(), "{doc}");
    // Each text row's state appears in order in the document.
    for (row, sock) in text.iter().zip(sockets) {
        let json = sock.to_string();
        assert!(
            json.contains(&row[3].rsplit_once(':').unwrap().1.to_string()),
            "{row:?} {json}"
        );
    }
}

fn write_tree(files: &[(&str, &[u8])]) -> tempdir::Dir {
    let dir = tempdir::Dir::new();
    for (name, data) in files {
        let path = dir.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    dir
}

mod tempdir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    pub struct Dir(pub std::path::PathBuf);
    static N: AtomicUsize = AtomicUsize::new(0);
    impl Dir {
        pub fn new() -> Dir {
            let p = std::env::temp_dir().join(format!(
                "rss-proc-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Lines that look like table rows, with arbitrary bytes mixed in.
fn table_text() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[0-9A-F: ]{0,200}".prop_map(String::into_bytes),
        Just(b"   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19087 1".to_vec()),
        Just(b"0000000000000000: 00000002 00000000 00010000 0001 01 16015 /x y\n\x1b".to_vec()),
        Just(b"0000000000000000 3      3    0003   0     1 0      0      8001".to_vec()),
        Just(b"0000000000000000 0   -1         00000000 0        0        0     2        0        9001".to_vec()),
    ];
    proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join(&b'\n'))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn no_table_content_panics_a_reader(text in table_text(), header in any::<bool>()) {
        let body = if header { [b"header\n".as_slice(), &text].concat() } else { text };
        let names = ["tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet", "netlink"];
        let files: Vec<(String, &[u8])> =
            names.iter().map(|n| (format!("net/{n}"), body.as_slice())).collect();
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let dir = write_tree(&refs);
        let env = ProcEnv::from_vars(|v| (v == "PROC_ROOT").then(|| dir.0.clone().into_os_string()));
        let every = Tables { dbs: !0, states: !0, families: !0 };
        let filter = Filter::empty();
        let (mut rows, mut warnings) = (Vec::new(), Vec::new());
        for table in [rnetstat::render::ss::Table::Tcp, rnetstat::render::ss::Table::Udp, rnetstat::render::ss::Table::Raw] {
            ssproc::inet(&env, &every, table, &filter, &mut rows, &mut warnings);
        }
        ssproc::unix(&env, &every, &filter, &mut rows, &mut warnings);
        ssproc::packet(&env, &filter, &mut rows, &mut warnings);
        ssproc::netlink(&env, &filter, &mut rows, &mut warnings);
        // Every warning is one escaped line.
        for w in &warnings {
            prop_assert!(!w.contains('\n') && !w.contains('\x1b'), "{w:?}");
        }
    }
}
