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
/// widths included), stderr and the exit status. A timer's remaining time
/// (`timer:(timewait,58sec,0)` on a TIME-WAIT row with -e or -o) counts down
/// between the two runs, so it is compared as [`timers_agree`] says rather than by
/// its text. A difference is looked at again (3 attempts in all): a packet socket's
/// queue or a TIME-WAIT's expiry (the row goes) can change the kernel's tables
/// between the two runs.
pub fn compare(scene: &Scene, args: &[&str]) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..3 {
        scene.quiesce();
        let start = std::time::Instant::now();
        let ss = scene.run("ss", args);
        scene.quiesce();
        let ours = scene.run(rss(), args);
        let elapsed = start.elapsed();
        let (a, b) = (ss.comparable(), ours.comparable());
        let why = match timers_agree(&a.0, &b.0, elapsed) {
            Ok(()) if a.1 == b.1 && a.2 == b.2 => return Ok(()),
            Ok(()) => "stderr or status".to_string(),
            Err(why) => why,
        };
        last = format!(
            "rss {args:?} differs from ss ({why})\n--- ss ({:?}) stderr: {:?}\n{}\n--- rss ({:?}) stderr: {:?}\n{}\n",
            a.2, a.1, a.0, b.2, b.1, b.0
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Err(last)
}

/// Whether `ours`, printed by a run that ended at most `elapsed` after `theirs`'
/// run began, is `theirs` with each timer's remaining time counted down:
/// - the texts are the same with every timer value taken out;
/// - each timer has the same name and retransmit count in both, and our value is
///   one ss's printer could print (`58sec`, `9.123ms`, `1min30sec`, ...), no later
///   than theirs and no earlier than theirs less `elapsed` (plus a few jiffies for
///   the kernel's clock), each value read as the milliseconds its text stands for;
/// - when every value has the same width the texts match byte for byte; a value
///   that changed width (`10sec` -> `9.998ms`) changes that row's padding (and the
///   last column's width), so then the lines are compared without trailing spaces.
///
/// Byte-identical texts agree whatever `elapsed` is.
pub fn timers_agree(theirs: &str, ours: &str, elapsed: std::time::Duration) -> Result<(), String> {
    if theirs == ours {
        return Ok(());
    }
    let (t_text, t_timers) = take_timers(theirs);
    let (o_text, o_timers) = take_timers(ours);
    if t_timers.is_empty() && o_timers.is_empty() {
        return Err("text".into());
    }
    if t_timers.len() != o_timers.len() {
        return Err(format!("{} timers, ss {}", o_timers.len(), t_timers.len()));
    }
    // The kernel's timers tick in jiffies (HZ >= 100): its value may be one jiffy off
    // either way.
    const SLACK_MS: u64 = 20;
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let mut same_widths = true;
    for (t, o) in t_timers.iter().zip(&o_timers) {
        if t.0 != o.0 || t.2 != o.2 {
            return Err(format!("timer {o:?}, ss {t:?}"));
        }
        let (Some((t_lo, t_hi)), Some((o_lo, o_hi))) = (timer_ms(&t.1), timer_ms(&o.1)) else {
            return Err(format!("timer value {:?}, ss {:?}", o.1, t.1));
        };
        // Ours was read later: some value in our interval is within
        // [theirs - elapsed - slack, theirs + slack] for some value in theirs.
        if o_lo > t_hi + SLACK_MS || o_hi + elapsed_ms + SLACK_MS < t_lo {
            return Err(format!("timer {o:?}, ss {t:?}, {elapsed_ms} ms apart"));
        }
        same_widths &= t.1.len() == o.1.len();
    }
    let trim = |s: &str| s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    if o_text == t_text || (!same_widths && trim(&o_text) == trim(&t_text)) {
        Ok(())
    } else {
        Err("text besides the timers' values".into())
    }
}

/// The text with each `timer:(NAME,VALUE,RETRANS)`'s VALUE taken out, and the timers
/// (NAME, VALUE, RETRANS) in order.
fn take_timers(text: &str) -> (String, Vec<(String, String, String)>) {
    const KEY: &str = "timer:(";
    let mut out = String::new();
    let mut timers = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(KEY) {
        let (head, tail) = rest.split_at(i + KEY.len());
        out.push_str(head);
        rest = tail;
        let Some(close) = rest.find(')') else { break };
        let fields: Vec<&str> = rest[..close].split(',').collect();
        if let [name, value, retrans] = fields[..] {
            out.push_str(&format!("{name},#,{retrans}"));
            timers.push((name.to_string(), value.to_string(), retrans.to_string()));
        } else {
            out.push_str(&rest[..close]);
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    (out, timers)
}

/// The milliseconds (lowest, highest) a timer value as ss prints it can stand for,
/// or None when ss would not print it so. ss prints minutes, seconds and
/// milliseconds, dropping the milliseconds past a minute or at ten seconds and more,
/// and the seconds past nine minutes: `12min` is [720000, 779999], `58sec` is
/// [58000, 58999], `9.123ms` and `050ms` are exact, the empty text is 0.
pub fn timer_ms(text: &str) -> Option<(u64, u64)> {
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (minutes, rest) = match text.split_once("min") {
        Some((m, rest)) => (num(m)?, rest),
        None => (0, text),
    };
    let (secs, millis) = if let Some(s) = rest.strip_suffix("sec") {
        (num(s)?, 0)
    } else if let Some(ms) = rest.strip_suffix("ms") {
        match ms.split_once('.') {
            Some((s, ms)) => (num(s)?, num(ms)?),
            None => (0, num(ms)?),
        }
    } else if rest.is_empty() {
        (0, 0)
    } else {
        return None;
    };
    let lo = minutes
        .checked_mul(60_000)?
        .checked_add(secs * 1000 + millis)?;
    let hi = lo
        + match (minutes, secs) {
            (10.., _) => 59_999,
            (1.., _) | (_, 10..) => 999,
            _ => 0,
        };
    // Only the text ss prints for lo (so `90sec` or `5.5ms` is not a value).
    (ms_text(lo) == text).then_some((lo, hi))
}

/// ss's text for a timer of `ms` milliseconds (what [`timer_ms`] reads).
pub fn ms_text(ms: u64) -> String {
    let (minutes, mut secs, mut millis) = (ms / 60_000, ms / 1000 % 60, ms % 1000);
    let mut out = String::new();
    if minutes > 0 {
        millis = 0;
        out += &format!("{minutes}min");
        if minutes > 9 {
            secs = 0;
        }
    }
    if secs > 0 {
        if secs > 9 {
            millis = 0;
        }
        out += &format!("{secs}{}", if millis > 0 { "." } else { "sec" });
    }
    if millis > 0 {
        out += &format!("{millis:03}ms");
    }
    out
}

/// [`compare`] for many argument lists; all differences in one panic message.
pub fn compare_all(scene: &Scene, cases: &[&[&str]]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|args| compare(scene, args).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
