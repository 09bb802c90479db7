//! Shared helpers for the differential tests: locating the binaries, running
//! commands with a timeout, the Python socket fixture, filtering netstat output
//! down to the fixture's sockets, and readable line diffs.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Default time limit for one netstat/rnetstat run.
/// (Generous: on a machine with tens of thousands of sockets `netstat -p`
/// takes many seconds.)
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait for the fixture's `ready`: it may first have to wait for
/// another test process's fixture to exit (see sockets.py).
pub const FIXTURE_READY_TIMEOUT: Duration = Duration::from_secs(600);

/// The fixture script (see tests/support/sockets.py).
pub const FIXTURE_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/sockets.py");

/// Only one fixture at a time within a test binary: the raw-socket lines of
/// two fixtures would be indistinguishable. (Across processes the fixture
/// itself takes a file lock.)
static FIXTURE_LOCK: Mutex<()> = Mutex::new(());

/// The binary under test: `$RNETSTAT_UNDER_TEST`, else the crate's binary.
pub fn under_test() -> PathBuf {
    match std::env::var_os("RNETSTAT_UNDER_TEST") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_rnetstat")),
    }
}

/// Find an executable in `$PATH`, then in the usual system directories.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let system = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    path_dirs
        .into_iter()
        .chain(system.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The reference netstat, or `None` (after printing a SKIPPED notice).
pub fn reference_netstat(test: &str) -> Option<PathBuf> {
    let found = find_program("netstat");
    if found.is_none() {
        eprintln!("SKIPPED: {test}: netstat (net-tools) is not installed");
    }
    found
}

/// python3 for the fixture, or `None` (after printing a SKIPPED notice).
pub fn python3(test: &str) -> Option<PathBuf> {
    let found = find_program("python3");
    if found.is_none() {
        eprintln!("SKIPPED: {test}: python3 is not installed");
    }
    found
}

/// True when the binary under test is the reference netstat itself (harness
/// self-check mode: `RNETSTAT_UNDER_TEST=/usr/bin/netstat`).
pub fn under_test_is_reference() -> bool {
    match (find_program("netstat"), under_test()) {
        (Some(a), b) => match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// Result of one command run.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None` if the process had to be killed after the time limit.
    pub status: Option<ExitStatus>,
}

impl Output {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// "exit 0", "signal 13", "timed out".
    pub fn status_str(&self) -> String {
        describe_status(self.status)
    }
}

pub fn describe_status(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        None => "timed out (killed)".to_string(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => format!("{s:?}"),
        },
    }
}

/// A command for `program` that, as root, runs in a private mount namespace whose
/// /etc/resolv.conf names a closed loopback port: reverse lookups of addresses that are
/// not in /etc/hosts fail at once, the same way for netstat and rnetstat, and no query
/// leaves the machine.
fn resolver_isolated(program: &Path) -> Command {
    static RESOLV: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let resolv = RESOLV.get_or_init(|| {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if !root || find_program("unshare").is_none() {
            return None;
        }
        let path = std::env::temp_dir().join(format!("rnt-resolv-sockets-{}", std::process::id()));
        std::fs::write(
            &path,
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )
        .ok()?;
        Some(path)
    });
    match resolv {
        Some(resolv) => {
            let mut cmd = Command::new("unshare");
            cmd.args([
                "--mount",
                "sh",
                "-c",
                "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
            ])
            .arg(resolv)
            .arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Run `program args…` with stdin closed, capturing stdout/stderr; kill it
/// after `timeout`.
pub fn run_with_timeout<I, S>(program: &Path, args: I, timeout: Duration) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = resolver_isolated(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let out = read_all_in_thread(child.stdout.take());
    let err = read_all_in_thread(child.stderr.take());
    let status = wait_timeout(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    Output {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        status,
    }
}

/// [`run_with_timeout`] with [`RUN_TIMEOUT`].
pub fn run<I, S>(program: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_timeout(program, args, RUN_TIMEOUT)
}

pub fn read_all_in_thread<R: Read + Send + 'static>(r: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// Poll `child` until it exits or `timeout` passes (`None` = still running).
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            _ => return None,
        }
    }
}

/// Spawn a reader thread that forwards each stdout line (without the newline)
/// through a channel; the channel closes at EOF.
pub fn line_channel<R: Read + Send + 'static>(r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

// ---------------------------------------------------------------------------
// The socket fixture
// ---------------------------------------------------------------------------

/// A running `tests/support/sockets.py`; killed (and its temp dir removed)
/// on drop.
pub struct Fixture {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Every `key=value` line, in order.
    pub values: Vec<(String, String)>,
    /// Pid of the process holding the sockets.
    pub pid: u32,
    pub tcp_ports: BTreeSet<String>,
    pub udp_ports: BTreeSet<String>,
    /// Unix names as netstat shows them: path up to the first whitespace,
    /// abstract names with a leading `@`.
    pub unix_names: BTreeSet<String>,
    /// Socket inodes found in /proc/PID/fd.
    pub inodes: BTreeSet<u64>,
    _lock: MutexGuard<'static, ()>,
}

impl Fixture {
    /// Start the standard socket population.
    pub fn start(python: &Path) -> Fixture {
        Fixture::start_mode(python, None)
    }

    /// Start the fixture; `mode` is passed as its first argument (`hostile`).
    pub fn start_mode(python: &Path, mode: Option<&str>) -> Fixture {
        let lock = FIXTURE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut cmd = Command::new(python);
        cmd.arg(FIXTURE_SCRIPT);
        if let Some(m) = mode {
            cmd.arg(m);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start fixture {FIXTURE_SCRIPT}: {e}"));
        let stdin = child.stdin.take();
        let lines = line_channel(child.stdout.take().expect("fixture stdout is piped"));
        let mut fixture = Fixture {
            child,
            stdin,
            values: Vec::new(),
            pid: 0,
            tcp_ports: BTreeSet::new(),
            udp_ports: BTreeSet::new(),
            unix_names: BTreeSet::new(),
            inodes: BTreeSet::new(),
            _lock: lock,
        };
        let deadline = Instant::now() + FIXTURE_READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines.recv_timeout(left) {
                Ok(l) => l,
                Err(e) => panic!(
                    "fixture did not print `ready` ({e:?}); got {:?}",
                    fixture.values
                ),
            };
            if line == "ready" {
                break;
            }
            let Some((k, v)) = line.split_once('=') else {
                panic!("unexpected fixture output line {line:?}");
            };
            fixture.values.push((k.to_string(), v.to_string()));
        }
        for (k, v) in &fixture.values {
            match k.as_str() {
                "pid" => fixture.pid = v.parse().expect("fixture pid"),
                "tcp_port" => {
                    fixture.tcp_ports.insert(v.clone());
                }
                "udp_port" => {
                    fixture.udp_ports.insert(v.clone());
                }
                "unix_path" => {
                    let shown = v.split_whitespace().next().unwrap_or(v);
                    fixture.unix_names.insert(shown.to_string());
                }
                "abstract" => {
                    fixture.unix_names.insert(v.clone());
                }
                _ => {}
            }
        }
        assert!(fixture.pid != 0, "fixture printed no pid");
        fixture.inodes = socket_inodes(fixture.pid);
        fixture
    }

    /// First value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn has_raw(&self) -> bool {
        self.get("raw") == Some("available")
    }

    /// The lines of `output` describing the fixture's sockets, in order.
    pub fn lines(&self, output: &str) -> Vec<String> {
        output
            .lines()
            .filter(|l| self.owns_line(l))
            .map(str::to_string)
            .collect()
    }

    /// Does this netstat socket line describe one of the fixture's sockets?
    pub fn owns_line(&self, line: &str) -> bool {
        let toks: Vec<&str> = line.split_whitespace().collect();
        let Some(&proto) = toks.first() else {
            return false;
        };
        match proto {
            "unix" => self.owns_unix_line(line, &toks),
            // The fixture closes nothing, so a TIME_WAIT row on one of its ports is a
            // stranger's (an earlier connection that used the same port number).
            "tcp" | "tcp6" => {
                toks.get(5) != Some(&"TIME_WAIT") && inet_ports_match(&toks, &self.tcp_ports)
            }
            "udp" | "udp6" | "udpl" | "udpl6" => inet_ports_match(&toks, &self.udp_ports),
            "raw" | "raw6" => self.has_raw() && raw_line_matches(proto, &toks),
            _ => false,
        }
    }

    fn owns_unix_line(&self, line: &str, toks: &[&str]) -> bool {
        // `unix  2      [ ACC ]     STREAM     LISTENING     190379   [pid/prog]  path`
        // Flags contain spaces; after `]` come Type, optional State, I-Node.
        if let Some((_, rest)) = line.split_once(']') {
            let rest: Vec<&str> = rest.split_whitespace().collect();
            let inode = rest
                .iter()
                .skip(1)
                .take(2)
                .find_map(|t| t.parse::<u64>().ok());
            if inode.is_some_and(|i| self.inodes.contains(&i)) {
                return true;
            }
        }
        toks.iter().any(|t| self.unix_names.contains(*t))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Closing stdin makes the fixture clean up its temp dir and exit.
        drop(self.stdin.take());
        if wait_timeout(&mut self.child, Duration::from_secs(3)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Socket inodes held by `pid`, from the `socket:[N]` links in /proc/PID/fd.
pub fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let dir = format!("/proc/{pid}/fd");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {dir}: {e}"));
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Inet line: Proto Recv-Q Send-Q Local Foreign …; match the `:PORT` of the
/// Local column (fixture ports never have service names). Both ends of every
/// fixture connection belong to the fixture, so Local suffices; matching the
/// Foreign column too would pick up strangers' leftovers such as a TIME_WAIT
/// entry towards a port an earlier process used.
fn inet_ports_match(toks: &[&str], ports: &BTreeSet<String>) -> bool {
    toks.get(3)
        .and_then(|local| local.rsplit_once(':'))
        .is_some_and(|(_, port)| ports.contains(port))
}

/// The fixture's raw sockets are ICMP/ICMPv6 bound to loopback (not the
/// wildcard), which ordinary programs' raw sockets are not.
fn raw_line_matches(proto: &str, toks: &[&str]) -> bool {
    let Some((host, port)) = toks.get(3).and_then(|l| l.rsplit_once(':')) else {
        return false;
    };
    match proto {
        "raw" => matches!(port, "icmp" | "1") && host != "0.0.0.0",
        _ => matches!(port, "ipv6-icmp" | "58") && !matches!(host, "[::]" | "::" | ""),
    }
}

/// Section and column header lines (`Active …`, `Proto …`), in order.
pub fn header_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with("Active") || l.starts_with("Proto"))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// `Ok` if equal, else a readable unified-style diff (`-` = expected/netstat,
/// `+` = actual/rnetstat; lines shown quoted so trailing spaces and control
/// characters are visible).
pub fn compare_lines(what: &str, expected: &[String], actual: &[String]) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    const CONTEXT: usize = 2;
    let ops = diff(expected, actual);
    let changed: Vec<usize> = (0..ops.len())
        .filter(|&i| !matches!(ops[i], Diff::Same(_)))
        .collect();
    let near_change = |i: usize| changed.iter().any(|&c| c.abs_diff(i) <= CONTEXT);
    let mut msg = format!("{what} differ (- netstat, + rnetstat):\n");
    let mut skipped = 0;
    for (i, op) in ops.iter().enumerate() {
        if matches!(op, Diff::Same(_)) && !near_change(i) {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            let _ = writeln!(msg, "    ... {skipped} identical line(s)");
            skipped = 0;
        }
        let _ = match op {
            Diff::Same(l) => writeln!(msg, "    {l:?}"),
            Diff::Del(l) => writeln!(msg, "  - {l:?}"),
            Diff::Add(l) => writeln!(msg, "  + {l:?}"),
        };
    }
    if skipped > 0 {
        let _ = writeln!(msg, "    ... {skipped} identical line(s)");
    }
    Err(msg)
}

/// Panic with the diff if the two sides differ.
pub fn assert_same_lines(what: &str, expected: &[String], actual: &[String]) {
    if let Err(msg) = compare_lines(what, expected, actual) {
        panic!("{msg}");
    }
}

enum Diff<'a> {
    Same(&'a str),
    Del(&'a str),
    Add(&'a str),
}

/// Line diff via a longest-common-subsequence table (inputs are small).
fn diff<'a>(a: &'a [String], b: &'a [String]) -> Vec<Diff<'a>> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(Diff::Same(&a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(Diff::Del(&a[i]));
            i += 1;
        } else {
            out.push(Diff::Add(&b[j]));
            j += 1;
        }
    }
    out
}

/// How often a comparison is tried before it counts as a difference.
///
/// Reading /proc/net/tcp{,6} while other programs create and close many
/// sockets can return some lines twice (the kernel resumes each read() by
/// position in a changing hash table); netstat itself shows this too. A real
/// difference on the static fixture sockets shows up on every attempt.
pub const ATTEMPTS: usize = 3;

/// [`compare_runs`], retried up to [`ATTEMPTS`] times; the error is the last
/// attempt's.
pub fn compare_runs_retrying(
    fixture: &Fixture,
    reference: &Path,
    tested: &Path,
    prefix: Option<(&Path, &[&str])>,
    args: &[&str],
) -> Result<(), String> {
    let mut result = Ok(());
    for _ in 0..ATTEMPTS {
        result = compare_runs(fixture, reference, tested, prefix, args);
        if result.is_ok() {
            break;
        }
    }
    result.map_err(|e| format!("(differs on all {ATTEMPTS} attempts; last one shown)\n{e}"))
}

/// Run the reference and the binary under test with the same arguments
/// (optionally behind a `prefix` command such as setpriv) and compare exit
/// status, stderr, header lines and the fixture's lines.
pub fn compare_runs(
    fixture: &Fixture,
    reference: &Path,
    tested: &Path,
    prefix: Option<(&Path, &[&str])>,
    args: &[&str],
) -> Result<(), String> {
    let run_one = |bin: &Path| match prefix {
        Some((wrapper, pre)) => {
            let mut all: Vec<&OsStr> = pre.iter().map(OsStr::new).collect();
            all.push(bin.as_os_str());
            all.extend(args.iter().map(OsStr::new));
            run(wrapper, all)
        }
        None => run(bin, args),
    };
    let expected = run_one(reference);
    let actual = run_one(tested);
    let mut problems = Vec::new();
    if expected.status_str() != actual.status_str() {
        problems.push(format!(
            "exit status differs: netstat {}, rnetstat {}\n",
            expected.status_str(),
            actual.status_str()
        ));
    }
    // Both warn "warning, got bogus unix line." for each piece a newline in a unix
    // socket name breaks off. The fixture has no such name: the warning is about some
    // other process's socket (another test's hostile names) that can come or go between
    // the two runs, so it is left out on both sides (tests/hostile.rs checks it).
    // Messages carry the program's own name (`netstat: no support for ...`); the rest
    // of each line must match.
    let stderr_lines = |s: String, own_name: &str| {
        s.lines()
            .filter(|l| *l != "warning, got bogus unix line.")
            .map(|l| match l.strip_prefix(own_name) {
                Some(rest) => format!("rnetstat: {rest}"),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
    };
    let checks = [
        (
            "stderr lines",
            stderr_lines(expected.stderr_str(), "netstat: "),
            stderr_lines(actual.stderr_str(), "rnetstat: "),
        ),
        (
            "header lines",
            header_lines(&expected.stdout_str()),
            header_lines(&actual.stdout_str()),
        ),
        (
            "fixture socket lines",
            fixture.lines(&expected.stdout_str()),
            fixture.lines(&actual.stdout_str()),
        ),
    ];
    for (what, e, a) in checks {
        if let Err(msg) = compare_lines(what, &e, &a) {
            problems.push(msg);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join(""))
    }
}

/// Reports that a test cannot run here (missing tool, not root) and lets it return;
/// under `CI=true` the test fails instead, so CI never passes on a skipped test.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{test}: cannot run under CI=true: {why}");
    }
    eprintln!("SKIPPED: {test}: {why}");
}
