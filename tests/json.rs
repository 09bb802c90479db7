//! `--json`: the output parses with serde_json, every object has exactly the fields
//! docs/json.md lists with the documented types (the tables there are read by this
//! test), and the values match the sockets the test itself opened.

mod json_support;
mod netns_support;

use json_support::{parse_checked, schema};
use netns_support::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn json_run(args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = rnetstat(&full);
    assert_eq!(out.status.code(), Some(0), "{full:?}");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one document per run: {full:?}");
    parse_checked(&text, &schema())
}

fn own_ns() -> u64 {
    std::fs::metadata("/proc/self/ns/net").unwrap().ino()
}

#[test]
fn schema_document_is_complete() {
    let schema = schema();
    for name in [
        "sockets",
        "namespace",
        "inet",
        "unix",
        "owner",
        "queue",
        "timer",
        "group",
        "interfaces",
        "interface",
        "ipv4",
        "ipv6",
        "counters",
        "statistics",
        "section",
        "counter",
        "files",
        "process",
        "file",
        "endpoints",
        "routes",
        "route4",
        "route6",
        "arp",
        "neighbour",
        "audit",
        "finding",
        "evidence",
        "not_done",
        "ss_event",
    ] {
        assert!(
            schema.get(name).is_some_and(|f| !f.is_empty()),
            "docs/json.md lacks `{name}`"
        );
    }
    // Every object type a field refers to is documented.
    for (name, fields) in &schema {
        for (field, ty) in fields {
            for part in ty.split(['<', '>', '|']) {
                let known = ["number", "string", "boolean", "array", "object", "null", ""];
                assert!(
                    known.contains(&part) || schema.contains_key(part),
                    "{name}.{field}: unknown type {part}"
                );
            }
        }
    }
}

/// Every option combination on recorded trees (every state, timer kind and odd name;
/// no namespace links), and the live system's listening sockets of every namespace.
/// The live tables can hold tens of thousands of sockets, so the combinations run on
/// the recorded ones.
#[test]
fn every_socket_view_matches_the_schema() {
    let arg_sets: &[&[&str]] = &[
        &["-an"],
        &["-a"],
        &["-tl"],
        &["-tanp"],
        &["-uan"],
        &["-wan"],
        &["-Uan"],
        &["-xa"],
        &["-anpeoW"],
        &["-an4"],
        &["-an6"],
        &["-anp", "--all-netns"],
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc");
    for tree in ["crafted", "live", "broken"] {
        let dir = root.join(tree);
        for args in arg_sets {
            let mut full = vec!["--proc-root", dir.to_str().unwrap()];
            full.extend_from_slice(args);
            let v = json_run(&full);
            assert_eq!(v["namespaces"][0]["inode"], Value::Null);
        }
        let v = json_run(&["--proc-root", dir.to_str().unwrap(), "-anpeo"]);
        assert!(!v["inet"].as_array().unwrap().is_empty(), "{tree}");
        assert!(!v["unix"].as_array().unwrap().is_empty(), "{tree}");
        assert_eq!(v["inet"][0]["netns"], Value::Null);
    }
    json_run(&["-lp", "--all-netns"]);
}

/// The other views: interfaces, groups, statistics, live and on recorded counter files.
#[test]
fn every_other_view_matches_the_schema() {
    for args in [
        &["-i"][..],
        &["-ia"],
        &["-ie"],
        &["-i", "--all-netns"],
        &["-g"],
        &["-gn"],
        &["-gn", "-6"],
        &["-gn", "--all-netns"],
        &["-s"],
        &["-s", "-6"],
        &["-st"],
        &["-s", "--all-netns"],
        &["-rn"],
        &["-r", "-6"],
        &["-rne", "--all-netns"],
        &["--arp"],
        &["--arp", "--all-netns"],
    ] {
        let v = json_run(args);
        let view = v["view"].as_str().unwrap();
        match args[0] {
            "-i" | "-ia" | "-ie" => assert_eq!(view, "interfaces"),
            "-rn" | "-r" | "-rne" => assert_eq!(view, "routes"),
            "--arp" => assert_eq!(view, "arp"),
            "-g" | "-gn" => {
                assert_eq!(view, "sockets");
                assert!(!v["groups"].as_array().unwrap().is_empty(), "{args:?}");
            }
            _ => assert_eq!(view, "statistics"),
        }
    }
    let lo = json_run(&["-i"]);
    let lo = lo["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "lo")
        .expect("lo is up")
        .clone();
    assert!(lo["flags"].as_array().unwrap().contains(&"LOOPBACK".into()));
    assert_eq!(lo["hw_address"], Value::Null);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats");
    for tree in ["live", "odd", "ones"] {
        let dir = root.join(tree);
        for family in [&[][..], &["-6"]] {
            let mut args = vec!["--proc-root", dir.to_str().unwrap(), "-s"];
            args.extend_from_slice(family);
            let v = json_run(&args);
            assert!(!v["sections"].as_array().unwrap().is_empty(), "{tree}");
        }
    }
    let max_conn = json_run(&["--proc-root", root.join("live").to_str().unwrap(), "-s"]);
    let tcp = max_conn["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Tcp")
        .expect("Tcp section");
    let max = tcp["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "MaxConn")
        .expect("MaxConn");
    assert_eq!(max["value"], -1);
}

#[test]
fn fields_match_the_sockets_we_opened() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    let _server = listener.accept().unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("rnt-json-{}", std::process::id()));
    let _ = std::fs::create_dir(&dir);
    let path = dir.join("json test.sock");
    let _ = std::fs::remove_file(&path);
    let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let me = std::process::id();

    // Listening sockets only (-l): the live tables can hold tens of thousands of
    // connections; the established pair is looked for separately below.
    let row_in = |v: &Value, local: u16, remote: u16, proto: &str| -> Option<Value> {
        v["inet"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["local_port"] == local
                    && r["remote_port"] == remote
                    && r["proto"] == proto
                    && r["local_address"] == "127.0.0.1"
            })
            .cloned()
    };
    let find_in = |v: &Value, local: u16, remote: u16, proto: &str| -> Value {
        row_in(v, local, remote, proto)
            .unwrap_or_else(|| panic!("no {proto} {local}->{remote} row"))
    };
    let want_path = path.to_str().unwrap();
    let unix_row = |v: &Value| {
        v["unix"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == want_path)
            .cloned()
    };
    // Read again (3 attempts) when one of ours is missing: /proc/net tables read while
    // other processes open and close sockets can skip a row.
    let mut v = json_run(&["-tulxnp"]);
    for _ in 1..3 {
        let all_there = row_in(&v, port, 0, "tcp").is_some()
            && row_in(&v, udp_port, 0, "udp").is_some()
            && unix_row(&v).is_some();
        if all_there {
            break;
        }
        v = json_run(&["-tulxnp"]);
    }
    let find = |local: u16, remote: u16, proto: &str| find_in(&v, local, remote, proto);
    let listen = find(port, 0, "tcp");
    assert_eq!(listen["family"], "inet");
    assert_eq!(listen["local_address"], "127.0.0.1");
    assert_eq!(listen["remote_address"], "0.0.0.0");
    assert_eq!(listen["state"], "LISTEN");
    assert_eq!(listen["state_code"], 10);
    assert_eq!(listen["listening"], true);
    assert_eq!(listen["owner"]["pid"], me);
    assert!(listen["owner"]["fd"].as_u64().is_some());
    assert_eq!(
        listen["owner"]["uid"],
        u64::from(unsafe { libc::geteuid() })
    );
    assert_eq!(listen["netns"], own_ns());
    assert_eq!(listen["inode"].as_u64().map(|i| i > 0), Some(true));
    // -n: every resolved-name field is there, and null.
    for field in [
        "local_host",
        "local_service",
        "remote_host",
        "remote_service",
        "user",
    ] {
        assert_eq!(listen[field], Value::Null, "{field}");
    }
    // As root, all_netns_rows_carry_namespace_and_owner checks established rows inside
    // a small namespace; otherwise read the own (possibly large) table of connections.
    if !is_root() {
        let conns = json_run(&["-tnp"]);
        let conn = find_in(&conns, client_port, port, "tcp");
        assert_eq!(conn["state"], "ESTABLISHED");
        assert_eq!(conn["listening"], false);
        assert_eq!(conn["owner"]["pid"], me);
        assert_eq!(
            find_in(&conns, port, client_port, "tcp")["state"],
            "ESTABLISHED"
        );
    }
    let u = find(udp_port, 0, "udp");
    assert_eq!(u["state"], "CLOSE");
    assert_eq!(u["listening"], true);
    assert_eq!(u["owner"]["pid"], me);

    let row = unix_row(&v).expect("our unix listener, full path with its space");
    assert_eq!(row["type"], "STREAM");
    assert_eq!(row["state"], "LISTENING");
    assert_eq!(row["flags"], serde_json::json!(["ACC"]));
    assert_eq!(row["owner"]["pid"], me);

    // Resolving names fills the name fields without changing a field or a type.
    let named = json_run(&["-tl"]);
    let listen = named["inet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["local_port"] == port && r["remote_port"] == 0)
        .expect("listener");
    assert_eq!(listen["local_address"], "127.0.0.1");
    assert!(listen["local_host"].is_string() || listen["local_host"].is_null());
    assert!(listen["user"].is_string(), "our uid has a login name");
    drop(unix);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn continuous_mode_writes_one_document_per_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rnetstat"))
        .args(["--json", "-tln", "-c", "0.2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let schema = schema();
    let mut lines = BufReader::new(out).lines();
    for _ in 0..2 {
        let line = lines.next().expect("a refresh").expect("readable");
        parse_checked(&line, &schema);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn all_netns_rows_carry_namespace_and_owner() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let scene = scene("json");
    // Listening rows only: the live tables elsewhere can be huge.
    let v = json_run(&["-tlnp", "--all-netns"]);
    let namespaces = v["namespaces"].as_array().unwrap();
    assert_eq!(namespaces[0]["own"], true);
    assert_eq!(namespaces[0]["inode"], own_ns());
    let named_inode = scene.named.inode();
    assert_eq!(named_inode, scene.in_named.netns);
    let listed = |inode: u64| {
        namespaces
            .iter()
            .find(|n| n["inode"] == inode)
            .unwrap_or_else(|| panic!("namespace {inode} not listed"))
    };
    assert_eq!(listed(named_inode)["name"], scene.named.name.as_str());
    assert_eq!(listed(scene.in_unnamed.netns)["name"], Value::Null);
    assert_eq!(listed(scene.in_unnamed.netns)["own"], false);

    let unnamed_pid = scene.in_unnamed.pid.to_string();
    for (holder, name, spec) in [
        (
            &scene.in_named,
            Value::from(scene.named.name.as_str()),
            scene.named.name.as_str(),
        ),
        (&scene.in_unnamed, Value::Null, unnamed_pid.as_str()),
    ] {
        let listen = v["inet"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["netns"] == holder.netns
                    && r["local_port"] == scene.port
                    && r["local_address"] == "127.0.0.1"
            })
            .unwrap_or_else(|| panic!("no listener in {}", holder.netns));
        assert_eq!(listen["state"], "LISTEN");
        assert_eq!(listen["netns_name"], name);
        assert_eq!(listen["owner"]["pid"], holder.pid);

        // --netns: that namespace alone, both ends of the loopback connection.
        let one = json_run(&["-tanp", "--netns", spec]);
        assert_eq!(one["namespaces"].as_array().unwrap().len(), 1);
        assert_eq!(one["namespaces"][0]["inode"], holder.netns);
        let rows = one["inet"].as_array().unwrap();
        assert!(rows.iter().all(|r| r["netns"] == holder.netns));
        let established: Vec<&Value> = rows
            .iter()
            .filter(|r| r["state"] == "ESTABLISHED")
            .collect();
        assert_eq!(established.len(), 2, "{rows:?}");
        for r in established {
            assert_eq!(r["owner"]["pid"], holder.pid);
            assert_eq!(r["netns_name"], name);
        }
    }

    // Routes and neighbours of the named namespace, tagged; and with --all-netns.
    let name = scene.named.name.as_str();
    let routes = json_run(&["-r", "--netns", name]);
    let r = &routes["ipv4"][0];
    assert_eq!(r["destination"], "198.51.100.0");
    assert_eq!(r["prefix_len"], 24);
    assert_eq!(r["iface"], "v0");
    assert_eq!(r["netns_name"], name);
    let arp = json_run(&["--arp", "--all-netns"]);
    let entry = arp["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["netns"] == named_inode)
        .expect("the namespace's neighbour");
    assert_eq!(entry["address"], "198.51.100.2");
    assert_eq!(entry["hw_address"], "02:00:00:00:00:09");
    assert_eq!(entry["flags"], serde_json::json!(["C", "M"]));

    // rlsof marks a process of another namespace.
    let other = rlsof_json(&["-nP", "-p", &scene.in_unnamed.pid.to_string()]);
    assert_eq!(other["processes"][0]["netns"], scene.in_unnamed.netns);
    assert_eq!(other["processes"][0]["other_netns"], true);

    // The other views in the named namespace: its lo, its groups, its counters.
    let ifaces = json_run(&["-i", "--netns", name]);
    let lo = &ifaces["interfaces"][0];
    assert_eq!(lo["name"], "lo");
    assert_eq!(lo["ipv4"]["address"], "127.0.0.1");
    assert_eq!(lo["netns"], named_inode);
    assert_eq!(lo["netns_name"], name);
    let groups = json_run(&["-gn", "--netns", name]);
    assert!(groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["interface"] == "lo" && g["group"] == "224.0.0.1" && g["netns_name"] == name));
    let stats = json_run(&["-s", "--all-netns"]);
    for holder in [&scene.in_named, &scene.in_unnamed] {
        let tcp = stats["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "Tcp" && s["netns"] == holder.netns)
            .expect("Tcp counters of the namespace");
        let established = tcp["counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "CurrEstab")
            .expect("CurrEstab");
        assert_eq!(established["value"], 2, "both ends of the one connection");
    }
}

fn rlsof_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_rlsof"))
        .arg("--json")
        .args(args)
        .output()
        .expect("rlsof runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(text.lines().count(), 1, "one document per pass: {args:?}");
    parse_checked(&text, &schema())
}

/// rlsof -r: JSON Lines, one document per pass read as it is written (no `=======`,
/// no `-F` marker, no time line), each a `files` document listing this process; -V's
/// messages on stderr, not among the documents.
#[test]
fn rlsof_repeats_write_one_document_per_line() {
    let me = std::process::id().to_string();
    // A pid that was just reaped: no process has it.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let pids = format!("{me},{}", gone.id());
    let schema = schema();
    for marks in [&["-r1c2"][..], &["-r1c2m%s"], &["-F", "pf", "-r1c2"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rlsof"))
            .args(["--json", "-V", "-a", "-d", "0-2", "-p", &pids])
            .args(marks)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for _ in 0..2 {
            // Read while rlsof sleeps between passes or after it ended.
            let line = lines.next().expect("a pass").expect("readable");
            let v = parse_checked(&line, &schema);
            let pids: Vec<u64> = v["processes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["pid"].as_u64().unwrap())
                .collect();
            assert_eq!(pids, [u64::from(std::process::id())], "{marks:?}: {line}");
        }
        assert!(lines.next().is_none(), "{marks:?}: more than two lines");
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("process ID not located: {}", gone.id())),
            "{marks:?}: {err}"
        );
    }
}

/// rlsof: internet sockets with their endpoints apart, and every file type of a process.
#[test]
fn rlsof_files_match_the_schema_and_our_sockets() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    let _server = listener.accept().unwrap();
    let me = std::process::id();
    let port_spec = format!(":{port}");

    let v = rlsof_json(&["-nP", "-a", "-p", &me.to_string(), "-i", &port_spec]);
    let procs = v["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 1, "{v}");
    assert_eq!(procs[0]["pid"], me);
    assert_eq!(procs[0]["netns"], own_ns());
    assert_eq!(procs[0]["other_netns"], false);
    let files = procs[0]["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "listener and both ends: {v}");
    let listen = files
        .iter()
        .find(|f| f["socket"]["state"] == "LISTEN")
        .expect("listener");
    assert_eq!(listen["type"], "IPv4");
    assert_eq!(listen["protocol"], "TCP");
    assert_eq!(listen["socket"]["local_address"], "127.0.0.1");
    assert_eq!(listen["socket"]["local_port"], port);
    assert_eq!(listen["socket"]["remote_address"], Value::Null);
    assert!(listen["inode"].as_u64().is_some_and(|i| i > 0));
    assert!(listen["fd_number"].as_u64().is_some());
    let client_side = files
        .iter()
        .find(|f| f["socket"]["local_port"] == client_port)
        .expect("client end");
    assert_eq!(client_side["socket"]["state"], "ESTABLISHED");
    assert_eq!(client_side["socket"]["remote_port"], port);
    assert_eq!(client_side["socket"]["local_service"], Value::Null);

    // Every file of this process (cwd, txt, mem, pipes, ...), names resolved.
    let all = rlsof_json(&["-p", &me.to_string()]);
    let files = all["processes"][0]["files"].as_array().unwrap();
    assert!(files
        .iter()
        .any(|f| f["fd"] == "cwd" && f["socket"].is_null()));
    assert!(files.len() > 5);
}

/// `rnetstat --audit --json` (no port probe: it is slow and binds the host's ports):
/// one document, checked against the `audit` tables; status 0 or 1 with `clean` to match.
#[test]
fn audit_report_matches_the_schema() {
    let out = rnetstat(&["--audit", "--json", "--no-probe"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one document: {text}");
    let v = parse_checked(&text, &schema());
    assert_eq!(v["view"], "audit");
    let clean = v["clean"].as_bool().unwrap();
    assert_eq!(out.status.code(), Some(if clean { 0 } else { 1 }));
    assert!(v["namespaces"][0]["own"].as_bool().unwrap());
}

/// rss's document, with and without --all-filters (the `filter` objects: classic,
/// unreadable or not read, whatever this host's sockets carry).
#[test]
fn rss_view_matches_the_schema() {
    let schema = schema();
    for args in [
        &["-an"][..],
        &["-anp", "--all-filters"],
        &["-A", "netlink,packet,unix", "-a", "--all-filters"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rss"))
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        let v = parse_checked(&text, &schema);
        assert_eq!(v["view"], "ss");
    }
}
