//! ss's filter language against iproute2 6.1's ss itself: every line of
//! tests/fixtures/ss_filters.txt, and a few `-F FILE`s, run through the real `ss`
//! and through `rss` inside a private network namespace whose sockets are all the
//! test's own (tests/support/ss_filter_scene.py: a veth pair with documentation
//! addresses, TCP v4/v6 in several states, UDP, unix sockets). Standard output,
//! standard error and exit status must be the same bytes: an invalid filter gives
//! ss's message and status, a valid one selects the same rows.

mod netns_support;

use netns_support::{have, is_root};
use rnetstat::resolve::{DuplicatePolicy, Services};
use rnetstat::select::ss_filter::{parse, system_cgroup, system_host, system_if_index, Env, Scope};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

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
    args: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let text = include_str!("fixtures/ss_filters.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (o, f) = l.split_once("%%").expect("OPTIONS %% FILTER");
            Case {
                line: l.to_string(),
                args: o
                    .split_whitespace()
                    .chain(f.split_whitespace())
                    .map(String::from)
                    .collect(),
            }
        })
        .collect()
}

/// One tool run in the scene's network namespace only (nsenter leaves the mount
/// namespace alone, so both tools see the same cgroup mounts), with -H -n.
/// `stdin`: a file to read as standard input (for `-F -`).
fn run_in(ns: &str, program: &str, args: &[String], stdin: Option<&std::path::Path>) -> Output {
    let input = match stdin {
        Some(path) => Stdio::from(std::fs::File::open(path).expect("stdin file")),
        None => Stdio::null(),
    };
    Command::new("nsenter")
        .arg(format!("--net=/run/netns/{ns}"))
        .arg(program)
        .arg("-Hn")
        .args(args)
        .stdin(input)
        .output()
        .expect("tool runs")
}

/// What a comparison needs of a run: status, stdout and stderr as text.
fn shown(o: &Output) -> (Option<i32>, String, String) {
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
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
    let rss = env!("CARGO_BIN_EXE_rss");
    let cases = corpus();
    assert!(cases.len() >= 100, "corpus has {} lines", cases.len());
    let scene = scene();
    // -F files beside the corpus: comments, blank and '0' lines, argv words first.
    let files: [(&str, &[u8], &[&str]); 5] = [
        (
            "ok",
            b"# comment\nsport = :8080\n\n  or dport = :8080\n",
            &["-ta"],
        ),
        (
            "zero",
            b"0 sport = :1\nsport = :2222\n",
            &["-ta", "dport", "=", ":40000"],
        ),
        ("syntax", b"sport = :22 )\n", &["-ta"]),
        ("unix", b"src unix:*.sock\n", &["-xa"]),
        ("nul", b"\0\n", &["-ta"]),
    ];
    type Run = (String, Vec<String>, Option<std::path::PathBuf>);
    let mut cases_and_files: Vec<Run> = cases
        .iter()
        .map(|c| (c.line.clone(), c.args.clone(), None))
        .collect();
    for (name, content, args) in files {
        let path = scene.dir.join(format!("filter-{name}"));
        std::fs::write(&path, content).expect("filter file");
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.splice(1..1, ["-F".to_string(), path.display().to_string()]);
        cases_and_files.push((format!("-F {name} {args:?}"), a, None));
    }
    // -F - reads standard input.
    let stdin = scene.dir.join("stdin-filter");
    std::fs::write(&stdin, b"sport = :8080 or\nsport = :8443\n").expect("stdin filter");
    let args: Vec<String> = ["-ta", "-F", "-"].iter().map(|s| s.to_string()).collect();
    cases_and_files.push(("-F - (stdin)".to_string(), args, Some(stdin)));
    let mut failures = Vec::new();
    let (mut errors, mut selecting, mut empty) = (0, 0, 0);
    for (line, args, stdin) in &cases_and_files {
        let mut last = None;
        // A row can change between the two runs (the SYN-SENT socket gives up in the
        // end); a real difference persists.
        for _ in 0..3 {
            let want = shown(&run_in(&scene.ns, "ss", args, stdin.as_deref()));
            let got = shown(&run_in(&scene.ns, rss, args, stdin.as_deref()));
            if got == want {
                match &want {
                    (Some(0), out, _) if out.is_empty() => empty += 1,
                    (Some(0), _, _) => selecting += 1,
                    _ => errors += 1,
                }
                last = None;
                break;
            }
            last = Some(format!("{line}\n  ss:  {want:?}\n  rss: {got:?}"));
        }
        if let Some(f) = last {
            failures.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} filters differ from ss:\n{}",
        failures.len(),
        cases_and_files.len(),
        failures.join("\n")
    );
    // The corpus is meant to exercise all three outcomes.
    assert!(
        errors >= 30 && selecting >= 60 && empty >= 5,
        "{errors} errors, {selecting} selecting, {empty} empty"
    );
}

/// Filter files the parser must refuse as ss does (message and status), without
/// any sockets involved: long lines, NUL bytes, syntax after argv words.
#[test]
fn filter_file_errors_match_ss() {
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
    let mut checked = 0;
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, &content).unwrap();
        for argv in [&[][..], &["dport", "=", ":80"][..]] {
            // Only errors are compared here (stdout would be the host's sockets).
            let out = Command::new("ss")
                .args(["-Htn", "state", "bucket", "-F"])
                .arg(&path)
                .args(argv)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let mut scope = Scope {
                dbs: 1 << rnetstat::cli::ss::TCP_DB,
                families: (1 << libc::AF_INET) | (1 << libc::AF_INET6),
                preferred_family: libc::AF_UNSPEC,
            };
            let words: Vec<&[u8]> = argv.iter().map(|w| w.as_bytes()).collect();
            let mut file: &[u8] = &content;
            match parse(&words, Some(&mut file), &mut scope, &env) {
                Ok(_) => assert_eq!(out.status.code(), Some(0), "{name} {argv:?}: {stderr}"),
                Err(e) => {
                    let msg = String::from_utf8_lossy(&e.message).into_owned();
                    assert!(
                        stderr.starts_with(&msg),
                        "{name} {argv:?}: ss {stderr:?}, we {msg:?}"
                    );
                    assert_eq!(out.status.code(), Some(e.status), "{name} {argv:?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 6, "only {checked} error cases");
}
