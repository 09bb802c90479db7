//! rss against the installed ss (iproute2 6.1), byte for byte: both run in a private
//! network namespace whose every socket the test made (see tests/ss_support).

mod ss_support;

use ss_support::{compare_all, skip, Scene};

#[test]
fn selection_options_match_ss() {
    if skip("selection_options_match_ss") {
        return;
    }
    let scene = Scene::start();
    compare_all(
        &scene,
        &[
            &[],
            &["-a"],
            &["-l"],
            &["-t"],
            &["-ta"],
            &["-tan"],
            &["-tl"],
            &["-tln"],
            &["-u"],
            &["-ua"],
            &["-uan"],
            &["-w"],
            &["-wa"],
            &["-wan"],
            &["-x"],
            &["-xa"],
            &["-xl"],
            &["-0"],
            &["-0a"],
            &["-0an"],
            &["-4a"],
            &["-6a"],
            &["-4tan"],
            &["-6uan"],
            &["-tuwxa"],
            &["-f", "inet", "-a"],
            &["-f", "inet6", "-a"],
            &["-f", "unix", "-l"],
            &["-f", "link"],
            &["-f", "netlink"],
            &["-f", "netlink", "-n"],
            &["--family=unix", "--all"],
            &["-na"],
            &["-an"],
            &["-H", "-tan"],
            &["-O", "-tan"],
            &["-x", "-4"],
            &["-l", "-a", "-t"],
            &["-a", "-l", "-t"],
        ],
    );
}

#[test]
fn every_query_matches_ss() {
    if skip("every_query_matches_ss") {
        return;
    }
    let scene = Scene::start();
    let queries = [
        "all",
        "inet",
        "tcp",
        "mptcp",
        "udp",
        "raw",
        "unix",
        "unix_dgram",
        "unix_stream",
        "unix_seqpacket",
        "u_str",
        "u_dgr",
        "u_seq",
        "packet",
        "packet_raw",
        "packet_dgram",
        "p_raw",
        "p_dgr",
        "netlink",
        "dccp",
        "sctp",
        "vsock",
        "vsock_stream",
        "vsock_dgram",
        "v_str",
        "v_dgr",
        "tipc",
        "xdp",
        "tcp,udp",
        "all,!tcp",
        "inet,!raw",
        "!tcp",
    ];
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for q in queries {
        cases.push(vec!["-A", q]);
        cases.push(vec!["-a", "-A", q]);
        cases.push(vec!["-l", "--query", q]);
    }
    for extra in [
        &["-t", "-A", "udp", "-a"][..],
        &["-A", "udp", "-t", "-a"],
        &["-A", "tcp", "-A", "unix", "-a"],
        &["--socket=raw", "-a"],
        &["-M"],
        &["-S"],
        &["-d"],
        &["--vsock"],
        &["--tipc"],
        &["--xdp"],
        &["-f", "vsock"],
        &["-f", "tipc"],
        &["-f", "xdp"],
    ] {
        cases.push(extra.to_vec());
    }
    let refs: Vec<&[&str]> = cases.iter().map(Vec::as_slice).collect();
    compare_all(&scene, &refs);
}

#[test]
fn processes_match_ss() {
    if skip("processes_match_ss") {
        return;
    }
    let scene = Scene::start();
    compare_all(
        &scene,
        &[
            &["-tanp"],
            &["-tlp"],
            &["-uanp"],
            &["-xap"],
            &["-0ap"],
            &["-wap"],
            &["-anp"],
            &["-tanT"],
            &["-xaT"],
            &["-tanpT"],
        ],
    );
    // The scene's first listener is held by three processes (the scene, a forked
    // child, and a third that also got it by SCM_RIGHTS and moved it to fd 77):
    // every holder shows.
    let out = scene.run(ss_support::rss(), &["-tlnp"]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(3) == Some("127.0.0.1:22"))
        .unwrap_or_else(|| panic!("no 127.0.0.1:22 listener in\n{}", out.stdout));
    let pids: std::collections::BTreeSet<&str> = line
        .split("pid=")
        .skip(1)
        .filter_map(|rest| rest.split(',').next())
        .collect();
    assert_eq!(pids.len(), 3, "{line}");
    assert!(line.contains(",fd=77)"), "{line}");
}

#[test]
fn names_and_summary_match_ss() {
    if skip("names_and_summary_match_ss") {
        return;
    }
    let scene = Scene::start();
    compare_all(
        &scene,
        &[
            &["-r", "-ta"],
            &["-ra"],
            &["-rn", "-ua"],
            &["-s"],
            &["-s", "-t"],
            &["-s", "-H", "-xa"],
        ],
    );
}

#[test]
fn errors_match_ss() {
    if skip("errors_match_ss") {
        return;
    }
    let scene = Scene::start();
    compare_all(
        &scene,
        &[
            &["-A", "bogus"],
            &["-A", "tcp,bogus"],
            &["-f", "bogus"],
            &["-f"],
            &["-A"],
            &["-q"],
            &["-tq"],
            &["--bogus"],
            &["--bogus=1"],
            &["--tcp=1"],
            &["--s"],
            &["--fam"],
            &["-Z"],
            &["-z", "-t"],
            &["-h"],
            &["-f", "help"],
            &["-A", "!all"],
            &["-A", "!tcp"],
            &["-F", "/nonexistent/rss-filter"],
            &["-N", "rss-no-such-namespace"],
            &["-t", "-N", "rss-no-such-namespace", "-A", "bogus"],
        ],
    );
}

/// glibc's getopt names the program as invoked: rss's own path here (the comparisons
/// above read it back as `ss`).
#[test]
fn getopt_names_the_program_as_invoked() {
    let run = std::process::Command::new(ss_support::rss())
        .arg("--bogus")
        .output()
        .expect("rss runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        stderr.lines().next(),
        Some(format!("{}: unrecognized option '--bogus'", ss_support::rss()).as_str())
    );
    assert_eq!(run.status.code(), Some(255), "{stderr}");
}

#[test]
fn named_namespace_matches_ss() {
    if skip("named_namespace_matches_ss") {
        return;
    }
    // ss -N NAME enters /run/netns/NAME: give the scene's namespace a name there.
    let scene = Scene::start();
    let name = format!("rss-diff-{}", std::process::id());
    let _named = Named::mount(&name, scene.pid);
    for args in [&["-tan"][..], &["-xa"], &["-s"], &["-uanp"], &["-0a"]] {
        let mut with_n = vec!["-N", name.as_str()];
        with_n.extend_from_slice(args);
        let mut last = String::new();
        let same = (0..3).any(|_| {
            scene.quiesce();
            let ss = ss_support::run_here("ss", &with_n);
            scene.quiesce();
            let ours = ss_support::run_here(ss_support::rss(), &with_n);
            let (a, b) = (ss.comparable(), ours.comparable());
            last = format!("{with_n:?}\n--- ss\n{a:?}\n--- rss\n{b:?}");
            a == b
        });
        assert!(same, "{last}");
    }
}

/// /run/netns/NAME bound to a process's namespace (as `ip netns attach` does),
/// removed on drop.
struct Named(String);

impl Named {
    fn mount(name: &str, pid: u32) -> Named {
        let ok = std::process::Command::new("ip")
            .args(["netns", "attach", name, &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns attach {name} {pid}");
        Named(name.to_string())
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

#[test]
fn version_and_help_are_ours() {
    let out = std::process::Command::new(ss_support::rss())
        .arg("-V")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("rss utility, iproute2-6.1.0 compatible")
    );
    let help = std::process::Command::new(ss_support::rss())
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Examples:") && text.contains("rss -tulpn"),
        "{text}"
    );
}

/// On a terminal ss shares the screen width out among the columns (and wraps a row
/// that does not fit): both run under script(1) on a pty of a given width.
#[test]
fn terminal_widths_match_ss() {
    if skip("terminal_widths_match_ss") {
        return;
    }
    if !ss_support::have("script") {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("script(1) missing (CI=true: a skipped test fails)");
        }
        eprintln!("SKIPPED: script(1) missing");
        return;
    }
    let scene = Scene::start();
    let on_tty = |tool: &str, cols: u32, args: &str| -> Vec<u8> {
        let inner = format!(
            "stty cols {cols} rows 50; exec nsenter --net=/proc/{}/ns/net {tool} {args}",
            scene.pid
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &inner, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script runs");
        out.stdout
    };
    let mut failures = Vec::new();
    for cols in [60, 80, 132, 250] {
        for args in ["-tan", "-a -A inet,unix,packet", "-xl", "-uanp", "-0a -H"] {
            let same =
                (0..3).any(|_| on_tty("ss", cols, args) == on_tty(ss_support::rss(), cols, args));
            if !same {
                failures.push(format!(
                    "{cols} columns, {args}:\n--- ss\n{}\n--- rss\n{}",
                    String::from_utf8_lossy(&on_tty("ss", cols, args)),
                    String::from_utf8_lossy(&on_tty(ss_support::rss(), cols, args))
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// --all-netns: the scene's namespace gets its own block, `Netns: net:[INODE]` and then
/// exactly what ss prints inside it; the own namespace comes first.
#[test]
fn all_namespaces_hold_what_ss_prints_inside() {
    if skip("all_namespaces_hold_what_ss_prints_inside") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let scene = Scene::start();
    let inode = std::fs::metadata(format!("/proc/{}/ns/net", scene.pid))
        .unwrap()
        .ino();
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    let title = format!("Netns: net:[{inode}]");
    let own_named = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .any(|e| e.metadata().is_ok_and(|m| m.ino() == own))
        })
        .unwrap_or(false);
    for args in [&["-tan"][..], &["-xa"], &["-uanp"]] {
        let mut last = String::new();
        let same = (0..3).any(|_| {
            let mut all = vec!["--all-netns"];
            all.extend_from_slice(args);
            let ours = ss_support::run_here(ss_support::rss(), &all);
            assert_eq!(ours.status, Some(0), "{}", ours.stderr);
            // The own namespace first (its /run/netns name, if it has one, else its inode).
            let first = ours.stdout.lines().next().unwrap_or_default();
            assert!(
                first == format!("Netns: net:[{own}]") || own_named,
                "{}",
                ours.stdout
            );
            let block: String = ours
                .stdout
                .split_inclusive('\n')
                .skip_while(|l| l.trim_end() != title)
                .skip(1)
                .take_while(|l| !l.starts_with("Netns: "))
                .collect();
            let ss = scene.run("ss", args);
            last = format!("{args:?}\n--- ss\n{}\n--- rss block\n{block}", ss.stdout);
            block == ss.stdout
        });
        assert!(same, "{last}");
    }
}

/// --color paints states and the header and nothing else: without the escapes the
/// output is ss's; without the option there are none, also on a terminal.
#[test]
fn color_is_opt_in_and_keeps_the_layout() {
    if skip("color_is_opt_in_and_keeps_the_layout") {
        return;
    }
    let scene = Scene::start();
    let mut last = String::new();
    let same = (0..3).any(|_| {
        let ss = scene.run("ss", &["-tan"]);
        let colored = scene.run(ss_support::rss(), &["-tan", "--color"]);
        assert!(colored.stdout.contains("\x1b["), "{}", colored.stdout);
        let stripped = rnetstat::color::strip(&colored.stdout);
        last = format!(
            "--- ss\n{}\n--- rss --color, stripped\n{stripped}",
            ss.stdout
        );
        stripped == ss.stdout
    });
    assert!(same, "{last}");
    let plain = scene.run(ss_support::rss(), &["-tan", "--color=never"]);
    assert!(!plain.stdout.contains('\x1b'));
    let default = scene.run(ss_support::rss(), &["-tan"]);
    assert!(!default.stdout.contains('\x1b'));
}

/// --json: one document with the rows of the text view, in its order, and the fields
/// of the sockets the scene made.
#[test]
fn json_rows_are_the_text_rows() {
    if skip("json_rows_are_the_text_rows") {
        return;
    }
    let scene = Scene::start();
    for args in [&["-tanp"][..], &["-xa"], &["-uan"], &["-0a"]] {
        let mut last = String::new();
        let same = (0..3).any(|_| {
            let text = scene.run("ss", args);
            let mut with_json = args.to_vec();
            with_json.push("--json");
            let json = scene.run(ss_support::rss(), &with_json);
            let doc: serde_json::Value =
                serde_json::from_str(&json.stdout).expect("one JSON document");
            assert_eq!(doc["view"], "ss");
            assert_eq!(doc["namespaces"].as_array().map(Vec::len), Some(1));
            let sockets = doc["sockets"].as_array().expect("sockets").clone();
            // Text rows (without the header) against JSON rows: same count, and each
            // row's Recv-Q, Send-Q and local port column match.
            let rows: Vec<&str> = text.stdout.lines().skip(1).collect();
            last = format!("{args:?}\n{}\n{}", text.stdout, json.stdout);
            rows.len() == sockets.len()
                && rows.iter().zip(&sockets).all(|(row, s)| {
                    let f: Vec<&str> = row.split_whitespace().collect();
                    let at = f.iter().position(|w| w.parse::<i64>().is_ok()).unwrap_or(0);
                    f.get(at) == Some(&s["recv_queue"].to_string().as_str())
                        && f.get(at + 1) == Some(&s["send_queue"].to_string().as_str())
                })
        });
        assert!(same, "{last}");
    }
    let doc: serde_json::Value =
        serde_json::from_str(&scene.run(ss_support::rss(), &["-tlnp", "--json"]).stdout).unwrap();
    let l22 = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_address"] == "127.0.0.1" && s["local_port"] == 22)
        .expect("the 127.0.0.1:22 listener");
    assert_eq!(l22["netid"], "tcp");
    assert_eq!(l22["state"], "LISTEN");
    assert_eq!(l22["send_queue"], 16);
    assert_eq!(l22["local_service"], serde_json::Value::Null, "-n");
    let holders = l22["processes"].as_array().unwrap();
    assert_eq!(holders.len(), 5, "{holders:?}");
    assert!(holders
        .iter()
        .any(|h| h["fd"] == 77 && h["name"] == "python3"));
    let dev = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == 2226)
        .expect("the listener bound to v0");
    assert_eq!(dev["interface"], "v0");
    let v6 = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == 8081)
        .expect("the v6only listener");
    assert_eq!(v6["v6only"], true);
    assert_eq!(v6["local_address"], "::");
}
