//! ss's filter language against iproute2 6.1's ss itself: every line of
//! tests/fixtures/ss_filters.txt runs through the real `ss` and through
//! `rnetstat::select::ss_filter` inside a private network namespace whose sockets
//! are all the test's own (tests/support/ss_filter_scene.py: a veth pair with
//! documentation addresses, TCP v4/v6 in several states, UDP, unix sockets).
//! An invalid filter must give ss's message and exit status; a valid one must select
//! the same sockets (compared by inode) from the namespace's sock_diag dumps, with
//! the inet_diag bytecode ss sends attached to ours as well.

mod netns_support;

use netns_support::{have, is_root};
use rnetstat::netlink::{attributes, inet, unix, DiagSocket};
use rnetstat::proc::inet::Proto;
use rnetstat::resolve::{DuplicatePolicy, Services};
use rnetstat::select::ss_filter::{
    self, db, parse, system_cgroup, system_host, system_if_index, Env, Filter, Selection, SsError,
    Subject,
};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Under CI=true a test that cannot run fails instead of skipping.
fn cannot_run(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("cannot run under CI: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// The private namespace, its veth pair and the holder of the scene's sockets;
/// all removed on drop.
struct Scene {
    ns: String,
    dir: std::path::PathBuf,
    holder: Option<Child>,
}

impl Drop for Scene {
    fn drop(&mut self) {
        if let Some(mut c) = self.holder.take() {
            drop(c.stdin.take());
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(args: &[&str]) {
    let ok = Command::new("ip").args(args).status();
    assert!(ok.is_ok_and(|s| s.success()), "ip {args:?}");
}

fn scene() -> Scene {
    let pid = std::process::id();
    let ns = format!("rssf-{pid}");
    let dir = std::env::temp_dir().join(format!("rssf-{pid}"));
    let _ = Command::new("ip").args(["netns", "del", &ns]).output();
    let mut s = Scene {
        ns: ns.clone(),
        dir: dir.clone(),
        holder: None,
    };
    std::fs::create_dir_all(&dir).expect("scene dir");
    ip(&["netns", "add", &ns]);
    let n = ns.as_str();
    ip(&[
        "-n", n, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    for dev in ["lo", "veth0", "veth1"] {
        ip(&["-n", n, "link", "set", dev, "up"]);
    }
    ip(&["-n", n, "addr", "add", "192.0.2.1/24", "dev", "veth0"]);
    ip(&["-n", n, "addr", "add", "192.0.2.2/24", "dev", "veth1"]);
    ip(&[
        "-n",
        n,
        "addr",
        "add",
        "2001:db8::1/64",
        "dev",
        "veth0",
        "nodad",
    ]);
    ip(&[
        "-n",
        n,
        "addr",
        "add",
        "2001:db8::2/64",
        "dev",
        "veth1",
        "nodad",
    ]);
    ip(&["-n", n, "addr", "add", "198.51.100.1/24", "dev", "veth1"]);
    ip(&[
        "-n",
        n,
        "neigh",
        "add",
        "198.51.100.77",
        "lladdr",
        "02:00:00:00:00:77",
        "dev",
        "veth1",
        "nud",
        "permanent",
    ]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/ss_filter_scene.py"
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", n, "python3", script])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scene holder");
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    s.holder = Some(child);
    assert_eq!(line.trim(), "ready", "scene holder did not start");
    s
}

struct Case {
    line: String,
    opts: Vec<String>,
    words: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let text = include_str!("fixtures/ss_filters.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (o, f) = l.split_once("%%").expect("OPTIONS %% FILTER");
            Case {
                line: l.to_string(),
                opts: o.split_whitespace().map(String::from).collect(),
                words: f.split_whitespace().map(String::from).collect(),
            }
        })
        .collect()
}

/// The options of a corpus line applied to a Selection in order, as ss's getopt loop.
fn apply_options(opts: &[String], sel: &mut Selection) -> Result<(), SsError> {
    let mut it = opts.iter();
    while let Some(o) = it.next() {
        let flags = o.strip_prefix('-').expect("option");
        for c in flags.chars() {
            match c {
                't' => sel.db_set(db::TCP, true),
                'u' => sel.db_set(db::UDP, true),
                'w' => sel.db_set(db::RAW, true),
                'x' => sel.af_set(libc::AF_UNIX),
                '4' => sel.af_set(libc::AF_INET),
                '6' => sel.af_set(libc::AF_INET6),
                '0' => sel.af_set(libc::AF_PACKET),
                'a' => sel.all_states(),
                'l' => sel.listening(),
                'A' => sel.query_option(it.next().expect("-A arg").as_bytes())?,
                'f' => {
                    sel.family_option(it.next().expect("-f arg").as_bytes())?;
                }
                'n' | 'H' | 'e' => {}
                other => panic!("corpus option -{other} not handled by the test"),
            }
        }
    }
    Ok(())
}

/// What our side decides for one line: an error, or the selected inodes.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Error {
        message: String,
        status: i32,
        usage: bool,
    },
    Rows(BTreeSet<u64>),
}

const INET_DIAG_MARK: u16 = 15;
const INET_DIAG_CGROUP_ID: u16 = 21;

/// inet_diag_req_v2 for one family/protocol and state mask, with ss's bytecode.
fn inet_request(family: i32, proto: i32, states: u32, code: Option<&[u8]>) -> Vec<u8> {
    let mut req = vec![0u8; 56];
    req[0] = family as u8;
    req[1] = proto as u8;
    req[4..8].copy_from_slice(&states.to_ne_bytes());
    if let Some(code) = code {
        req.extend_from_slice(&ss_filter::bytecode_attribute(code));
    }
    req
}

fn ours(case: &Case, services: &Services) -> Outcome {
    let err = |e: SsError| Outcome::Error {
        message: String::from_utf8_lossy(&e.message).into_owned(),
        status: e.status,
        usage: e.usage,
    };
    let mut sel = Selection::new();
    if let Err(e) = apply_options(&case.opts, &mut sel) {
        return err(e);
    }
    let words: Vec<&[u8]> = case.words.iter().map(|w| w.as_bytes()).collect();
    let used = match sel.finish(&words) {
        Ok(n) => n,
        Err(e) => return err(e),
    };
    let env = Env {
        services,
        if_index: &system_if_index,
        host: &system_host,
        cgroup: &system_cgroup,
    };
    let mut filter: Filter = match parse(&words[used..], None, &mut sel, &env) {
        Ok(f) => f,
        Err(e) => return err(e),
    };
    let (min, max) = ss_filter::ephemeral_range(std::path::Path::new("/proc"));
    filter.set_ephemeral_range(min, max);
    let sock = DiagSocket::open().expect("sock_diag socket");
    let code = filter.inet_bytecode();
    let mut rows = BTreeSet::new();
    let pref = sel.preferred_family;
    for (family, dump_it) in [
        (libc::AF_INET, pref != libc::AF_INET6),
        (libc::AF_INET6, pref != libc::AF_INET),
    ] {
        if !dump_it || !sel.has_family(family) {
            continue;
        }
        for (d, proto, p) in [
            (db::TCP, libc::IPPROTO_TCP, Proto::Tcp),
            (db::UDP, libc::IPPROTO_UDP, Proto::Udp),
        ] {
            if !sel.has_db(d) {
                continue;
            }
            let req = inet_request(family, proto, sel.states, code.as_deref());
            sock.dump(&req, |msg| {
                let Ok(s) = inet::parse_message(msg, p) else {
                    return;
                };
                let mut subject = Subject::inet(s.local, s.local_port, s.remote, s.remote_port);
                subject.iface = msg
                    .get(40..44)
                    .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                for (kind, value) in attributes(msg.get(72..).unwrap_or_default()) {
                    match (kind, value.len()) {
                        (INET_DIAG_MARK, 4) => {
                            subject.mark = u32::from_ne_bytes(value.try_into().unwrap())
                        }
                        (INET_DIAG_CGROUP_ID, 8) => {
                            subject.cgroup_id = u64::from_ne_bytes(value.try_into().unwrap())
                        }
                        _ => {}
                    }
                }
                if filter.matches(&subject) {
                    rows.insert(s.inode);
                }
            })
            .expect("inet dump");
        }
    }
    if sel.has_family(libc::AF_UNIX) {
        let (table, _) = unix::dump_with(&sock).expect("unix dump");
        for u in &table.rows {
            let d = match u.sock_type as i32 {
                libc::SOCK_STREAM => db::UNIX_ST,
                libc::SOCK_DGRAM => db::UNIX_DG,
                libc::SOCK_SEQPACKET => db::UNIX_SQ,
                _ => continue,
            };
            if !sel.has_db(d) || sel.states & (1 << u.state) == 0 {
                continue;
            }
            let subject = Subject::unix(
                u.name.as_deref(),
                u.inode as u32,
                u.peer.unwrap_or(0) as u32,
            );
            if filter.matches(&subject) {
                rows.insert(u.inode);
            }
        }
    }
    Outcome::Rows(rows)
}

/// ss's answer for one line: its error, or the inodes of its rows (`-e` output:
/// `ino:` for inet rows, which also carry `sk:`; the unix inode after the name).
fn theirs(ns: &str, case: &Case) -> (Outcome, String) {
    // nsenter switches only the network namespace, as our reader thread does
    // (`ip netns exec` also remounts /sys, which hides the cgroup mounts).
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{ns}"))
        .args(["ss", "-Hne"])
        .args(&case.opts)
        .args(&case.words)
        .output()
        .expect("ss runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let status = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if status != 0 || (stdout.is_empty() && !stderr.is_empty() && !stderr.contains("RTNETLINK")) {
        let usage = stderr.contains("Usage: ss [ OPTIONS ]");
        let message = match stderr.find("Usage: ss [ OPTIONS ]") {
            Some(i) => stderr[..i].to_string(),
            None => stderr.clone(),
        };
        return (
            Outcome::Error {
                message,
                status,
                usage,
            },
            stdout.into_owned(),
        );
    }
    let mut rows = BTreeSet::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.iter().any(|t| t.starts_with("sk:")) {
            let ino = f.iter().find_map(|t| t.strip_prefix("ino:"));
            rows.insert(ino.and_then(|i| i.parse().ok()).expect("inet row inode"));
        } else if let Some(first_num) = f.iter().position(|t| t.parse::<u64>().is_ok()) {
            let ino = f.get(first_num + 3).and_then(|t| t.parse().ok());
            rows.insert(ino.expect("unix row inode"));
        }
    }
    (Outcome::Rows(rows), stdout.into_owned())
}

#[test]
fn corpus_matches_ss() {
    if !is_root() {
        return cannot_run("needs root for a network namespace");
    }
    for tool in ["ip", "ss", "python3", "nsenter"] {
        if !have(tool) {
            return cannot_run("ip, ss, nsenter or python3 missing");
        }
    }
    let cases = corpus();
    assert!(cases.len() >= 100, "corpus has {} lines", cases.len());
    let scene = scene();
    let services = Services::load(DuplicatePolicy::FirstWins);
    let nsfile = format!("/run/netns/{}", scene.ns);
    let mut failures = Vec::new();
    let (mut errors, mut selecting, mut empty) = (0, 0, 0);
    for case in &cases {
        let mut last = None;
        // A row can change state between the two reads (the SYN-SENT socket gives up
        // eventually); a real difference persists.
        for _ in 0..3 {
            let (want, text) = theirs(&scene.ns, case);
            let got = std::thread::scope(|s| {
                s.spawn(|| {
                    rnetstat::netns::enter(std::path::Path::new(&nsfile)).expect("setns");
                    ours(case, &services)
                })
                .join()
                .expect("our side")
            });
            if got == want {
                match &want {
                    Outcome::Error { .. } => errors += 1,
                    Outcome::Rows(r) if r.is_empty() => empty += 1,
                    Outcome::Rows(_) => selecting += 1,
                }
                last = None;
                break;
            }
            last = Some(format!(
                "{}\n  ss:   {want:?}\n  ours: {got:?}\n  ss output:\n{text}",
                case.line
            ));
        }
        if let Some(f) = last {
            failures.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus lines differ from ss:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The corpus is meant to exercise all three outcomes.
    assert!(
        errors >= 30 && selecting >= 60 && empty >= 5,
        "{errors} {selecting} {empty}"
    );
}

/// `-F FILE` lines and argv words together, against ss reading the same file.
#[test]
fn filter_file_matches_ss() {
    if !is_root() || !have("ss") {
        return cannot_run("needs root and ss");
    }
    let dir = std::env::temp_dir().join(format!("rssf-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _rm = Rm(dir.clone());
    let services = Services::load(DuplicatePolicy::FirstWins);
    let env = Env {
        services: &services,
        if_index: &system_if_index,
        host: &system_host,
        cgroup: &system_cgroup,
    };
    let long = format!("sport = :1 {}\n", "( ".repeat(600));
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "ok",
            b"# comment\nsport = :22\n\n  or dport = :80\n".to_vec(),
        ),
        ("zero", b"0 sport = :22\nsport = :1\n".to_vec()),
        ("syntax", b"sport = :22 )\n".to_vec()),
        ("badport", b"dport = :nosuchservice\n".to_vec()),
        ("nul", b"\0\n".to_vec()),
        ("long", long.into_bytes()),
        ("backslash", b"sport\\ = :22\n".to_vec()),
        ("tail", b"sport = :22".to_vec()),
    ];
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, &content).unwrap();
        for argv in [&[][..], &["dport", "=", ":80"][..]] {
            let out = Command::new("ss")
                .args(["-Htn", "-F"])
                .arg(&path)
                .args(argv)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let mut sel = Selection::new();
            sel.db_set(db::TCP, true);
            sel.finish(&[]).unwrap();
            let words: Vec<&[u8]> = argv.iter().map(|w| w.as_bytes()).collect();
            let mut file: &[u8] = &content;
            let got = parse(&words, Some(&mut file), &mut sel, &env);
            match got {
                Ok(_) => assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{name} {argv:?}: ss failed: {stderr}"
                ),
                Err(e) => {
                    let msg = String::from_utf8_lossy(&e.message).into_owned();
                    assert!(
                        stderr.starts_with(&msg),
                        "{name} {argv:?}: ss said {stderr:?}, we {msg:?}"
                    );
                    assert_eq!(out.status.code(), Some(e.status), "{name} {argv:?}");
                }
            }
        }
    }
}
