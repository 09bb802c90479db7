//! `rnetstat -i/-ia/-ie/-g/-gn` against netstat.
//!
//! * Recorded fixtures (tests/fixtures/iface, made by record.sh): /proc/net/{dev,if_inet6,
//!   igmp,igmp6} and the sysfs attributes of a quiet namespace, with netstat's output of
//!   the same moment. rnetstat reads them with --proc-root and must print netstat's lines.
//! * Broken copies of them: every good line still prints, bad ones warn with file:line;
//!   for -g netstat itself is the judge, reading the broken files through a bind mount.
//! * A private network namespace built here (veth pair, addresses from 192.0.2.0/24 and
//!   2001:db8::/32, an alias label, promiscuous mode, a down pair, memberships held by a
//!   child): netstat and rnetstat run side by side, counters masked.

use rnetstat::proc::{dev, igmp};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rnetstat");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iface")
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn offline(dir: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--proc-root")
        .arg(fixtures().join(dir).join("proc"))
        .args(args)
        .output()
        .unwrap()
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("quiet/expected").join(name)).unwrap()
}

/// sysfs has no IPv4 addresses (netstat asks SIOCGIFADDR), so a capture's -ie blocks
/// lack the `inet` line.
fn without_ipv4(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("        inet "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn recorded_fixture_prints_what_netstat_printed() {
    for (args, file) in [
        (&["-i"][..], "i.txt"),
        (&["-ia"], "ia.txt"),
        (&["-gn"], "gn.txt"),
    ] {
        let out = offline("quiet", args);
        assert!(out.status.success(), "{args:?}");
        assert_eq!(text(&out.stdout), expected(file), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
    let out = offline("quiet", &["-iae"]);
    assert_eq!(text(&out.stdout), without_ipv4(&expected("iae.txt")));
}

#[test]
fn parsers_on_recorded_and_broken_files() {
    let read = |rel: &str| std::fs::read(fixtures().join(rel)).unwrap();
    let good = dev::parse_dev(&read("quiet/proc/net/dev"), "dev");
    assert!(good.warnings.is_empty());
    let names: Vec<_> = good.rows.iter().map(|d| text(&d.name)).collect();
    assert_eq!(names, ["lo", "rnt10", "rnt2", "rnt3b", "rnt3"]);
    let bad = dev::parse_dev(&read("broken/proc/net/dev"), "dev");
    assert_eq!(bad.rows, good.rows);
    let lines: Vec<_> = bad.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [4, 5, 6, 7]);

    let good6 = dev::parse_if_inet6(&read("quiet/proc/net/if_inet6"), "if_inet6");
    let bad6 = dev::parse_if_inet6(&read("broken/proc/net/if_inet6"), "if_inet6");
    assert!(good6.warnings.is_empty() && good6.rows.len() == 4);
    assert_eq!(bad6.rows, good6.rows);
    assert_eq!(bad6.warnings.len(), 2);

    let g4 = igmp::parse_igmp(&read("quiet/proc/net/igmp"), "igmp");
    assert!(g4.warnings.is_empty());
    assert_eq!(g4.rows.len(), 4);
    assert_eq!(g4.rows[2].group.to_string(), "239.1.2.3");
    assert_eq!(text(&g4.rows[2].device), "rnt2");
    let b4 = igmp::parse_igmp(&read("broken/proc/net/igmp"), "igmp");
    assert_eq!(b4.rows, g4.rows);
    assert_eq!(
        b4.warnings.iter().map(|w| w.line).collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
    let g6 = igmp::parse_igmp6(&read("quiet/proc/net/igmp6"), "igmp6");
    let b6 = igmp::parse_igmp6(&read("broken/proc/net/igmp6"), "igmp6");
    assert!(g6.warnings.is_empty() && g6.rows.len() == 14);
    assert_eq!(b6.rows, g6.rows);
    assert_eq!(b6.warnings.len(), 3);

    // Arbitrary bytes never panic and every line is a record, a warning or blank.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..300 {
        let base = read(["quiet/proc/net/dev", "quiet/proc/net/igmp"][round % 2]);
        let mut data = base.clone();
        for _ in 0..(round % 17) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % data.len().max(1);
            if at < data.len() {
                data[at] = (seed >> 32) as u8;
            }
        }
        let _ = dev::parse_dev(&data, "x");
        let _ = dev::parse_if_inet6(&data, "x");
        let _ = igmp::parse_igmp(&data, "x");
        let t = igmp::parse_igmp6(&data, "x");
        let lines = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .count();
        assert_eq!(t.rows.len() + t.warnings.len(), lines);
    }
}

#[test]
fn broken_lines_warn_and_the_rest_prints() {
    let out = offline("broken", &["-ia"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), expected("ia.txt"));
    let err = text(&out.stderr);
    for line in 4..=7 {
        assert!(
            err.contains(&format!("/broken/proc/net/dev:{line}: ")),
            "{err}"
        );
    }
    assert!(
        !err.contains('\x1b'),
        "control bytes reach the terminal: {err}"
    );

    let out = offline("broken", &["-iae"]);
    assert_eq!(text(&out.stdout), without_ipv4(&expected("iae.txt")));
    assert!(text(&out.stderr).contains("/broken/proc/net/if_inet6:1: "));

    let out = offline("broken", &["-gn"]);
    assert_eq!(text(&out.stdout), expected("gn.txt"));
    let err = text(&out.stderr);
    assert!(err.contains("/broken/proc/net/igmp:4: "), "{err}");
    assert!(err.contains("/broken/proc/net/igmp6:5: "), "{err}");
    assert!(!err.contains('\x1b'));
}

/// netstat reads the broken group files through a bind mount over /proc.
#[test]
fn netstat_judges_broken_group_files() {
    if !is_root() || !have("netstat") || !have("unshare") {
        eprintln!("SKIPPED: needs root, netstat and unshare for a mount namespace");
        return;
    }
    let dir = fixtures().join("broken/proc");
    let netstat = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            "mount --bind \"$0\" /proc && exec netstat -gn",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(netstat.status.success(), "{}", text(&netstat.stderr));
    let ours = offline("broken", &["-gn"]);
    assert_eq!(text(&ours.stdout), text(&netstat.stdout));
    // Both complain (netstat without the file name, counting lines from 0; it takes
    // `9\t   :` for a device line where we warn).
    assert!(!netstat.stderr.is_empty() && !ours.stderr.is_empty());
}

struct Namespace(String);

impl Namespace {
    /// `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc inside the namespace.
    fn etc(&self) -> PathBuf {
        Path::new("/etc/netns").join(&self.0)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        let _ = std::fs::remove_dir_all(self.etc());
    }
}

struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const MEMBER: &str = r#"
import socket, struct, sys
idx = socket.if_nametoindex("rnt2")
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
              struct.pack("4s4si", socket.inet_aton("239.1.2.3"), b"\0" * 4, idx))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
              socket.inet_pton(socket.AF_INET6, "ff15::1234") + struct.pack("@I", idx))
print("ready", flush=True)
sys.stdin.read()
"#;

/// Counter columns of `-i` rows become `#`; the rest of the row stays as printed.
fn mask_table_row(line: &str) -> String {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() != 11 || tokens[0] == "Iface" || line.len() < 22 {
        return line.to_string();
    }
    // Name and MTU keep their columns; counters may change width between runs.
    let mut masked = line[..22].to_string();
    masked.push_str("# # # # # # # # ");
    masked.push_str(tokens[10]);
    masked
}

/// Digits and the unit in `RX packets N  bytes N (x.y KiB)` and the error lines.
fn mask_block_line(line: &str) -> String {
    let t = line.trim_start();
    if !(t.starts_with("RX ") || t.starts_with("TX ")) {
        return line.to_string();
    }
    let cut = line.find(" (").unwrap_or(line.len());
    let mut out = String::new();
    let mut in_digits = false;
    for c in line[..cut].chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    if cut < line.len() {
        out.push_str(" (#)");
    }
    out
}

fn masked(out: &[u8]) -> String {
    text(out)
        .lines()
        .map(|l| format!("{}\n", mask_block_line(&mask_table_row(l))))
        .collect()
}

#[test]
fn differential_in_private_namespace() {
    if !is_root() {
        eprintln!("SKIPPED: needs root for a private network namespace");
        return;
    }
    if !have("netstat") || !have("ip") || !have("python3") {
        eprintln!("SKIPPED: netstat, ip or python3 missing");
        return;
    }
    let ns = Namespace(format!("rnt-if-{}", std::process::id()));
    assert!(Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .unwrap()
        .success());
    // Group names come from this hosts file; the resolver is a dead loopback one.
    std::fs::create_dir_all(ns.etc()).unwrap();
    std::fs::write(
        ns.etc().join("hosts"),
        "127.0.0.1 localhost\n239.1.2.3 rnt-group4\nff15::1234 rnt-group6\nff02::1 ip6-allnodes\n",
    )
    .unwrap();
    std::fs::write(
        ns.etc().join("resolv.conf"),
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .unwrap();
    let in_ns = |args: &[&str]| {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.0]).args(args);
        cmd
    };
    let setup: &[&[&str]] = &[
        &["ip", "link", "set", "lo", "up"],
        &[
            "ip", "link", "add", "rnt2", "type", "veth", "peer", "name", "rnt10",
        ],
        &[
            "ip", "link", "add", "rnt3", "type", "veth", "peer", "name", "rnt3b",
        ],
        &[
            "ip",
            "addr",
            "add",
            "192.0.2.1/24",
            "brd",
            "+",
            "dev",
            "rnt2",
        ],
        &[
            "ip",
            "addr",
            "add",
            "192.0.2.9/24",
            "dev",
            "rnt2",
            "label",
            "rnt2:1",
        ],
        &["ip", "addr", "add", "192.0.2.2/24", "dev", "rnt10"],
        &[
            "ip",
            "addr",
            "add",
            "2001:db8::1/64",
            "dev",
            "rnt2",
            "nodad",
        ],
        &["ip", "addr", "add", "2001:db8:1::3/64", "dev", "rnt3"],
        &["ip", "link", "set", "rnt2", "up"],
        &["ip", "link", "set", "rnt10", "up"],
        &["ip", "link", "set", "rnt10", "promisc", "on"],
        &["ip", "link", "set", "rnt3", "mtu", "9000"],
    ];
    for args in setup {
        let st = in_ns(args).status().unwrap();
        assert!(st.success(), "{args:?}");
    }
    let mut holder = Holder(
        in_ns(&["python3", "-c", MEMBER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(holder.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");

    for args in [
        &["-i"][..],
        &["-ia"],
        &["-ie"],
        &["-iae"],
        &["-g"],
        &["-gn"],
        &["-g", "-4"],
        &["-gnx"],
    ] {
        let theirs = in_ns(&["netstat"]).args(args).output().unwrap();
        let ours = in_ns(&[BIN]).args(args).output().unwrap();
        assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}");
        let (t, o) = (masked(&theirs.stdout), masked(&ours.stdout));
        assert_eq!(o, t, "{args:?}");
        assert_eq!(text(&ours.stderr), text(&theirs.stderr), "{args:?}");
        // The things this test made are there.
        let want: &[&str] = match args[0] {
            "-i" => &["rnt2 ", "rnt10 ", "BMPRU"],
            "-ia" => &["rnt2:1 ", "rnt3 ", "9000", "no statistics available"],
            "-ie" => &[
                "rnt2: flags=4163<",
                "PROMISC",
                "inet 192.0.2.9",
                "2001:db8::1",
            ],
            "-iae" => &["rnt3: flags=4098<BROADCAST,MULTICAST>  mtu 9000"],
            "-g" if args.len() > 1 => &["rnt2            1      rnt-group4", "Active Internet"],
            "-g" => &[
                "rnt2            1      rnt-group4",
                "rnt-group6",
                "ip6-allnodes",
            ],
            _ => &["rnt2            1      239.1.2.3", "ff15::1234"],
        };
        for w in want {
            assert!(t.contains(w), "{args:?} lacks {w}: {t}");
        }
    }

    // From outside, --netns enters the namespace for -i (ioctls included) and -g.
    for args in [&["-ia"][..], &["-iae"], &["-gn"]] {
        let theirs = in_ns(&["netstat"]).args(args).output().unwrap();
        let ours = Command::new(BIN)
            .args(["--netns", &ns.0])
            .args(args)
            .output()
            .unwrap();
        assert!(ours.status.success(), "{}", text(&ours.stderr));
        assert_eq!(
            masked(&ours.stdout),
            masked(&theirs.stdout),
            "--netns {args:?}"
        );
    }

    // -c: the interface title only before the first table; groups every time.
    // (netstat's later -g refreshes misparse /proc/net/igmp; ours repeat the first.)
    let spawn = |arg: &str| {
        in_ns(&["timeout", "2.5", BIN, arg])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (ic, gc) = (spawn("-ic"), spawn("-gcn"));
    let out = text(&ic.wait_with_output().unwrap().stdout);
    assert_eq!(out.matches("Kernel Interface table").count(), 1, "{out}");
    assert!(out.matches("Iface             MTU").count() >= 2, "{out}");
    let out = text(&gc.wait_with_output().unwrap().stdout);
    let blocks: Vec<&str> = out
        .split("IPv6/IPv4 Group Memberships\n")
        .filter(|b| !b.is_empty())
        .collect();
    assert!(blocks.len() >= 2, "{out}");
    for b in &blocks[..blocks.len() - 1] {
        assert_eq!(*b, blocks[0]);
        assert!(b.contains("rnt2            1      239.1.2.3"), "{b}");
    }
    drop(holder);
}
