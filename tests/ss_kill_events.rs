//! rss -b, -K and -E against ss (iproute2 6.1), each in private network namespaces
//! the test makes and removes:
//! - -b: packet sockets with classic filters the test attaches (PACKET_DIAG_FILTER),
//!   both tools in the same namespace, byte for byte.
//! - -K: two identical scenes (sockets on fixed ports in a namespace "near", their
//!   peers in a namespace "far" over a veth pair, so closing one end never closes
//!   another row), ss kills in one, rss in the other; the printed lines and what is
//!   left afterwards must be the same. Row order follows each namespace's hash seed,
//!   so lines are compared sorted (the widths do not depend on the order).
//! - -E: a scripted sequence of sockets closing while each tool watches; the same
//!   lines, and both end by SIGINT.

mod json_support;
mod ss_support;

use ss_support::{rss, skip};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(st.success(), "{args:?} failed");
}

/// A named namespace, removed on drop.
struct Ns(String);

impl Ns {
    fn new(tag: &str) -> Ns {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "rss-k-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        sh(&["ip", "netns", "add", &name]);
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Ns(name)
    }

    fn ip(&self, args: &str) {
        let mut v = vec!["ip", "-n", &self.0];
        v.extend(args.split_whitespace());
        sh(&v);
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }

    /// `tool args` in the namespace: stdout, stderr, status.
    fn run(&self, tool: &str, args: &[&str]) -> (String, String, Option<i32>) {
        let out = self.cmd(tool).args(args).output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        )
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A python holder in a namespace: prints a line when ready, ends when stdin closes.
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Holder {
    fn start(ns: &Ns, script: &str, args: &[&str]) -> Holder {
        let mut child = ns
            .cmd("python3")
            .args(["-c", script])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("ready"), "holder said {line:?}");
        let stdin = child.stdin.take();
        Holder { child, stdin }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PACKET_FILTERS: &str = r#"
import ctypes, socket, struct, sys
def attach(s, prog):
    raw = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = ctypes.create_string_buffer(raw)
    s.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HL", len(prog), ctypes.addressof(buf)))
keep = []
# tcpdump -dd 'udp and port 53 and udp[8:4] = 0x5254'
magic = [(0x28,0,0,0xc),(0x15,0,12,0x800),(0x30,0,0,0x17),(0x15,0,10,0x11),(0x28,0,0,0x14),
         (0x45,8,0,0x1fff),(0xb1,0,0,0xe),(0x48,0,0,0xe),(0x15,2,0,0x35),(0x48,0,0,0x10),
         (0x15,0,3,0x35),(0x40,0,0,0x16),(0x15,0,1,0x5254),(0x6,0,0,0x40000),(0x6,0,0,0)]
for proto, kind, prog in [(0x0800, socket.SOCK_RAW, magic), (3, socket.SOCK_DGRAM, [(0x6,0,0,0xffffffff)]),
                          (0x86dd, socket.SOCK_RAW, None)]:
    s = socket.socket(socket.AF_PACKET, kind, socket.htons(proto))
    if prog:
        attach(s, prog)
    keep.append(s)
v0 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88cc))
v0.bind(("v0", 0x88cc))
attach(v0, [(0x28,0,0,12),(0x15,0,1,0x88cc),(0x6,0,0,1500),(0x6,0,0,0)])
keep.append(v0)
print("ready", flush=True)
sys.stdin.read()
"#;

#[test]
fn bpf_filters_of_packet_sockets_match_ss() {
    if skip("bpf_filters_of_packet_sockets_match_ss") {
        return;
    }
    let ns = Ns::new("b");
    ns.ip("link add v0 type veth peer name v1");
    ns.ip("link set v0 up");
    let _holder = Holder::start(&ns, PACKET_FILTERS, &[]);
    let mut failures = Vec::new();
    for args in [
        &["-0", "-b"][..],
        &["-0b", "-O"],
        &["-b", "-0", "-n"],
        &["-b", "-f", "link", "-H"],
        &["-0"],
    ] {
        let ss = ns.run("ss", args);
        let ours = ns.run(rss(), args);
        if ss != ours {
            failures.push(format!("{args:?}\n--- ss\n{ss:?}\n--- rss\n{ours:?}"));
        }
        if args.contains(&"-b") {
            assert!(ss.0.contains("bpf filter (15):  0x28 0 0 12,"), "{}", ss.0);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // --json -b: each packet socket's `filter` is the program ss -b lists.
    let (text, _, _) = ns.run("ss", &["-0", "-b"]);
    let mut listed: Vec<Vec<Vec<u64>>> = text
        .split("bpf filter (")
        .skip(1)
        .map(|rest| {
            let (_, code) = rest.split_once("):").unwrap();
            let code = code.lines().next().unwrap();
            code.split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(|i| {
                    i.split_whitespace()
                        .map(|n| match n.strip_prefix("0x") {
                            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
                            None => n.parse().unwrap(),
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let (doc, _, status) = ns.run(rss(), &["-0", "-b", "--json"]);
    assert_eq!(status, Some(0));
    let doc = json_support::parse_checked(&doc, &json_support::schema());
    let mut programs: Vec<Vec<Vec<u64>>> = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["filter"].is_null())
        .map(|s| serde_json::from_value(s["filter"]["code"].clone()).unwrap())
        .collect();
    listed.sort();
    programs.sort();
    assert_eq!(listed.len(), 3, "{text}");
    assert_eq!(programs, listed, "{doc}");
}

/// The -K scene: in "near" a listener (its clients in "far"), clients of a listener
/// in "far", UDP sockets bound and connected; fixed ports, so both copies of the
/// scene print the same addresses.
const NEAR: &str = r#"
import socket, sys
keep = []
def s(fam, typ):
    x = socket.socket(fam, typ); x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); keep.append(x); return x
l = s(socket.AF_INET, socket.SOCK_STREAM); l.bind(("192.0.2.1", 5555)); l.listen(8)
for port in (41001, 41002):
    c = s(socket.AF_INET, socket.SOCK_STREAM); c.bind(("192.0.2.1", port)); c.connect(("192.0.2.2", 7777))
l6 = s(socket.AF_INET6, socket.SOCK_STREAM); l6.bind(("2001:db8::1", 5560)); l6.listen(8)
c = s(socket.AF_INET6, socket.SOCK_STREAM); c.bind(("2001:db8::1", 41003)); c.connect(("2001:db8::2", 7778))
u = s(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("192.0.2.1", 5556)); u.connect(("192.0.2.2", 5557))
u = s(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("192.0.2.1", 5558))
print("ready", flush=True)
sys.stdin.read()
"#;

const FAR: &str = r#"
import socket, sys, time
keep = []
def s(fam, typ):
    x = socket.socket(fam, typ); x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); keep.append(x); return x
l = s(socket.AF_INET, socket.SOCK_STREAM); l.bind(("192.0.2.2", 7777)); l.listen(8)
l6 = s(socket.AF_INET6, socket.SOCK_STREAM); l6.bind(("2001:db8::2", 7778)); l6.listen(8)
print("ready", flush=True)
sys.stdin.readline()
for port in (42001, 42002):
    c = s(socket.AF_INET, socket.SOCK_STREAM); c.bind(("192.0.2.2", port)); c.connect(("192.0.2.1", 5555))
sys.stdin.read()
"#;

/// Two namespaces joined by a veth pair, "near" 192.0.2.1 / 2001:db8::1 and "far"
/// .2 / ::2, with the scene's holders.
struct KillScene {
    _far_holder: Holder,
    _near_holder: Holder,
    near: Ns,
    _far: Ns,
}

impl KillScene {
    fn start() -> KillScene {
        let near = Ns::new("n");
        let far = Ns::new("f");
        near.ip(&format!(
            "link add v0 type veth peer name v1 netns {}",
            far.0
        ));
        near.ip("addr add 192.0.2.1/24 dev v0");
        near.ip("-6 addr add 2001:db8::1/64 dev v0 nodad");
        far.ip("addr add 192.0.2.2/24 dev v1");
        far.ip("-6 addr add 2001:db8::2/64 dev v1 nodad");
        near.ip("link set v0 up");
        far.ip("link set v1 up");
        let mut far_holder = Holder::start(&far, FAR, &[]);
        let near_holder = Holder::start(&near, NEAR, &[]);
        // Now that near listens, far connects to it.
        use std::io::Write;
        let stdin = far_holder.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
        // The far clients' connections are accepted by the kernel (backlog) on their own.
        for _ in 0..100 {
            let (out, _, _) = near.run("ss", &["-tnH", "state", "established"]);
            if out.lines().count() >= 5 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        KillScene {
            _far_holder: far_holder,
            _near_holder: near_holder,
            near,
            _far: far,
        }
    }
}

/// Header first, then the rows sorted.
fn sorted(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let header = if lines.first().is_some_and(|l| l.contains("Local Address")) {
        Some(lines.remove(0))
    } else {
        None
    };
    lines.sort_unstable();
    header
        .into_iter()
        .chain(lines)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kill_closes_the_same_sockets_as_ss() {
    if skip("kill_closes_the_same_sockets_as_ss") {
        return;
    }
    let mut failures = Vec::new();
    for args in [
        &["-K", "-t"][..],
        &["-K", "-t", "-n"],
        &["-K", "-ta"],
        &["-K", "-u", "-a"],
        &["-K", "-6", "-t", "-a"],
        &["-K", "-4", "-O"],
        &["-K", "-tH", "-n"],
        &["-K"],
    ] {
        let mut runs = Vec::new();
        for tool in ["ss", rss()] {
            let scene = KillScene::start();
            let (out, err, status) = scene.near.run(tool, args);
            let (left, _, _) = scene.near.run("ss", &["-tuan"]);
            runs.push((sorted(&out), err, status, sorted(&left)));
        }
        if runs[0] != runs[1] {
            failures.push(format!(
                "{args:?}\n--- ss\n{:#?}\n--- rss\n{:#?}",
                runs[0], runs[1]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// -K --json: the document lists the sockets ss -K lists (closed in a copy of the
/// scene), and leaves the same sockets behind.
#[test]
fn kill_as_json_lists_the_sockets_ss_closes() {
    if skip("kill_as_json_lists_the_sockets_ss_closes") {
        return;
    }
    let args = ["-K", "-t", "-a", "-n"];
    let scene = KillScene::start();
    let (text, _, status) = scene.near.run("ss", &args);
    assert_eq!(status, Some(0));
    let (left_ss, _, _) = scene.near.run("ss", &["-tuan"]);
    drop(scene);
    let scene = KillScene::start();
    let (doc, err, status) = scene.near.run(rss(), &[&args[..], &["--json"]].concat());
    assert_eq!((status, err.as_str()), (Some(0), ""));
    let (left_ours, _, _) = scene.near.run("ss", &["-tuan"]);
    let doc = json_support::parse_checked(&doc, &json_support::schema());
    // State, then local and peer (ss -t prints no Netid column).
    let mut closed: Vec<_> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), ss_endpoint(f[3]), ss_endpoint(f[4]))
        })
        .collect();
    let mut listed: Vec<_> = doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let end = |a: &str, p: &str| {
                (
                    any_address(s[a].as_str().unwrap()),
                    s[p].as_u64().unwrap() as u16,
                )
            };
            (
                s["state"].as_str().unwrap().to_string(),
                end("local_address", "local_port"),
                end("peer_address", "peer_port"),
            )
        })
        .collect();
    closed.sort();
    listed.sort();
    assert!(closed.len() >= 5, "{text}");
    assert_eq!(listed, closed, "{doc}");
    assert_eq!(sorted(&left_ours), sorted(&left_ss));
}

#[test]
fn kill_without_privilege_answers_as_ss() {
    if skip("kill_without_privilege_answers_as_ss") {
        return;
    }
    if !ss_support::have("setpriv") {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("setpriv missing (CI=true: a skipped test fails)");
        }
        return;
    }
    let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let mut failures = Vec::new();
    for args in [&["-K", "-t"][..], &["-K", "-u", "-a"], &["-K", "-t", "-a"]] {
        let mut runs = Vec::new();
        for tool in ["ss", rss()] {
            let scene = KillScene::start();
            let mut all = nobody.to_vec();
            all.push(tool);
            all.extend(args);
            let (out, err, status) = scene.near.run("setpriv", &all);
            let (left, _, _) = scene.near.run("ss", &["-tuan"]);
            runs.push((sorted(&out), err, status, sorted(&left)));
        }
        if runs[0] != runs[1] {
            failures.push(format!(
                "{args:?}\n--- ss\n{:#?}\n--- rss\n{:#?}",
                runs[0], runs[1]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The text -E scene: sockets opened and closed on fixed ports (B = argv[1]): a TCP
/// connection, UDP v6 and v4 (connected), a TCP v6 listener, a unix socket (no
/// destroy group) and the listener: six inet events.
const WATCH_SCENE: &str = r#"
import socket, sys
base = int(sys.argv[1])
def s(fam, typ):
    x = socket.socket(fam, typ); x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); return x
l = s(socket.AF_INET, socket.SOCK_STREAM); l.bind(("127.0.0.1", base)); l.listen(8)
c = s(socket.AF_INET, socket.SOCK_STREAM); c.bind(("127.0.0.1", base + 1)); c.connect(("127.0.0.1", base)); a, _ = l.accept()
c.close(); a.close()
u = s(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", base + 2)); u.close()
u = s(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", base + 3)); u.connect(("127.0.0.1", 9)); u.close()
l6 = s(socket.AF_INET6, socket.SOCK_STREAM); l6.bind(("::1", base + 4)); l6.listen(8); l6.close()
x = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); x.close()
l.close()
"#;

/// What a -E run printed and how it ended.
#[derive(Debug, PartialEq)]
struct Watched {
    /// The header (when printed) and the rows sorted: each event is rendered alone,
    /// so a row does not depend on the others, and two events broadcast at once may
    /// reach two listeners in either order.
    lines: Vec<String>,
    stderr: String,
    status: std::process::ExitStatus,
}

/// Whether `pid` waits in a socket receive (it printed all it read before).
fn waiting_in_recv(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/wchan"))
        .is_ok_and(|w| w.contains("wait_for_more_packets"))
}

/// ss -E and rss -E with the same arguments watch the same namespace at once while
/// the scene runs; an unfiltered ss -E counts its six events, so both have been sent
/// everything when it has; both are interrupted once their queues are empty and they
/// wait in recv (all they read printed). No sleeps decide anything.
fn watch_both(args: &[&str]) -> [Watched; 2] {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::os::unix::fs::MetadataExt;
    let ns = Ns::new("e");
    let ns_ino = std::fs::metadata(format!("/run/netns/{}", ns.0))
        .unwrap()
        .ino();
    let spawn = |mut c: Command| {
        c.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut ss = ns.cmd("stdbuf");
    ss.args(["-oL", "ss"]).args(args);
    let mut ours = ns.cmd(rss());
    ours.args(args);
    let mut counter = ns.cmd("stdbuf");
    counter.args(["-oL", "ss", "-E", "-n", "-H"]);
    let mut tools = [spawn(ss), spawn(ours), spawn(counter)];
    let rx: Vec<_> = tools.iter_mut().map(lines_of).collect();
    let pids = tools.each_ref().map(|c| c.id());
    let followers = event_followers(args);
    let mine: Vec<u32> = (0..3)
        .filter(|&i| followers > 0 || i == 2)
        .map(|i| pids[i])
        .collect();
    wait_until(&format!("{args:?}: the tools subscribed"), || {
        all_subscribed(pids[2], ns_ino, &mine)
    });
    let st = ns
        .cmd("python3")
        .args(["-c", WATCH_SCENE, "5555"])
        .status()
        .unwrap();
    assert!(st.success(), "the scene failed");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for n in 0..6 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        rx[2]
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("{args:?}: the counter saw {n} events"));
    }
    let live: Vec<usize> = (0..2).filter(|&i| followers > 0 || i > 1).collect();
    wait_until(&format!("{args:?}: every event read and printed"), || {
        followers_of(pids[2], ns_ino, &mine)
            .iter()
            .all(|f| f.queued == 0)
            && live.iter().all(|&i| waiting_in_recv(pids[i]))
    });
    for pid in pids {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGINT);
    }
    let mut outs = tools.map(|c| c.wait_with_output().unwrap());
    [0, 1].map(|i| {
        let mut lines: Vec<String> = rx[i].iter().collect();
        let header = lines
            .first()
            .is_some_and(|l| l.contains("Address:Port"))
            .then(|| lines.remove(0));
        lines.sort();
        Watched {
            lines: header.into_iter().chain(lines).collect(),
            stderr: String::from_utf8_lossy(&std::mem::take(&mut outs[i].stderr)).into_owned(),
            status: outs[i].status,
        }
    })
}

/// How many of the two tools subscribe: none when no destroy group applies (-x).
fn event_followers(args: &[&str]) -> usize {
    if args.contains(&"-x") {
        0
    } else {
        2
    }
}

#[test]
fn events_print_the_same_lines_as_ss() {
    if skip("events_print_the_same_lines_as_ss") {
        return;
    }
    if !ss_support::have("stdbuf") {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "stdbuf missing");
        eprintln!("SKIPPED: stdbuf missing");
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    let mut failures = Vec::new();
    for args in [
        &["-E"][..],
        &["-E", "-t", "-n"],
        &["-E", "-6"],
        &["-E", "-u", "-H"],
        &["-E", "-4", "-O"],
        &["-E", "-x"],
        // The filter decides for each destroyed socket (show_one_inet_sock()).
        &["-E", "-n", "sport", "=", ":5556"],
        &["-E", "dport", "=", ":5555", "or", "src", "[::1]"],
        &[
            "-E",
            "-t",
            "(",
            "sport",
            ">",
            ":5555",
            "and",
            "not",
            "dst",
            "127.0.0.1",
            ")",
        ],
        &["-E", "-4", "dst", "127.0.0.1", "and", "dport", "!=", ":9"],
        // State words do not filter events (ss checks no state there).
        &["-E", "state", "listening"],
    ] {
        // ss renders after every message it reads, shown or not, and a column's
        // width is what that render held: a message the other tool read at another
        // moment (the scene's sockets close in a burst) can pad the header and the
        // first row differently. A difference is looked at again, as table_source
        // does; a real one stays in every attempt.
        let mut attempts = 0;
        let [ss, ours] = loop {
            attempts += 1;
            let [ss, ours] = watch_both(args);
            if ss == ours || attempts == 3 {
                break [ss, ours];
            }
        };
        if ss != ours {
            failures.push(format!("{args:?}\n--- ss\n{ss:#?}\n--- rss\n{ours:#?}"));
        }
        if args == ["-E"] {
            // Interrupted (SIGINT), with the header and every socket that closed.
            assert_eq!(ours.status.signal(), Some(libc::SIGINT), "{ours:?}");
            assert_eq!(ours.lines.len(), 7, "{ours:?}");
        }
        if args == ["-E", "-x"] {
            assert_eq!(ours.status.code(), Some(255), "{ours:?}");
        }
        if args.contains(&":5556") {
            // The one socket the filter names: header and its row.
            assert_eq!(ours.lines.len(), 2, "{ours:?}");
            assert!(ours.lines[1].contains(" 127.0.0.1:5556 "), "{ours:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A closed pipe ends -E as it ends ss, text or JSON Lines: by SIGPIPE at the next
/// line, nothing on stderr.
#[test]
fn events_end_on_a_closed_pipe() {
    if skip("events_end_on_a_closed_pipe") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    for args in [&["-E"][..], &["-E", "--json"]] {
        let ns = Ns::new("p");
        let ns_ino = std::fs::metadata(format!("/run/netns/{}", ns.0))
            .unwrap()
            .ino();
        let mut child = ns
            .cmd(rss())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until("rss subscribed", || {
            all_subscribed(child.id(), ns_ino, &[child.id()])
        });
        drop(child.stdout.take());
        // Sockets closing in the namespace make rss write (text: header, then a row).
        let script = "import socket\nfor i in range(3):\n    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1); s.close()\n";
        for _ in 0..3 {
            let st = ns.cmd("python3").args(["-c", script]).status().unwrap();
            assert!(st.success());
        }
        let mut status = None;
        for _ in 0..200 {
            if let Some(st) = child.try_wait().unwrap() {
                status = Some(st);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.and_then(|s| s.signal()),
            Some(libc::SIGPIPE),
            "{args:?}"
        );
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(err, "", "{args:?}");
    }
}

/// The -E --json scene: sockets opened and closed at once (no pauses: the events are
/// compared as sets, and both tools watch the same kernel events), on ports in the
/// ephemeral range so ss prints them as numbers with or without -n. The unix socket
/// has no destroy group. `argv[1]` is the base port B.
const EVENT_SCENE: &str = r#"
import socket, sys
b = int(sys.argv[1])
def s(fam, typ):
    x = socket.socket(fam, typ); x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); return x
l = s(socket.AF_INET, socket.SOCK_STREAM); l.bind(("127.0.0.1", b)); l.listen(8)
c = s(socket.AF_INET, socket.SOCK_STREAM); c.bind(("127.0.0.1", b + 1)); c.connect(("127.0.0.1", b))
a, _ = l.accept(); c.send(b"x"); c.close(); a.close()
u = s(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", b + 2)); u.close()
u = s(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", b + 3)); u.connect(("127.0.0.1", b + 9)); u.close()
l6 = s(socket.AF_INET6, socket.SOCK_STREAM); l6.bind(("::1", b + 4)); l6.listen(8); l6.close()
w = s(socket.AF_INET, socket.SOCK_DGRAM); w.bind(("0.0.0.0", b + 5)); w.close()
x = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); x.close()
l.close()
"#;

const B: u16 = 47100;

/// What identifies an event row in both outputs: Netid and State (None when ss
/// prints no such column: one table, one state), local and peer (address with `*` for any, port), the cookie ss
/// prints as `sk:` (-e), and tcp_info's segs_out (-i, when ss prints it).
type EventKey = (
    Option<String>,
    Option<String>,
    (String, u16),
    (String, u16),
    Option<u64>,
    Option<u64>,
);

/// `ADDR:PORT` as ss prints it: `[v6]`, `*` for any address or port 0.
fn ss_endpoint(text: &str) -> (String, u16) {
    let (host, port) = text.rsplit_once(':').expect("ADDR:PORT");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.split('%').next().unwrap();
    (
        any_address(host),
        if port == "*" {
            0
        } else {
            port.parse().expect("a numeric port")
        },
    )
}

fn any_address(host: &str) -> String {
    match host {
        "*" | "0.0.0.0" | "::" => "*".to_string(),
        h => h.to_string(),
    }
}

/// ss -E's text: its rows as keys (continuation lines, which start with a blank,
/// lend their `segs_out:` to the row above), and which of the Netid and State
/// columns it has.
fn ss_event_rows(text: &str) -> (Vec<EventKey>, [bool; 2]) {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.contains("Local Address:Port"), "ss's header: {text}");
    let netid = header.starts_with("Netid");
    let state = header.contains("State");
    let mut rows: Vec<EventKey> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some(row) = rows.last_mut() {
                row.5 = line
                    .split_whitespace()
                    .find_map(|t| t.strip_prefix("segs_out:"))
                    .map(|n| n.parse().unwrap());
            }
            continue;
        }
        let mut f = line.split_whitespace();
        let id = netid.then(|| f.next().unwrap().to_string());
        let state = state.then(|| f.next().unwrap().to_string());
        let (_recv, _send) = (f.next(), f.next());
        let local = ss_endpoint(f.next().unwrap());
        let peer = ss_endpoint(f.next().unwrap());
        let cookie = f
            .find_map(|t| t.strip_prefix("sk:"))
            .map(|h| u64::from_str_radix(h, 16).unwrap());
        rows.push((id, state, local, peer, cookie, None));
    }
    (rows, [netid, state])
}

/// An `ss_event` line as a key (`netid` and `state` kept when ss printed them).
fn json_event_row(v: &serde_json::Value, [netid, state]: [bool; 2]) -> EventKey {
    assert_eq!(v["view"], "ss_event", "{v}");
    assert_eq!(v["event"], "destroy", "{v}");
    let s = &v["socket"];
    let text = |k: &str| s[k].as_str().unwrap().to_string();
    let port = |k: &str| s[k].as_u64().unwrap() as u16;
    let d = &s["details"];
    (
        netid.then(|| text("netid")),
        state.then(|| text("state")),
        (any_address(&text("local_address")), port("local_port")),
        (any_address(&text("peer_address")), port("peer_port")),
        d["cookie"].as_u64(),
        d["tcp_info"]["segs_out"].as_u64().filter(|&n| n != 0),
    )
}

/// A child's stdout, line by line, as it writes them.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits until `done()` (polled), failing after 30 s with `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A sock_diag socket with groups joined (an -E follower's), from /proc/net/netlink.
struct Follower {
    /// Its port id: the pid of the process that bound it (the kernel's first choice).
    portid: u32,
    queued: u64,
    drops: u64,
    /// Its socket inode (`socket:[N]` among its holder's descriptors).
    inode: u64,
}

/// The followers in the namespace of `pid`, once `pid` is in namespace `ns_ino`.
fn followers(pid: u32, ns_ino: u64) -> Vec<Follower> {
    use std::os::unix::fs::MetadataExt;
    let inside = std::fs::metadata(format!("/proc/{pid}/ns/net")).is_ok_and(|m| m.ino() == ns_ino);
    if !inside {
        return Vec::new();
    }
    parse_followers(
        &std::fs::read_to_string(format!("/proc/{pid}/net/netlink")).unwrap_or_default(),
    )
}

/// The followers in the namespace of file `ns` (read by a thread that enters it, so
/// no process of the test lives there).
fn followers_at(ns: &str) -> Vec<Follower> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        let Ok(file) = std::fs::File::open(&ns) else {
            return Vec::new();
        };
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        parse_followers(
            &std::fs::read_to_string("/proc/thread-self/net/netlink").unwrap_or_default(),
        )
    })
    .join()
    .unwrap()
}

fn parse_followers(table: &str) -> Vec<Follower> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() > 9 && r[1] == "4" && u64::from_str_radix(r[3], 16).unwrap_or(0) != 0)
        .map(|r| Follower {
            portid: r[2].parse().unwrap_or(0),
            queued: r[4].parse().unwrap_or(u64::MAX),
            drops: r[8].parse().unwrap_or(0),
            inode: r[9].parse().unwrap_or(0),
        })
        .collect()
}

/// Whether each of `tools` follows the namespace `ns_ino` (seen from `pid` in it);
/// other tests' followers (rss --all-netns) may be there too.
fn all_subscribed(pid: u32, ns_ino: u64, tools: &[u32]) -> bool {
    let there = followers(pid, ns_ino);
    tools.iter().all(|t| there.iter().any(|f| f.portid == *t))
}

/// The followers of `tools` only.
fn followers_of(pid: u32, ns_ino: u64, tools: &[u32]) -> Vec<Follower> {
    let mut mine = followers(pid, ns_ino);
    mine.retain(|f| tools.contains(&f.portid));
    mine
}

/// ss -E (text) and rss -E --json watch the same namespace at once while the scene
/// closes its sockets: each JSON line parses alone and matches docs/json.md, arrives
/// while rss runs (read before it is interrupted), and the events equal ss's rows
/// and the ones the selection names. -x and -w (no destroy group): both exit 255
/// with nothing written.
#[test]
fn events_as_json_lines_are_ss_rows() {
    if skip("events_as_json_lines_are_ss_rows") {
        return;
    }
    if !ss_support::have("stdbuf") {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "stdbuf missing");
        eprintln!("SKIPPED: stdbuf missing");
        return;
    }
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::ExitStatusExt;
    let schema = json_support::schema();
    // (netid, local port, peer port) of the scene's events.
    let listener = ("tcp", B, 0);
    let client = ("tcp", B + 1, B);
    let accepted = ("tcp", B, B + 1);
    let udp6 = ("udp", B + 2, 0);
    let udp4 = ("udp", B + 3, B + 9);
    let listener6 = ("tcp", B + 4, 0);
    let wildcard = ("udp", B + 5, 0);
    let all = vec![listener, client, accepted, udp6, udp4, listener6, wildcard];
    // The arguments, and the events they show (None: the tools exit 255).
    type Case<'a> = (&'a [&'a str], Option<Vec<(&'a str, u16, u16)>>);
    let cases: Vec<Case> = vec![
        (&["-E", "-n"], Some(all.clone())),
        (&["-E"], Some(all.clone())),
        (&["-E", "-n", "-e", "-i", "-p"], Some(all.clone())),
        (
            &["-E", "-t", "-n"],
            Some(vec![listener, client, accepted, listener6]),
        ),
        (&["-E", "-u"], Some(vec![udp6, udp4, wildcard])),
        (&["-E", "-6", "-n"], Some(vec![udp6, listener6])),
        (&["-E", "-n", "sport", "=", ":47102"], Some(vec![udp6])),
        (
            &["-E", "-n", "dport", "=", ":47100", "or", "src", "[::1]"],
            Some(vec![client, udp6, listener6]),
        ),
        (
            &[
                "-E",
                "-t",
                "-n",
                "(",
                "sport",
                ">",
                ":47100",
                "and",
                "not",
                "dst",
                "127.0.0.1",
                ")",
            ],
            Some(vec![listener6]),
        ),
        (
            &["-E", "-4", "-u", "-n", "dst", "127.0.0.1"],
            Some(vec![udp4]),
        ),
        (&["-E", "-x"], None),
        (&["-E", "-w"], None),
    ];
    let mut failures = Vec::new();
    for (args, expected) in cases {
        let ns = Ns::new("j");
        let ns_ino = std::fs::metadata(format!("/run/netns/{}", ns.0))
            .unwrap()
            .ino();
        let spawn = |mut c: Command| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut ss = ns.cmd("stdbuf");
        ss.args(["-oL", "ss"]).args(args);
        let mut ours = ns.cmd(rss());
        ours.arg("--json").args(args);
        let mut children = [spawn(ss), spawn(ours)];
        let rx: Vec<_> = children.iter_mut().map(lines_of).collect();
        let Some(expected) = expected else {
            for child in children {
                let out = child.wait_with_output().unwrap();
                assert_eq!(out.status.code(), Some(255), "{args:?}: {out:?}");
                assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
            }
            for r in &rx {
                assert_eq!(r.iter().count(), 0, "{args:?} wrote a line");
            }
            continue;
        };
        let pids = children.each_ref().map(|c| c.id());
        wait_until(&format!("{args:?}: both tools subscribed"), || {
            all_subscribed(pids[0], ns_ino, &pids)
        });
        let st = ns
            .cmd("python3")
            .args(["-c", EVENT_SCENE, &B.to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "the scene failed");
        // Read while the tools run: ss's header and a row per event, rss's lines.
        let mut seen: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let rows = |lines: &[String]| {
            lines
                .iter()
                .filter(|l| !l.starts_with([' ', '\t']) && !l.contains("Address:Port"))
                .count()
        };
        for (i, r) in rx.iter().enumerate() {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while rows(&seen[i]) < expected.len() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match r.recv_timeout(left) {
                    Ok(line) => seen[i].push(line),
                    Err(_) => panic!("{args:?}: tool {i} wrote only {:?}", seen[i]),
                }
            }
        }
        for (child, pid) in children.iter_mut().zip(pids) {
            kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
            let status = child.wait().unwrap();
            assert_eq!(status.signal(), Some(libc::SIGINT), "{args:?}: {status:?}");
        }
        for (i, r) in rx.iter().enumerate() {
            seen[i].extend(r.iter());
        }
        let (mut text_rows, netid) = ss_event_rows(&seen[0].join("\n"));
        let mut json_rows: Vec<EventKey> = seen[1]
            .iter()
            .map(|line| {
                let v = json_support::parse_checked(line, &schema);
                assert_eq!(v["socket"]["processes"], serde_json::json!([]), "{line}");
                assert!(v["socket"]["uid"].is_null(), "{line}");
                json_event_row(&v, netid)
            })
            .collect();
        text_rows.sort();
        json_rows.sort();
        let mut ports: Vec<(String, u16, u16)> = json_rows
            .iter()
            .map(|r| (r.0.clone().unwrap_or_default(), r.2 .1, r.3 .1))
            .collect();
        let mut want: Vec<(String, u16, u16)> = expected
            .iter()
            .map(|&(n, l, p)| {
                (
                    if netid[0] {
                        n.to_string()
                    } else {
                        String::new()
                    },
                    l,
                    p,
                )
            })
            .collect();
        ports.sort();
        want.sort();
        if text_rows != json_rows || ports != want {
            failures.push(format!(
                "{args:?}\n--- ss\n{}\n--- rss --json\n{}",
                seen[0].join("\n"),
                seen[1].join("\n")
            ));
        }
        if args.contains(&"-e") {
            assert!(json_rows.iter().all(|r| r.4.is_some()), "{json_rows:?}");
            assert!(json_rows.iter().any(|r| r.5.is_some()), "{json_rows:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// -E --all-netns (text and JSON), run in the test's own namespace, follows two
/// namespaces the test makes while ss -N watches each of them: the rows under each
/// `Netns: NAME` line are ss's rows of that namespace field for field, and the JSON
/// lines naming that namespace are the same events. Events of other namespaces on
/// the machine (other tests) are left aside by namespace.
#[test]
fn events_of_every_namespace_are_each_namespaces_ss_rows() {
    if skip("events_of_every_namespace_are_each_namespaces_ss_rows") {
        return;
    }
    if !ss_support::have("stdbuf") {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "stdbuf missing");
        eprintln!("SKIPPED: stdbuf missing");
        return;
    }
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::os::unix::fs::MetadataExt;
    let schema = json_support::schema();
    let spaces = [Ns::new("a"), Ns::new("b")];
    let inodes = spaces.each_ref().map(|ns| {
        std::fs::metadata(format!("/run/netns/{}", ns.0))
            .unwrap()
            .ino()
    });
    let spawn = |mut c: Command| {
        c.stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut tools = Vec::new();
    for ns in &spaces {
        let mut ss = Command::new("stdbuf");
        ss.args(["-oL", "ss", "-N", &ns.0, "-E", "-n"]);
        tools.push(spawn(ss));
    }
    for json in [false, true] {
        let mut ours = Command::new(rss());
        ours.args(["-E", "-n", "--all-netns"]);
        if json {
            ours.arg("--json");
        }
        tools.push(spawn(ours));
    }
    let rx: Vec<_> = tools.iter_mut().map(lines_of).collect();
    // ss, rss and rss --json: three event sockets in each namespace.
    let ss_pids = [tools[0].id(), tools[1].id()];
    wait_until("every tool subscribed in both namespaces", || {
        (0..2).all(|i| {
            let mine = [ss_pids[i], tools[2].id(), tools[3].id()];
            all_subscribed(ss_pids[i], inodes[i], &mine)
        })
    });
    for (i, ns) in spaces.iter().enumerate() {
        let base = (B + 20 * i as u16).to_string();
        let st = ns
            .cmd("python3")
            .args(["-c", EVENT_SCENE, &base])
            .status()
            .unwrap();
        assert!(st.success(), "the scene failed");
    }
    // Each scene closes 7 inet sockets: ss's header and rows, then rss's.
    let mut seen: [Vec<String>; 2] = Default::default();
    let mut text = Labelled::default();
    let mut json: Vec<serde_json::Value> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Each line looked at once (other tests' namespaces may flood rss's output).
    let take = |i: usize,
                line: String,
                seen: &mut [Vec<String>; 2],
                text: &mut Labelled,
                json: &mut Vec<serde_json::Value>| match i {
        0 | 1 => seen[i].push(line),
        2 => text.push(&line),
        _ => {
            let v = json_support::parse_checked(&line, &schema);
            if inodes.iter().any(|i| v["namespace"]["inode"] == *i) {
                json.push(v);
            }
        }
    };
    let of = |json: &[serde_json::Value], ns: usize| {
        json.iter()
            .filter(|v| v["namespace"]["inode"] == inodes[ns])
            .count()
    };
    for (i, r) in rx.iter().enumerate() {
        loop {
            let done = match i {
                0 | 1 => ss_rows(&seen[i]).len() >= 7,
                2 => spaces.iter().all(|ns| text.under(&ns.0).len() >= 7),
                _ => of(&json, 0) >= 7 && of(&json, 1) >= 7,
            };
            if done {
                break;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match r.recv_timeout(left) {
                Ok(line) => take(i, line, &mut seen, &mut text, &mut json),
                Err(_) => panic!(
                    "tool {i} did not write them all: {seen:?} {:?} {json:?}",
                    text.rows
                ),
            }
        }
    }
    for tool in &mut tools {
        kill(Pid::from_raw(tool.id() as i32), Signal::SIGINT).unwrap();
        tool.wait().unwrap();
    }
    for (i, r) in rx.iter().enumerate() {
        for line in r.iter() {
            take(i, line, &mut seen, &mut text, &mut json);
        }
    }
    for ns in 0..2 {
        // Text: the rows under this namespace's Netns lines, as ss printed them.
        // The fields: a row rendered with the header (the first of a run) is padded
        // to it, and rss's first row may be another namespace's.
        assert_eq!(
            text.under(&spaces[ns].0),
            ss_rows(&seen[ns]),
            "{}",
            spaces[ns].0
        );
        // JSON: the same events, each line naming the namespace.
        let (mut keys, columns) = ss_event_rows(&seen[ns].join("\n"));
        let mut json: Vec<EventKey> = json
            .iter()
            .filter(|v| v["namespace"]["inode"] == inodes[ns])
            .map(|v| {
                assert_eq!(v["socket"]["netns"], inodes[ns], "{v}");
                assert_eq!(v["namespace"]["name"], spaces[ns].0.as_str(), "{v}");
                json_event_row(v, columns)
            })
            .collect();
        keys.sort();
        json.sort();
        assert_eq!(keys.len(), 7);
        assert_eq!(json, keys);
    }
}

/// ss -E's rows (the header left out), each as its words joined by one blank, sorted.
fn ss_rows(lines: &[String]) -> Vec<String> {
    let mut rows: Vec<String> = lines
        .iter()
        .filter(|l| !l.contains("Address:Port"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    rows.sort();
    rows
}

/// rss -E --all-netns's text, read as it comes: the rows under each `Netns: LABEL`
/// line (the header left out), by label. Other tests' namespaces show up too: each
/// line is looked at once, so a flood of theirs costs no more than reading it.
#[derive(Default)]
struct Labelled {
    label: String,
    rows: std::collections::HashMap<String, Vec<String>>,
}

impl Labelled {
    fn push(&mut self, line: &str) {
        if let Some(label) = line.strip_prefix("Netns: ") {
            self.label = label.to_string();
        } else if !line.contains("Address:Port") {
            let row = line.split_whitespace().collect::<Vec<_>>().join(" ");
            self.rows.entry(self.label.clone()).or_default().push(row);
        }
    }

    /// The rows under `label`, as [`ss_rows`] has them.
    fn under(&self, label: &str) -> Vec<String> {
        ss_rows(self.rows.get(label).map_or(&[][..], |r| &r[..]))
    }
}

/// A namespace made while rss runs: named by `ip netns add` (no process inside
/// until rss follows it), or held only by a process `unshare --net` started.
enum Later {
    Named(Ns),
    Unshared(KillOnDrop),
}

impl Later {
    fn unshared() -> Later {
        let holder = "import sys\nprint('ready', flush=True)\nsys.stdin.read()\n";
        let mut child = Command::new("unshare")
            .args([
                "--net",
                "sh",
                "-c",
                "ip link set lo up && exec python3 -c \"$0\"",
            ])
            .arg(holder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let holder = KillOnDrop(child);
        assert!(line.starts_with("ready"), "the holder said {line:?}");
        Later::Unshared(holder)
    }

    /// The namespace's file.
    fn file(&self) -> String {
        match self {
            Later::Named(ns) => format!("/run/netns/{}", ns.0),
            Later::Unshared(holder) => format!("/proc/{}/ns/net", holder.0.id()),
        }
    }

    /// `program` run inside.
    fn cmd(&self, program: &str) -> Command {
        match self {
            Later::Named(ns) => ns.cmd(program),
            Later::Unshared(_) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", self.file())).arg(program);
                c
            }
        }
    }
}

/// -E --all-netns (text and JSON) follows namespaces made after it started: one
/// `ip netns add` names (found in /run/netns: no process is inside when rss
/// subscribes there) and one only an `unshare --net` process holds (found through
/// /proc/PID/ns/net). In each, ss -E watches too while the scene closes its sockets:
/// rss's rows under the namespace's `Netns:` line are ss's, and its JSON lines are
/// the same events, naming the namespace. Once the namespace is gone (`ip netns
/// del`, the holder ended), rss closes its event socket there, so it does not keep
/// the namespace alive, and goes on.
#[test]
fn events_of_namespaces_made_later_are_followed() {
    if skip("events_of_namespaces_made_later_are_followed") {
        return;
    }
    if !ss_support::have("stdbuf") {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "stdbuf missing");
        eprintln!("SKIPPED: stdbuf missing");
        return;
    }
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::os::unix::fs::MetadataExt;
    let schema = json_support::schema();
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    let mut tools: Vec<KillOnDrop> = [false, true]
        .map(|json| {
            let mut ours = Command::new(rss());
            ours.args(["-E", "-n", "--all-netns"]);
            if json {
                ours.arg("--json");
            }
            let child = ours
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            KillOnDrop(child)
        })
        .into();
    let rx: Vec<_> = tools.iter_mut().map(|t| lines_of(&mut t.0)).collect();
    let pids = [tools[0].0.id(), tools[1].0.id()];
    // Both have started following (the namespaces there were) before any is made.
    wait_until("rss subscribed in its own namespace", || {
        all_subscribed(std::process::id(), own, &pids)
    });
    // rss's text, read across both namespaces (the line naming a namespace may come
    // before the rows of the next).
    let mut text = Labelled::default();
    for unshared in [false, true] {
        let later = if unshared {
            Later::unshared()
        } else {
            Later::Named(Ns::new("later"))
        };
        let file = later.file();
        let inode = std::fs::metadata(&file).unwrap().ino();
        let label = match &later {
            Later::Named(ns) => ns.0.clone(),
            Later::Unshared(_) => format!("net:[{inode}]"),
        };
        wait_until(&format!("rss followed {label}"), || {
            let there = followers_at(&file);
            pids.iter().all(|p| there.iter().any(|f| f.portid == *p))
        });
        let sockets: Vec<u64> = followers_at(&file)
            .iter()
            .filter(|f| pids.contains(&f.portid))
            .map(|f| f.inode)
            .collect();
        let mut ss = later.cmd("stdbuf");
        ss.args(["-oL", "ss", "-E", "-n"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut ss = KillOnDrop(ss.spawn().unwrap());
        let ss_rx = lines_of(&mut ss.0);
        let ss_pid = ss.0.id();
        wait_until(&format!("ss followed {label}"), || {
            followers_at(&file).iter().any(|f| f.portid == ss_pid)
        });
        // The kernel hands a freed namespace's inode to the next one made: rows of
        // another test's namespace gone may carry this one's label or inode, never
        // the scene's ports (its sockets' local ports are base..base+5).
        let base = B + if unshared { 50 } else { 40 };
        let scene = |port: u16| (base..base + 6).contains(&port);
        let scene_rows = |rows: Vec<String>| -> Vec<String> {
            rows.into_iter()
                .filter(|r| {
                    let local = r.split_whitespace().find(|w| w.contains(':'));
                    local.is_some_and(|l| scene(ss_endpoint(l).1))
                })
                .collect()
        };
        let st = later
            .cmd("python3")
            .args(["-c", EVENT_SCENE, &base.to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "the scene failed in {label}");
        // 7 inet sockets closed: ss's header and rows, rss's rows and JSON lines.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut from_ss = Vec::new();
        while ss_rows(&from_ss).len() < 7 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match ss_rx.recv_timeout(left) {
                Ok(line) => from_ss.push(line),
                Err(_) => panic!("{label}: ss wrote only {from_ss:?}"),
            }
        }
        // Each line looked at once (other tests' namespaces may flood rss's output).
        let mut json = Vec::new();
        while scene_rows(text.under(&label)).len() < 7 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx[0].recv_timeout(left) {
                Ok(line) => text.push(&line),
                Err(_) => panic!("{label}: rss wrote only {:?}", text.rows.get(&label)),
            }
        }
        while json.len() < 7 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx[1].recv_timeout(left) {
                Ok(line) => {
                    let v = json_support::parse_checked(&line, &schema);
                    let port = v["socket"]["local_port"].as_u64().unwrap_or(0) as u16;
                    if v["namespace"]["inode"] == inode && scene(port) {
                        json.push(v);
                    }
                }
                Err(_) => panic!("{label}: rss --json wrote only {json:?}"),
            }
        }
        kill(Pid::from_raw(ss_pid as i32), Signal::SIGINT).unwrap();
        drop(ss);
        from_ss.extend(ss_rx.iter());
        // The text rows are ss's; the first row under the label may be padded to the
        // header rss printed before another namespace's row: words are compared.
        assert_eq!(
            scene_rows(text.under(&label)),
            scene_rows(ss_rows(&from_ss))
        );
        let (mut keys, columns) = ss_event_rows(&from_ss.join("\n"));
        let mut json: Vec<EventKey> = json
            .iter()
            .map(|v| {
                assert_eq!(v["socket"]["netns"], inode, "{v}");
                match &later {
                    Later::Named(ns) => assert_eq!(v["namespace"]["name"], ns.0.as_str()),
                    Later::Unshared(_) => assert!(v["namespace"]["name"].is_null(), "{v}"),
                }
                json_event_row(v, columns)
            })
            .collect();
        keys.sort();
        json.sort();
        assert_eq!(keys.len(), 7, "{from_ss:?}");
        assert_eq!(json, keys, "{label}");
        // Gone: rss lets go of the namespace (its event sockets closed).
        drop(later);
        wait_until(&format!("rss closed its event sockets of {label}"), || {
            pids.iter().all(|pid| {
                let held = socket_inodes(*pid);
                sockets.iter().all(|s| !held.contains(s))
            })
        });
    }
    for (i, tool) in tools.iter_mut().enumerate() {
        assert!(tool.0.try_wait().unwrap().is_none(), "rss {i} ended");
    }
}

/// The socket inodes among the descriptors of `pid`.
fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// More destroyed sockets than a stopped follower's queue holds: the kernel drops
/// events (ENOBUFS) and ss ends with its message and 255, printing nothing of what
/// was queued. rss ends the same way, text and JSON (whose last line says `lost`);
/// rss --all-netns (watching from the test's namespace) says which namespace lost
/// events and goes on following it.
#[test]
fn events_lost_to_a_full_queue_end_as_ss_ends() {
    if skip("events_lost_to_a_full_queue_end_as_ss_ends") {
        return;
    }
    if !ss_support::have("stdbuf") {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "stdbuf missing");
        eprintln!("SKIPPED: stdbuf missing");
        return;
    }
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::os::unix::fs::MetadataExt;
    let ns = Ns::new("o");
    let ns_ino = std::fs::metadata(format!("/run/netns/{}", ns.0))
        .unwrap()
        .ino();
    let mut ss = ns.cmd("stdbuf");
    ss.args(["-oL", "ss", "-E", "-n", "-t"]);
    let mut text = ns.cmd(rss());
    text.args(["-E", "-n", "-t"]);
    let mut json = ns.cmd(rss());
    json.args(["-E", "-n", "-t", "--json"]);
    let mut all = Command::new(rss());
    all.args(["-E", "-n", "-t", "--json", "--all-netns"]);
    let mut tools: Vec<Child> = [ss, text, json, all]
        .into_iter()
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut all = tools.pop().unwrap();
    // Read from the start: a full pipe would stop it from draining its queue.
    let rx = lines_of(&mut all);
    let pids: Vec<Pid> = tools
        .iter()
        .chain([&all])
        .map(|c| Pid::from_raw(c.id() as i32))
        .collect();
    let mine: Vec<u32> = pids.iter().map(|p| p.as_raw() as u32).collect();
    wait_until("every tool subscribed", || {
        all_subscribed(mine[0], ns_ino, &mine)
    });
    for &pid in &pids {
        kill(pid, Signal::SIGSTOP).unwrap();
    }
    wait_until("every tool stopped", || {
        pids.iter().all(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T'))
        })
    });
    // A TCP event (with its tcp_info) takes about 1.3 kB of queue: 6000 are far more
    // than 1 MiB (2 MiB as the kernel counts).
    let burst = "import socket\nfor i in range(6000):\n    socket.socket().close()\n";
    let st = ns.cmd("python3").args(["-c", burst]).status().unwrap();
    assert!(st.success());
    // The kernel broadcasts from a work queue, maybe after python ended: wait until
    // it dropped events for each of them (the Drops column of /proc/net/netlink).
    wait_until("the kernel dropped events for every tool", || {
        let there = followers_of(mine[0], ns_ino, &mine);
        there.len() == 4 && there.iter().all(|f| f.drops > 0)
    });
    for &pid in &pids {
        kill(pid, Signal::SIGCONT).unwrap();
    }
    // They end by themselves; the watchdog only keeps a broken tool from hanging the test.
    let ended = pids[..3].to_vec();
    let watchdog = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if ended.iter().all(|&p| kill(p, None).is_err()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        for p in ended {
            let _ = kill(p, Signal::SIGKILL);
        }
    });
    let outs: Vec<_> = tools
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    watchdog.join().unwrap();
    let message = "netlink receive error No buffer space available (105)";
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.status.code(), Some(255), "tool {i}: {:?}", out.status);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("{message}\n"),
            "tool {i}"
        );
    }
    assert_eq!(outs[1].stdout, outs[0].stdout, "rss -E's text is ss's");
    let schema = json_support::schema();
    let lines: Vec<serde_json::Value> = String::from_utf8(outs[2].stdout.clone())
        .unwrap()
        .lines()
        .map(|l| json_support::parse_checked(l, &schema))
        .collect();
    assert_eq!(lines.len(), 1, "only the loss: {lines:?}");
    assert_eq!(lines[0]["event"], "lost");
    assert!(lines[0]["socket"].is_null());
    assert_eq!(lines[0]["namespace"]["inode"], ns_ino);

    // --all-netns: the loss of this namespace said, then a socket closed afterwards.
    // Other tests' namespaces may lose events too: this one's loss is said.
    let err = all.stderr.take().unwrap();
    let ours = format!("{}: {message}", ns.0);
    let mut err = BufReader::new(err).lines().map_while(Result::ok);
    assert!(err.any(|l| l == ours), "{ours}");
    // The kernel drops everything until the queue drained once: wait for that (seen
    // from a process in the namespace).
    let probe = KillOnDrop(ns.cmd("sleep").arg("60").spawn().unwrap());
    wait_until("--all-netns read what was queued", || {
        followers_of(probe.0.id(), ns_ino, &[all.id()])
            .iter()
            .any(|f| f.queued == 0)
    });
    let last = format!(
        "import socket\ns = socket.socket(); s.bind(('127.0.0.1', {})); s.close()\n",
        B + 7
    );
    let st = ns.cmd("python3").args(["-c", &last]).status().unwrap();
    assert!(st.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut mine = Vec::new();
    while !mine
        .iter()
        .any(|v: &serde_json::Value| v["socket"]["local_port"] == B + 7)
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("--all-netns did not go on: {mine:?}"));
        let v = json_support::parse_checked(&line, &schema);
        if v["namespace"]["inode"] == ns_ino {
            mine.push(v);
        }
    }
    kill(Pid::from_raw(all.id() as i32), Signal::SIGINT).unwrap();
    all.wait().unwrap();
    let lost: Vec<_> = mine.iter().filter(|v| v["event"] == "lost").collect();
    assert_eq!(lost.len(), 1, "{mine:?}");
    assert!(
        mine[0]["event"] == "lost",
        "the loss before what follows it"
    );
}

/// A child killed and reaped when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
