//! Network namespaces: a named one (`ip netns add`) and an unnamed one (`unshare --net`,
//! like a container), each with a listener and an established loopback connection on
//! the same port. `--all-netns` must list both with the right namespace and process;
//! `--netns` must print what netstat prints inside that namespace; plain rnetstat must
//! print what plain netstat prints.

mod netns_support;

use netns_support::*;
use std::process::Command;

/// The rows of `text` whose (Local Address, Foreign Address) columns are one of `pairs`
/// (numeric output). Exact columns, not a `:PORT` substring: other tests leave TIME_WAIT
/// rows behind whose foreign port is a port the kernel has since handed to us.
fn rows_for_pairs<'a>(text: &'a str, pairs: &[(String, String)]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            pairs.iter().any(|(local, remote)| {
                f.get(3) == Some(&local.as_str()) && f.get(4) == Some(&remote.as_str())
            })
        })
        .collect()
}

/// The row whose local and remote columns are these (numeric output).
fn find_row<'a>(text: &'a str, local: &str, remote: &str) -> Option<&'a str> {
    text.lines().find(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(3) == Some(&local) && f.get(4) == Some(&remote)
    })
}

#[test]
fn all_netns_tags_rows_with_namespace_and_process() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let scene = scene("all");
    let out = rnetstat(&["-tanp", "--all-netns"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let header = text.lines().nth(1).unwrap_or_default();
    assert!(header.ends_with("PID/Program name     Netns"), "{header:?}");
    let unnamed_label = format!("net:[{}]", scene.in_unnamed.netns);
    for (holder, label) in [
        (&scene.in_named, scene.named.name.as_str()),
        (&scene.in_unnamed, unnamed_label.as_str()),
    ] {
        let port = scene.port;
        let owner = format!(" {}/", holder.pid);
        let listen_addr = format!("127.0.0.1:{port}");
        let client_addr = format!("127.0.0.1:{}", holder.client_port);
        let expect = [
            (listen_addr.as_str(), "0.0.0.0:*", "LISTEN"),
            (client_addr.as_str(), listen_addr.as_str(), "ESTABLISHED"),
            (listen_addr.as_str(), client_addr.as_str(), "ESTABLISHED"),
        ];
        // The same addresses exist in both namespaces; pick this namespace's rows.
        let mine: Vec<&str> = text
            .lines()
            .filter(|l| l.ends_with(&format!(" {label}")))
            .collect();
        let mine = mine.join("\n");
        for (local, remote, state) in expect {
            let row = find_row(&mine, local, remote)
                .unwrap_or_else(|| panic!("no {local} {remote} row for {label} in:\n{text}"));
            assert!(row.contains(state), "{row}");
            assert!(row.contains(&owner), "owner {owner} missing: {row}");
        }
        if holder.has_v6 {
            let v6 = find_row(&mine, &format!("::1:{port}"), ":::*")
                .unwrap_or_else(|| panic!("no v6 listener for {label} in:\n{text}"));
            assert!(v6.starts_with("tcp6") && v6.contains(&owner), "{v6}");
        }
    }
    // The own namespace comes first and holds neither holder's sockets.
    let own = Command::new("readlink")
        .arg("/proc/self/ns/net")
        .output()
        .unwrap();
    let own = String::from_utf8_lossy(&own.stdout).trim().to_string();
    for l in text.lines().skip(2) {
        if l.ends_with(&own) {
            assert!(
                !l.contains(&format!(" {}/", scene.in_named.pid))
                    && !l.contains(&format!(" {}/", scene.in_unnamed.pid)),
                "{l}"
            );
        }
    }

    // The other views: every namespace's rows carry its name.
    let ifaces = stdout(&rnetstat(&["-i", "--all-netns"]));
    assert!(
        ifaces
            .lines()
            .any(|l| l.starts_with("lo ") && l.ends_with(&format!(" {}", scene.named.name))),
        "{ifaces}"
    );
    assert!(ifaces
        .lines()
        .any(|l| l.starts_with("lo ") && l.ends_with(&format!(" {unnamed_label}"))));
    let groups = stdout(&rnetstat(&["-gn", "--all-netns"]));
    assert!(
        groups.lines().any(|l| l.starts_with("lo ")
            && l.contains("224.0.0.1")
            && l.ends_with(&format!(" {}", scene.named.name))),
        "{groups}"
    );
    let stats = stdout(&rnetstat(&["-s", "--all-netns"]));
    assert!(
        stats.contains(&format!("Network namespace {}:\n", scene.named.name)),
        "{stats}"
    );
    assert!(stats.contains(&format!("Network namespace {unnamed_label}:\n")));

    // Unix sockets are per namespace too: each holder's abstract listener is tagged.
    let unix = stdout(&rnetstat(&["-xlp", "--all-netns"]));
    let line = unix
        .lines()
        .find(|l| l.contains(&format!("@{} ", scene.named.name)))
        .unwrap_or_else(|| panic!("named holder's unix listener missing:\n{unix}"));
    assert!(line.ends_with(&format!(" {}", scene.named.name)), "{line}");
    assert!(
        line.contains(&format!(" {}/", scene.in_named.pid)),
        "{line}"
    );
}

#[test]
fn netns_selects_one_namespace_as_netstat_sees_it() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let scene = scene("one");
    let unnamed_pid = scene.in_unnamed.pid.to_string();
    let unnamed_path = format!("/proc/{unnamed_pid}/ns/net");
    let named_path = format!("/run/netns/{}", scene.named.name);
    let named_enter = ["ip", "netns", "exec", scene.named.name.as_str()];
    let unnamed_enter = ["nsenter", "-t", unnamed_pid.as_str(), "-n"];
    // Every view for the named namespace; fewer for the other spellings (each -p run
    // walks every process's descriptors, which is slow on a busy machine).
    let every: &[&[&str]] = &[
        &["-tanp"],
        &["-xanp"],
        &["-tlnpe"],
        &["-an"],
        &["-i"],
        &["-ie"],
        &["-gn"],
        &["-s"],
        &["-s", "-6"],
        &["-rn"],
        &["-rne"],
    ];
    let some: &[&[&str]] = &[&["-tanp"], &["-i"], &["-s"]];
    let one: &[&[&str]] = &[&["-an"]];
    type ArgSets<'a> = &'a [&'a [&'a str]];
    let cases: [(&str, &[&str], ArgSets); 4] = [
        (scene.named.name.as_str(), &named_enter, every),
        (named_path.as_str(), &named_enter, one),
        (unnamed_pid.as_str(), &unnamed_enter, some),
        (unnamed_path.as_str(), &unnamed_enter, one),
    ];
    for (spec, enter, arg_sets) in cases {
        for args in arg_sets.iter().copied() {
            let mut ours = vec!["--netns", spec];
            ours.extend_from_slice(args);
            let both = || {
                let got = rnetstat(&ours);
                let want = Command::new(enter[0])
                    .args(&enter[1..])
                    .arg("netstat")
                    .args(args)
                    .output()
                    .unwrap();
                (got, want)
            };
            // Again (3 attempts, a moment apart) on a difference: in the first seconds
            // after the veth pair comes up the kernel itself sends on it (IPv6 neighbour
            // discovery, MLD), so the interface counters can move between the two runs.
            let (mut got, mut want) = both();
            for _ in 1..3 {
                if got.stdout == want.stdout {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
                (got, want) = both();
            }
            assert_eq!(got.status.code(), Some(0), "{ours:?}");
            assert_eq!(
                stdout(&got),
                String::from_utf8_lossy(&want.stdout),
                "rnetstat {ours:?} vs {enter:?} netstat {args:?}"
            );
        }
    }
    // --arp against arp itself inside the namespace.
    let ours = rnetstat(&["--arp", "-n", "--netns", &scene.named.name]);
    let theirs = Command::new("ip")
        .args(["netns", "exec", &scene.named.name, "arp", "-n"])
        .output()
        .unwrap();
    assert_eq!(stdout(&ours), String::from_utf8_lossy(&theirs.stdout));
    assert!(stdout(&ours).contains("02:00:00:00:00:09"));
    let all = stdout(&rnetstat(&["-rn", "--all-netns"]));
    let block = all
        .split(&format!("Network namespace {}:\n", scene.named.name))
        .nth(1)
        .unwrap_or_else(|| panic!("no block for the named namespace:\n{all}"));
    assert!(
        block
            .lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("198.51.100.0 ")),
        "{block}"
    );

    // The two namespaces hold different sockets on the same port.
    let named = stdout(&rnetstat(&["-tanp", "--netns", &scene.named.name]));
    assert!(named.contains(&format!(" {}/", scene.in_named.pid)));
    assert!(!named.contains(&format!(" {}/", scene.in_unnamed.pid)));

    let bad = rnetstat(&["-tan", "--netns", "rnt-no-such-namespace"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("rnt-no-such-namespace"));
    for not_net in ["/proc/self/ns/mnt", "/etc/hostname"] {
        let bad = rnetstat(&["-tan", "--netns", not_net]);
        assert_eq!(bad.status.code(), Some(1), "{not_net}");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a network namespace"));
    }
}

#[test]
fn plain_rnetstat_shows_what_netstat_shows() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let scene = scene("plain");
    // A listener and connection of our own, in the own namespace.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let own_port = listener.local_addr().unwrap().port();
    let client = std::net::TcpStream::connect(("127.0.0.1", own_port)).unwrap();
    let _server = listener.accept().unwrap();
    let listen_addr = format!("127.0.0.1:{own_port}");
    let client_addr = client.local_addr().unwrap().to_string();
    let own = [
        (listen_addr.clone(), "0.0.0.0:*".to_string()),
        (client_addr.clone(), listen_addr.clone()),
        (listen_addr, client_addr),
    ];
    // /proc/net/tcp is not an atomic snapshot: while other tests churn sockets, a
    // reader (netstat as much as ours) can miss a row. Look again before failing.
    let (mut netstat, mut ours, mut want, mut got) = Default::default();
    for _ in 0..5 {
        let out = Command::new("netstat").arg("-tanp").output().unwrap();
        netstat = String::from_utf8_lossy(&out.stdout).into_owned();
        ours = stdout(&rnetstat(&["-tanp"]));
        want = rows_for_pairs(&netstat, &own);
        got = rows_for_pairs(&ours, &own);
        want.sort_unstable();
        got.sort_unstable();
        if got.len() == 3 && got == want {
            break;
        }
    }
    assert_eq!(ours.lines().nth(1), netstat.lines().nth(1), "header");
    assert_eq!(got.len(), 3, "{ours}");
    assert_eq!(got, want);
    for pid in [scene.in_named.pid, scene.in_unnamed.pid] {
        let owner = format!(" {pid}/");
        assert!(!ours.contains(&owner), "namespace socket leaked: {ours}");
        assert!(!netstat.contains(&owner));
    }
}

#[test]
fn named_namespace_without_processes_is_entered() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let empty = NamedNs::add(format!("rnt-ns-empty-{}", std::process::id()));
    let got = rnetstat(&["-an", "--netns", &empty.name]);
    let want = Command::new("ip")
        .args(["netns", "exec", &empty.name, "netstat", "-an"])
        .output()
        .unwrap();
    assert_eq!(got.status.code(), Some(0));
    assert_eq!(stdout(&got), String::from_utf8_lossy(&want.stdout));
    let all = stdout(&rnetstat(&["--json", "--all-netns", "-wn"]));
    let doc: serde_json::Value = serde_json::from_str(&all).unwrap();
    let ns = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == empty.name.as_str())
        .unwrap_or_else(|| panic!("empty namespace not listed: {all}"));
    assert_eq!(ns["inode"], empty.inode());
    assert_eq!(ns["pid"], serde_json::Value::Null);
}
