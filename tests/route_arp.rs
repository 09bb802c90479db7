//! netstat -r and arp are the judges: a private network namespace gets routes of every
//! kind netstat distinguishes (default, network, host, reject, blackhole, metrics, MSS,
//! window, irtt, IPv6) and static, incomplete and proxy neighbours; then netstat, arp
//! and rnetstat run inside it with the same arguments and must print the same bytes.
//!
//! Names come from /etc/netns/<ns>/{hosts,networks} with an nsswitch.conf that only
//! reads files (ip netns exec mounts them over /etc), so lookups are exact and nothing
//! asks a DNS server.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

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

/// The namespace and its /etc overlay; both are removed on drop, also after a failure.
struct Netns {
    name: String,
}

impl Netns {
    fn create(tag: &str) -> Netns {
        let name = format!("rnt-route-{}-{tag}", std::process::id());
        let ns = Netns { name };
        ns.cmd("ip", &["netns", "add", &ns.name]);
        ns
    }

    fn etc(&self) -> std::path::PathBuf {
        std::path::Path::new("/etc/netns").join(&self.name)
    }

    fn cmd(&self, program: &str, args: &[&str]) {
        let out = Command::new(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `ip -n <ns> ARGS...` from a whitespace-separated line.
    fn ip(&self, line: &str) {
        let mut args = vec!["-n", self.name.as_str()];
        args.extend(line.split_whitespace());
        self.cmd("ip", &args);
    }

    fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = std::fs::remove_dir_all(self.etc());
    }
}

const LONG_IF: &str = "rnt-veth-long0";
const SHORT_IF: &str = "rb";

fn setup(tag: &str) -> Netns {
    let ns = Netns::create(tag);
    std::fs::create_dir_all(ns.etc()).unwrap();
    let files = [
        ("nsswitch.conf", "hosts: files\nnetworks: files\n"),
        (
            "resolv.conf",
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        ),
        (
            "hosts",
            "127.0.0.1 localhost\n\
             192.0.2.254 gw-default\n\
             198.51.100.2 a-very-long-gateway-name.example\n\
             203.0.113.7 hostroute\n\
             192.0.2.9 neighbour-nine-with-a-long-name.example\n\
             2001:db8:1::fe v6gw\n\
             2001:db8:3::1 v6host\n",
        ),
        (
            "networks",
            "default 0.0.0.0\nloopback 127.0.0.0\nlink-local 169.254.0.0\ndocnet 203.0.113.0\n",
        ),
    ];
    for (file, text) in files {
        std::fs::write(ns.etc().join(file), text).unwrap();
    }
    // No duplicate address detection: addresses and their routes are final at once.
    for key in ["all", "default"] {
        let out = ns.exec(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{key}.accept_dad=0")],
        );
        assert!(out.status.success());
    }
    for line in [
        format!("link add {LONG_IF} type veth peer name {SHORT_IF}"),
        "link set lo up".into(),
        format!("link set {LONG_IF} up"),
        format!("link set {SHORT_IF} up"),
        format!("addr add 192.0.2.1/24 dev {LONG_IF}"),
        format!("addr add 198.51.100.1/24 dev {SHORT_IF}"),
        format!("addr add 2001:db8:1::1/64 dev {LONG_IF} nodad"),
        "route add default via 192.0.2.254".into(),
        "route add unreachable 203.0.113.128/25".into(),
        "route add prohibit 203.0.113.64/27".into(),
        "route add blackhole 203.0.113.96/28".into(),
        "route add 203.0.113.7 via 198.51.100.2".into(),
        "route add 203.0.113.0/26 via 192.0.2.253 mtu 1400 advmss 1360 window 8000 rtt 30ms metric 7"
            .into(),
        format!("route add 169.254.0.0/16 dev {LONG_IF}"),
        format!("route add 127.0.0.0/8 dev {SHORT_IF}"),
        "-6 route add 2001:db8:2::/48 via 2001:db8:1::fe".into(),
        "-6 route add unreachable 2001:db8:dead::/48".into(),
        "-6 route add default via 2001:db8:1::ff metric 5".into(),
        format!("-6 route add 2001:db8:3::1/128 dev {LONG_IF}"),
        format!("neigh add 192.0.2.9 lladdr 02:00:00:00:00:09 dev {LONG_IF} nud permanent"),
        format!("neigh add 192.0.2.10 lladdr 02:00:00:00:00:0a dev {LONG_IF} nud reachable"),
        format!("neigh add 198.51.100.3 lladdr 02:00:00:00:00:03 dev {SHORT_IF} nud stale"),
        format!("neigh add 192.0.2.11 dev {LONG_IF} nud incomplete"),
        format!("neigh add proxy 192.0.2.50 dev {LONG_IF}"),
    ] {
        ns.ip(&line);
    }
    ns
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs the reference and rnetstat; a neighbour may change state between the two runs,
/// so a differing pair is run again (at most three times) before it counts.
fn compare(ns: &Netns, tool: &str, tool_args: &[&str], our_args: &[&str]) -> Option<String> {
    let ours = env!("CARGO_BIN_EXE_rnetstat");
    let mut last = String::new();
    for _ in 0..3 {
        let theirs = show(&ns.exec(tool, tool_args));
        let mine = show(&ns.exec(ours, our_args));
        if theirs == mine {
            return None;
        }
        last = format!("{tool} {tool_args:?}:\n{theirs}\nrnetstat {our_args:?}:\n{mine}");
    }
    Some(last)
}

#[test]
fn routes_and_neighbours_match_netstat_and_arp() {
    if !is_root() {
        eprintln!("SKIPPED: routes_and_neighbours_match_netstat_and_arp needs root for ip netns");
        return;
    }
    if !(have("netstat") && have("arp") && have("ip") && have("sysctl")) {
        eprintln!("SKIPPED: netstat, arp, ip or sysctl is not installed");
        return;
    }
    let ns = setup("diff");
    // The /etc overlay is in effect: names come from the test's files.
    let named = String::from_utf8_lossy(&ns.exec("netstat", &["-r"]).stdout).into_owned();
    for name in [
        "default ",
        "gw-default",
        "docnet",
        "link-local",
        "hostroute",
        "a-very-long-gat ",
    ] {
        assert!(
            named.contains(name),
            "{name} missing from netstat -r:\n{named}"
        );
    }
    let arp = String::from_utf8_lossy(&ns.exec("arp", &[]).stdout).into_owned();
    assert!(arp.contains("neighbour-nine-with-a-l  ether"), "{arp}");
    assert!(
        arp.contains("(incomplete)") && arp.contains("<from_interface>"),
        "{arp}"
    );
    let mut failures = Vec::new();
    let route_args: &[&[&str]] = &[
        &["-r"],
        &["-rn"],
        &["-rne"],
        &["-rnee"],
        &["-rn", "-e", "-e"],
        &["-re"],
        &["-ree"],
        &["-reee"],
        &["-rN"],
        &["-rn", "--numeric-hosts"],
        &["-rn6"],
        &["-r6"],
        &["-r", "-A", "inet6"],
        &["-rn", "-A", "inet,inet6"],
        &["-r", "-6", "-4"],
        // Each family given is a table printed, repeats included.
        &["-rn", "-4", "-6", "-4"],
        &["-rn44"],
        &["-rnC"],
        &["-rCF"],
        &["-rn6C"],
        &["-rx"],
    ];
    for args in route_args {
        failures.extend(compare(&ns, "netstat", args, args));
    }
    for (arp_args, our_args) in [
        (&["-n"][..], &["--arp", "-n"][..]),
        (&[][..], &["--arp"][..]),
        (&["-nv"][..], &["--arp", "-nv"][..]),
    ] {
        failures.extend(compare(&ns, "arp", arp_args, our_args));
    }
    // From outside, --netns reads the same tables (numeric: /etc differs out there).
    // Retried like `compare`, as a neighbour may change state between the runs.
    for args in [&["-rn"][..], &["-rn6"], &["-rnee"], &["--arp", "-n"]] {
        let mut last = None;
        for _ in 0..3 {
            let inside = if args[0] == "--arp" {
                ns.exec("arp", &["-n"])
            } else {
                ns.exec("netstat", args)
            };
            let outside = Command::new(env!("CARGO_BIN_EXE_rnetstat"))
                .args(["--netns", &ns.name])
                .args(args)
                .output()
                .unwrap();
            last = (show(&inside) != show(&outside))
                .then(|| format!("--netns {args:?}:\n{}\n{}", show(&inside), show(&outside)));
            if last.is_none() {
                break;
            }
        }
        failures.extend(last);
    }
    // Two modes: netstat prints its usage, we a sentence; the status is the same.
    let theirs = ns.exec("netstat", &["-rr"]);
    let ours = ns.exec(env!("CARGO_BIN_EXE_rnetstat"), &["-rr"]);
    assert_eq!(theirs.status.code(), Some(3));
    assert_eq!(ours.status.code(), Some(3));
    assert!(ours.stdout.is_empty() && !ours.stderr.is_empty());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The first `lines` lines of a refreshing command (the child is killed afterwards).
fn first_lines(ns: &Netns, program: &str, args: &[&str], lines: usize) -> Vec<String> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, program])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let got: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(lines)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    got
}

#[test]
fn continuous_route_view_repeats_the_table() {
    if !is_root() {
        eprintln!("SKIPPED: continuous_route_view_repeats_the_table needs root for ip netns");
        return;
    }
    if !(have("netstat") && have("ip") && have("sysctl")) {
        eprintln!("SKIPPED: netstat, ip or sysctl is not installed");
        return;
    }
    let ns = setup("c");
    let once = ns.exec("netstat", &["-rn"]);
    let table_lines = String::from_utf8_lossy(&once.stdout).lines().count();
    let theirs = first_lines(&ns, "netstat", &["-rnc"], 2 * table_lines);
    let ours = first_lines(
        &ns,
        env!("CARGO_BIN_EXE_rnetstat"),
        &["-rnc"],
        2 * table_lines,
    );
    assert_eq!(theirs.len(), 2 * table_lines);
    assert_eq!(theirs[0], "Kernel IP routing table");
    assert_eq!(theirs[table_lines], "Kernel IP routing table");
    assert_eq!(ours, theirs);
}
