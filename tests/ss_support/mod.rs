//! rss's differential tests: a private network namespace whose every socket the test
//! made (tests/ss_support/scene.py), and `ss` and `rss` run in it with the same
//! arguments. Everything is torn down by Drop, also when a test fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every variable ss reads its sources from (PROC_ROOT, PROC_NET_*, ...): cleared
/// before a run that sets its own.
pub const SS_VARS: &[&str] = &[
    "PROC_ROOT",
    "PROC_NET_TCP",
    "PROC_NET_TCP6",
    "PROC_NET_UDP",
    "PROC_NET_UDP6",
    "PROC_NET_RAW",
    "PROC_NET_RAW6",
    "PROC_NET_UNIX",
    "PROC_NET_PACKET",
    "PROC_NET_NETLINK",
    "PROC_NET_SOCKSTAT",
    "PROC_NET_SOCKSTAT6",
    "PROC_NET_SNMP",
    "PROC_IP_LOCAL_PORT_RANGE",
    "TCPDIAG_FILE",
];

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why these tests cannot run here, if they cannot. Under CI=true that is a failure.
pub fn skip(test: &str) -> bool {
    let reason = if !is_root() {
        Some("needs root for a private network namespace")
    } else if !["ss", "ip", "unshare", "nsenter", "python3"]
        .iter()
        .all(|t| have(t))
    {
        Some("ss, ip, unshare, nsenter or python3 missing")
    } else {
        None
    };
    match reason {
        None => false,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: {why} (CI=true: a skipped test fails)")
        }
        Some(why) => {
            eprintln!("SKIPPED: {test}: {why}");
            true
        }
    }
}

pub fn rss() -> &'static str {
    env!("CARGO_BIN_EXE_rss")
}

/// The scene: an unshared network namespace (lo, veth v0/v1 with 192.0.2.1/24 and
/// 2001:db8::1/64 on v0) and scene.py holding the sockets, with two more holders.
pub struct Scene {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: PathBuf,
    /// The python process; its network namespace is the scene's.
    pub pid: u32,
    /// "sockets: used" once the scene is ready: the scene's own sockets.
    baseline: u64,
}

impl Scene {
    pub fn start() -> Scene {
        Scene::start_script("scene.py", "")
    }

    /// A scene held by `script` (in tests/ss_support, given the scene directory),
    /// `setup` (shell commands ending in `&&`) run after the links are up.
    pub fn start_script(script: &str, setup: &str) -> Scene {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rss-scene-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scene directory");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/ss_support")
            .join(script);
        let setup = format!(
            "ip link set lo up && ip link add v0 type veth peer name v1 \
             && ip addr add 192.0.2.1/24 dev v0 && ip -6 addr add 2001:db8::1/64 dev v0 nodad \
             && ip link set v0 up && ip link set v1 up && {setup} exec python3 \"$0\" \"$1\""
        );
        let mut child = Command::new("unshare")
            .args(["--net", "sh", "-c", &setup])
            .arg(&script)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare runs");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let mut scene = Scene {
            child,
            stdin,
            dir,
            pid: 0,
            baseline: 0,
        };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("scene output");
        let mut f = line.split_whitespace();
        assert_eq!(f.next(), Some("ready"), "scene did not start: {line:?}");
        scene.pid = f.next().and_then(|p| p.parse().ok()).expect("scene pid");
        scene.baseline = scene.sockets_used().unwrap_or(u64::MAX);
        scene
    }

    /// "sockets: used" of the scene's namespace, less the -E followers there (sock_diag
    /// sockets with groups joined): another test's `rss -E --all-netns` joins every
    /// namespace as it appears and stays while it runs.
    fn sockets_used(&self) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/net/sockstat", self.pid)).ok()?;
        let used: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("sockets: used "))
            .and_then(|n| n.trim().parse().ok())?;
        let netlink =
            std::fs::read_to_string(format!("/proc/{}/net/netlink", self.pid)).unwrap_or_default();
        let followers = netlink
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|r| r.len() > 3 && r[1] == "4" && r[3].chars().any(|c| c != '0'))
            .count() as u64;
        Some(used.saturating_sub(followers))
    }

    /// Waits (at most 2 s) until the sockets of the previous tool run are released:
    /// the kernel frees a closed netlink socket a little after its process exits, and
    /// `-s` counts it until then.
    pub fn quiesce(&self) {
        for _ in 0..100 {
            if self.sockets_used() <= Some(self.baseline) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// `tool args...` inside the scene's namespace.
    pub fn run(&self, tool: &str, args: &[&str]) -> Run {
        let child = Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.pid))
            .arg(tool)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nsenter runs");
        // nsenter with only --net execs the tool in place: this is the tool's pid.
        let pid = child.id();
        let out = child.wait_with_output().expect("tool output");
        Run {
            pid,
            scene: Some(self.pid),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: as_invoked_ss(tool, &out.stderr),
            status: out.status.code(),
        }
    }
}

/// getopt's messages name the program as invoked (argv[0]): `ss: invalid option` from
/// ss run as `ss`, `/path/to/rss: invalid option` from rss run by its path. The
/// comparison reads rss's as if it had been invoked as `ss`; tests/ss_diff.rs checks
/// the path itself.
fn as_invoked_ss(tool: &str, stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    if tool != rss() {
        return text.into_owned();
    }
    text.split_inclusive('\n')
        .map(
            |line| match line.strip_prefix(tool).and_then(|l| l.strip_prefix(':')) {
                Some(rest) => format!("ss:{rest}"),
                None => line.to_string(),
            },
        )
        .collect()
}

impl Drop for Scene {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `tool args...` in the test's own namespace.
pub fn run_here(tool: &str, args: &[&str]) -> Run {
    let child = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tool runs");
    let pid = child.id();
    let out = child.wait_with_output().expect("tool output");
    Run {
        pid,
        scene: None,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: as_invoked_ss(tool, &out.stderr),
        status: out.status.code(),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub pid: u32,
    /// In a scene: its python process, the one in the namespace whose sock_diag
    /// socket is the scene's own.
    pub scene: Option<u32>,
    pub stdout: String,
    pub stderr: String,
    pub status: Option<i32>,
}

impl Run {
    /// The output without the tool's own sockets, the rows that differ between two
    /// tools by nature: its sock_diag socket (`tcpdiag:ss/PID`, `4:PID` with -n) and,
    /// with -r, the unconnected unix stream socket ss leaves behind after asking
    /// rpcbind for RPC service names (the scene has no unnamed unconnected stream).
    /// In a scene, any other process's sock_diag socket goes too: `rss -E --all-netns`
    /// of another test joins every namespace as it appears, maybe between two runs.
    pub fn comparable(&self) -> (String, String, Option<i32>) {
        let pid = self.pid.to_string();
        let scene = self.scene.map(|p| p.to_string());
        let own = |line: &&str| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let diag = words.iter().any(|w| {
                w.rsplit_once(':').is_some_and(|(proto, port)| {
                    // `PID` or `NAME/PID`; `kernel` (port 0) is the kernel's.
                    let port = port.rsplit_once('/').map_or(port, |(_, p)| p);
                    let process = port.parse::<u32>().is_ok_and(|p| p != 0);
                    (proto == "tcpdiag" || proto == "4")
                        && process
                        && (port == pid || scene.as_ref().is_some_and(|s| port != s))
                })
            });
            let rpc_client = words.len() >= 6
                && words.windows(2).any(|w| w == ["u_str", "UNCONN"])
                && words[words.len() - 4..] == ["*", words[words.len() - 3], "*", "0"];
            diag || rpc_client
        };
        let stdout: Vec<String> = self
            .stdout
            .lines()
            .filter(|l| !own(l))
            .map(summary_tcp_line)
            .collect();
        (stdout.join("\n"), self.stderr.clone(), self.status)
    }
}

/// `-s`'s TCP line, `TCP:   X (estab E, closed C, orphaned O, timewait T)`, with X and
/// C (both counted from the kernel's TCP allocation counter, which is global: every
/// other process on the machine moves it) replaced by X - C, the sockets hashed in
/// this namespace.
fn summary_tcp_line(line: &str) -> String {
    let parse = || -> Option<String> {
        let rest = line.strip_prefix("TCP:   ")?;
        let (x, rest) = rest.split_once(" (estab ")?;
        let (e, rest) = rest.split_once(", closed ")?;
        let (c, rest) = rest.split_once(", orphaned ")?;
        let x: i64 = x.parse().ok()?;
        let c: i64 = c.parse().ok()?;
        Some(format!("TCP: hashed {} (estab {e}, orphaned {rest}", x - c))
    };
    parse().unwrap_or_else(|| line.to_string())
}

/// Runs ss and rss with `args` in the scene and compares stdout (byte for byte,
/// widths included), stderr and the exit status. A difference is looked at again
/// (3 attempts in all): a packet socket's queue or a TIME-WAIT's expiry can change
/// the kernel's tables between the two runs.
pub fn compare(scene: &Scene, args: &[&str]) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..3 {
        scene.quiesce();
        let ss = scene.run("ss", args);
        scene.quiesce();
        let ours = scene.run(rss(), args);
        let (a, b) = (ss.comparable(), ours.comparable());
        if a == b {
            return Ok(());
        }
        last = format!(
            "rss {args:?} differs from ss\n--- ss ({:?}) stderr: {:?}\n{}\n--- rss ({:?}) stderr: {:?}\n{}\n",
            a.2, a.1, a.0, b.2, b.1, b.0
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Err(last)
}

/// [`compare`] for many argument lists; all differences in one panic message.
pub fn compare_all(scene: &Scene, cases: &[&[&str]]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|args| compare(scene, args).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
