//! rlsof across network namespaces: a named one (`ip netns add`) and an unnamed one
//! (`unshare --net`, like a container), each with a python3 listener and an established
//! loopback connection. lsof 4.95 shows those sockets as `sock ... protocol: TCP` and
//! `lsof -i` misses them; so does rlsof by default. With `--all-netns` rlsof decodes
//! them from the namespace's own tables and marks them (` [netns:LABEL]` after NAME, an
//! `e` field in -F, `netns` in JSON).

mod netns_support;

use netns_support::*;
use std::process::{Command, Output};

fn rlsof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlsof"))
        .args(args)
        .output()
        .expect("rlsof runs")
}

fn lsof(args: &[&str]) -> Output {
    Command::new("lsof").args(args).output().expect("lsof runs")
}

struct Scene {
    named: NamedNs,
    in_named: Holder,
    in_unnamed: Holder,
    port: u16,
}

/// `test` keeps the names of this binary's tests (which share a pid) apart.
fn scene(test: &str) -> Scene {
    let pid = std::process::id();
    // Distinct from tests/netns.rs (20000 + pid % 20000) in case both see the same pid.
    let port = 40000 + (pid % 20000) as u16;
    let named = NamedNs::add(format!("rnt-lns-{test}-{pid}"));
    let in_named = named.hold(port);
    let in_unnamed = unshared_holder(port, &format!("rnt-lns-unnamed-{test}-{pid}"));
    Scene {
        named,
        in_named,
        in_unnamed,
        port,
    }
}

fn skipped() -> bool {
    let why = skip_reason().or_else(|| (!have("lsof")).then_some("lsof missing"));
    if let Some(why) = why {
        eprintln!("SKIPPED: {why}");
        return true;
    }
    false
}

/// Each holder with the label rlsof gives its namespace.
fn holders(scene: &Scene) -> [(&Holder, String); 2] {
    [
        (&scene.in_named, scene.named.name.clone()),
        (
            &scene.in_unnamed,
            format!("net:[{}]", scene.in_unnamed.netns),
        ),
    ]
}

/// The table lines of process `pid` (the PID column is the second field).
fn lines_of(text: &str, pid: u32) -> Vec<&str> {
    let pid = pid.to_string();
    text.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(pid.as_str()))
        .collect()
}

#[test]
fn inet_selection_finds_listeners_inside_other_namespaces() {
    if skipped() {
        return;
    }
    let scene = scene("i");
    let port = scene.port;
    let spec = format!(":{port}");
    // Restricted to the holders: in our own namespace any process may have a socket
    // whose local or remote port is this number (it is in the ephemeral range).
    let holder_pids = format!("{},{}", scene.in_named.pid, scene.in_unnamed.pid);
    let theirs = lsof(&["-nP", "-a", "-p", &holder_pids, "-i", &spec]);
    assert_eq!(
        theirs.status.code(),
        Some(1),
        "lsof sees no namespace sockets"
    );
    assert!(
        theirs.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&theirs.stdout)
    );

    let ours = rlsof(&["--all-netns", "-nP", "-i", &spec]);
    assert_eq!(ours.status.code(), Some(0));
    let text = stdout(&ours);
    for (holder, label) in holders(&scene) {
        let rows = lines_of(&text, holder.pid);
        let note = format!(" [netns:{label}]");
        let listen = format!("127.0.0.1:{port}");
        let client = format!("127.0.0.1:{}", holder.client_port);
        for (name, state, ty) in [
            (listen.clone(), "LISTEN", "IPv4"),
            (format!("{client}->{listen}"), "ESTABLISHED", "IPv4"),
            (format!("{listen}->{client}"), "ESTABLISHED", "IPv4"),
            (format!("[::1]:{port}"), "LISTEN", "IPv6"),
        ] {
            if ty == "IPv6" && !holder.has_v6 {
                continue;
            }
            let tail = format!(" TCP {name} ({state}){note}");
            let row = rows
                .iter()
                .find(|l| l.ends_with(&tail))
                .unwrap_or_else(|| panic!("no `{tail}` row in:\n{text}"));
            // Columns before NAME parse as lsof's do.
            let f: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(f.first(), Some(&"python3"), "{row}");
            assert_eq!(f.get(4), Some(&ty), "{row}");
            assert_eq!(f.get(7), Some(&"TCP"), "{row}");
        }
    }
    // Another port: neither namespace has it.
    let none = rlsof(&[
        "--all-netns",
        "-nP",
        "-a",
        "-p",
        &scene.in_named.pid.to_string(),
        "-i",
        ":1",
    ]);
    assert_eq!(none.status.code(), Some(1));
}

#[test]
fn process_listing_decodes_what_lsof_calls_protocol_tcp() {
    if skipped() {
        return;
    }
    let scene = scene("p");
    for (holder, label) in holders(&scene) {
        let pid = holder.pid.to_string();
        let theirs = stdout(&lsof(&["-nP", "-p", &pid]));
        let ours_out = rlsof(&["--all-netns", "-nP", "-p", &pid]);
        assert_eq!(ours_out.status.code(), Some(0));
        let ours = stdout(&ours_out);
        let fd_of = |l: &str| l.split_whitespace().nth(3).map(str::to_string);
        let theirs_sock: Vec<&str> = lines_of(&theirs, holder.pid)
            .into_iter()
            .filter(|l| l.contains(" protocol: TCP"))
            .collect();
        let expected = if holder.has_v6 { 4 } else { 3 };
        assert_eq!(theirs_sock.len(), expected, "lsof's sock rows:\n{theirs}");
        for l in theirs_sock {
            let fd = fd_of(l);
            let row = lines_of(&ours, holder.pid)
                .into_iter()
                .find(|o| fd_of(o) == fd)
                .unwrap_or_else(|| panic!("fd {fd:?} missing from:\n{ours}"));
            let ty = if l.contains("protocol: TCPv6") {
                "IPv6"
            } else {
                "IPv4"
            };
            let f: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(f.get(4), Some(&ty), "{row}");
            assert!(row.contains(&format!(":{}", scene.port)), "{row}");
            assert!(row.ends_with(&format!(" [netns:{label}]")), "{row}");
            assert!(!row.contains("protocol:"), "{row}");
        }
        // The abstract unix listener is this namespace's too.
        assert!(
            ours.lines()
                .any(|l| l.contains(" unix ") && l.ends_with(&format!("[netns:{label}]"))),
            "{ours}"
        );
        // Files that are not sockets look exactly as lsof shows them (up to widths).
        let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let ours_words: Vec<Vec<String>> = ours.lines().map(words).collect();
        for l in lines_of(&theirs, holder.pid) {
            let w = words(l);
            if matches!(w.get(4).map(String::as_str), Some("sock" | "unix")) {
                continue;
            }
            assert!(
                ours_words.contains(&w),
                "lsof's `{l}` missing from:\n{ours}"
            );
        }
    }
}

#[test]
fn field_output_and_json_carry_the_namespace() {
    if skipped() {
        return;
    }
    let scene = scene("f");
    for (holder, label) in holders(&scene) {
        let pid = holder.pid.to_string();
        let out = rlsof(&["--all-netns", "-nP", "-F", "pn0", "-a", "-p", &pid, "-i"]);
        assert_eq!(out.status.code(), Some(0));
        let fields: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split(['\0', '\n'])
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        assert_eq!(fields.first(), Some(&format!("p{pid}")), "{fields:?}");
        assert_eq!(fields.get(1), Some(&format!("e{label}")), "{fields:?}");
        assert!(
            fields.contains(&format!("n127.0.0.1:{}", scene.port)),
            "{fields:?}"
        );
        assert_eq!(fields.iter().filter(|f| f.starts_with('e')).count(), 1);

        let out = rlsof(&["--all-netns", "--json", "-nP", "-p", &pid]);
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let procs = v["processes"].as_array().expect("processes");
        assert_eq!(procs.len(), 1, "{v}");
        let p = &procs[0];
        assert_eq!(p["netns"].as_u64(), Some(holder.netns), "{p}");
        assert_eq!(p["other_netns"], serde_json::Value::Bool(true));
        let name = (holder.pid == scene.in_named.pid).then(|| scene.named.name.clone());
        assert_eq!(p["netns_name"].as_str().map(str::to_string), name, "{p}");
        let listener = p["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| {
                f["socket"]["local_port"].as_u64() == Some(u64::from(scene.port))
                    && f["socket"]["state"] == "LISTEN"
                    && f["type"] == "IPv4"
            })
            .unwrap_or_else(|| panic!("no listener in {p}"));
        assert_eq!(listener["socket"]["local_address"], "127.0.0.1");
        assert_eq!(listener["name"], format!("127.0.0.1:{}", scene.port));
    }
}

/// By default rlsof sees what lsof sees: run inside a namespace, `-i :PORT` does not
/// find a listener of the host namespace on that port (a `-t ... | xargs kill` there
/// must not reach it), and the listener's row is lsof's `sock ... protocol: TCP`
/// with no namespace tag; `--all-netns` finds and tags it.
#[test]
fn default_inside_a_namespace_keeps_to_it() {
    if skipped() {
        return;
    }
    let pid = std::process::id();
    let ns = NamedNs::add(format!("rnt-lns-d-{pid}"));
    // The kernel picks a port free on the host; the fresh namespace has no socket at all.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let spec = format!(":{port}");
    let me = pid.to_string();
    let inside = |prog: &str, args: &[&str]| {
        Command::new("ip")
            .args(["netns", "exec", &ns.name, prog])
            .args(args)
            .output()
            .expect("ip netns exec runs")
    };
    let rlsof_bin = env!("CARGO_BIN_EXE_rlsof");
    for args in [
        &["-nP", "-i", &spec][..],
        &["-t", "-i", &spec],
        &["-nP", "-a", "-p", &me, "-i", &spec],
        &["-nP", "-F", "pfn", "-a", "-p", &me, "-i", &spec],
    ] {
        let theirs = inside("lsof", args);
        let ours = inside(rlsof_bin, args);
        assert_eq!(theirs.status.code(), Some(1), "lsof {args:?}");
        assert_eq!(
            ours.status.code(),
            Some(1),
            "rlsof {args:?}: {}",
            stdout(&ours)
        );
        assert_eq!(stdout(&ours), stdout(&theirs), "{args:?}");
    }
    // The listener's own row: lsof's, byte for byte (the fd given by -d: no other
    // file of this busy test process is compared).
    let fd = std::os::fd::AsRawFd::as_raw_fd(&listener).to_string();
    for args in [
        &["-nP", "-a", "-p", &me, "-d", &fd][..],
        &["-nP", "-F", "pcfatDdin", "-a", "-p", &me, "-d", &fd],
    ] {
        let theirs = inside("lsof", args);
        let ours = inside(rlsof_bin, args);
        assert_eq!(theirs.status.code(), Some(0), "lsof {args:?}");
        assert!(
            stdout(&theirs).contains("protocol: TCP"),
            "{}",
            stdout(&theirs)
        );
        assert_eq!(stdout(&ours), stdout(&theirs), "{args:?}");
        assert_eq!(ours.status.code(), Some(0));
    }
    let all = inside(
        rlsof_bin,
        &["--all-netns", "-nP", "-a", "-p", &me, "-i", &spec],
    );
    assert_eq!(all.status.code(), Some(0), "{}", stdout(&all));
    let text = stdout(&all);
    let tail = format!(" TCP 127.0.0.1:{port} (LISTEN) [netns:");
    assert!(
        lines_of(&text, pid).iter().any(|l| l.contains(&tail)),
        "no `{tail}` row in:\n{text}"
    );
    drop(listener);
}
