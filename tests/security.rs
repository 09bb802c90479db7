//! Issue 15, safe under attack: each finding reproduced as an attacker would, in
//! private namespaces and directories this test makes and removes.
//!
//! - a capture never writes through a directory someone else prepared, and is private;
//! - hostile --proc-root trees (symlinks to /dev/zero, FIFOs, devices, huge files)
//!   finish, in bounded memory, with a clear error;
//! - no thread to spare (pids cgroup full, RLIMIT_NPROC as nobody) is no panic, and
//!   the output is netstat's;
//! - an audit that could read no other process (hidepid=2, nobody) is not "clean";
//! - a capture cut short by a full disk is flagged by its readers;
//! - an interface with a non-UTF-8 name is in the capture;
//! - a unix path with a newline forges no row;
//! - a bind/close loop is not made to fail by the audit's port probe.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const RNETSTAT: &str = env!("CARGO_BIN_EXE_rnetstat");
const RLSOF: &str = env!("CARGO_BIN_EXE_rlsof");

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A test that cannot run here says so, and fails under CI=true.
fn skip(test: &str, why: &str) {
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{test} cannot run here (CI=true): {why}");
    }
    eprintln!("SKIPPED: {test}: {why}");
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `cmd` to its end, or kills it after `limit` (a hang is what some tests look
/// for: the limit is far above any normal run, not a timing assertion).
fn run_bounded(cmd: &mut Command, limit: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let out = child.stdout.take();
    let err = child.stderr.take();
    let read = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            // Everything is read (a reader that stops early would SIGPIPE the
            // program); only the first 64 MiB are kept.
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = std::io::copy(&mut (&mut r).take(64 << 20), &mut buf);
                let _ = std::io::copy(&mut r, &mut std::io::sink());
            }
            buf
        })
    };
    let out_t = read(out.map(|o| Box::new(o) as Box<dyn std::io::Read + Send>));
    let err_t = read(err.map(|e| Box::new(e) as Box<dyn std::io::Read + Send>));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {limit:?}: hangs"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

/// A run that ended by itself, without a panic or a signal.
fn assert_no_crash(what: &str, out: &Output) {
    let stderr = text(&out.stderr);
    assert!(
        out.status.code().is_some() && out.status.code() != Some(101),
        "{what}: {:?}\n{stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("rnt-sec-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A named network namespace with loopback up, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new(tag: &str) -> NetNs {
        let name = format!("rnt-sec-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        assert!(Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success());
        let ns = NetNs(name);
        assert!(ns
            .cmd(&["ip", "link", "set", "lo", "up"])
            .status()
            .unwrap()
            .success());
        ns
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A python process started by `cmd`, killed on drop; `ready` is its first line.
struct Holder {
    child: Child,
    ready: String,
}

impl Holder {
    fn start(mut cmd: Command) -> Holder {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut ready,
        )
        .unwrap();
        Holder {
            child,
            ready: ready.trim().to_string(),
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------
// 1. --capture DIR never writes through what another user prepared; it is private.

#[test]
fn capture_refuses_a_prepared_directory_and_is_private() {
    if !is_root() {
        return skip("capture_refuses_a_prepared_directory", "needs root");
    }
    let base = TempDir::new("plant");
    // The attacker's directory (world-writable, as /tmp is) with planted links.
    std::fs::set_permissions(&base.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let victim = base.0.join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let planted = base.0.join("cap");
    std::fs::create_dir_all(planted.join("proc/net")).unwrap();
    std::os::unix::fs::symlink(&victim, planted.join("proc/net/tcp")).unwrap();
    std::os::unix::fs::symlink(&victim, planted.join("manifest.json")).unwrap();
    let me = std::process::id();
    std::fs::create_dir_all(planted.join(format!("proc/{me}"))).unwrap();
    std::os::unix::fs::symlink(&victim, planted.join(format!("proc/{me}/cmdline"))).unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();

    let out = Command::new(RNETSTAT)
        .arg("--capture")
        .arg(&planted)
        .output()
        .unwrap();
    assert!(!out.status.success(), "an existing DIR was accepted");
    assert!(
        text(&out.stderr).contains("exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // A symlink in place of DIR is refused the same way.
    let link = base.0.join("link");
    std::os::unix::fs::symlink(base.0.join("elsewhere"), &link).unwrap();
    let out = Command::new(RNETSTAT)
        .arg("--capture")
        .arg(&link)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!base.0.join("elsewhere").exists());

    // A fresh DIR: created 0700, every file 0600, every directory 0700, all ours.
    let fresh = base.0.join("fresh");
    let out = Command::new(RNETSTAT)
        .arg("--capture")
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut files = 0;
    let mut stack = vec![fresh.clone()];
    while let Some(dir) = stack.pop() {
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o700, "{}", dir.display());
        assert_eq!(meta.uid(), 0);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            let kind = meta.file_type();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files += 1;
                assert_eq!(meta.mode() & 0o7777, 0o600, "{}", entry.path().display());
            } else {
                assert!(kind.is_symlink(), "{}", entry.path().display());
            }
        }
    }
    assert!(files > 10);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fresh.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["complete"], true);
    // Nobody can read it.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(fresh.join("manifest.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

// ---------------------------------------------------------------------------------
// 2. Hostile --proc-root trees: bounded, no hang, clear error.

/// What one file of a hostile tree is.
#[derive(Clone, Copy, Debug)]
enum Plant {
    Zero,
    Fifo,
    DevNull,
    Huge,
    Outside,
    Garbage(u8),
    Dir,
}

fn plant(path: &Path, what: Plant) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    match what {
        Plant::Zero => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
        Plant::Outside => std::os::unix::fs::symlink("/etc/hostname", path).unwrap(),
        // SAFETY: c is NUL-terminated.
        Plant::Fifo => assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0),
        // SAFETY: c is NUL-terminated; a character device 1:3 is /dev/null.
        Plant::DevNull => assert_eq!(
            unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 3)) },
            0
        ),
        Plant::Huge => {
            // Sparse: 1.5 GiB of zeros on no disk, no newline anywhere.
            let f = std::fs::File::create(path).unwrap();
            f.set_len(1536 << 20).unwrap();
        }
        Plant::Garbage(seed) => {
            let mut bytes: Vec<u8> = (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761).rotate_left(seed as u32 % 31) >> 7) as u8)
                .collect();
            bytes.extend_from_slice(b"\n0: 0100007F:0016 00000000:0000 0A\n");
            std::fs::write(path, bytes).unwrap();
        }
        Plant::Dir => std::fs::create_dir_all(path).unwrap(),
    }
}

const PID: &str = "4242";

/// Files the tools read below DIR/proc (and DIR/sys).
const TARGETS: &[&str] = &[
    "proc/net/tcp",
    "proc/net/tcp6",
    "proc/net/udp",
    "proc/net/unix",
    "proc/net/raw",
    "proc/net/arp",
    "proc/net/route",
    "proc/net/dev",
    "proc/net/snmp",
    "proc/net/netstat",
    "proc/net/igmp",
    "proc/net/packet",
    "proc/net/netlink",
    "proc/locks",
    "proc/4242/stat",
    "proc/4242/status",
    "proc/4242/maps",
    "proc/4242/comm",
    "proc/4242/cmdline",
    "proc/4242/fdinfo/0",
    "proc/4242/net/tcp",
    "sys/class/net/eth0/flags",
    "sys/class/net/eth0/mtu",
    "sys/class/net/eth0/address",
];

/// The runs a hostile tree gets: every reader, and a capture of it.
fn hostile_runs(dir: &Path, tag: &str) {
    let proc_root = dir.join("proc");
    let root = proc_root.to_str().unwrap();
    let capture = std::env::temp_dir().join(format!("rnt-sec-recap-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&capture);
    let runs: Vec<(&str, Vec<String>)> = vec![
        (RNETSTAT, vec!["-anpx".into()]),
        (RNETSTAT, vec!["-ie".into()]),
        (RNETSTAT, vec!["-s".into()]),
        (RNETSTAT, vec!["-rn".into()]),
        (RNETSTAT, vec!["--arp".into(), "-n".into()]),
        (RNETSTAT, vec!["-g".into()]),
        (RLSOF, vec!["-nP".into()]),
        (
            RNETSTAT,
            vec!["--capture".into(), capture.display().to_string()],
        ),
    ];
    for (bin, args) in runs {
        // 1 GiB of address space: the tools must not need more on any tree.
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--as={}", 1u64 << 30))
            .arg("--")
            .arg(bin)
            .arg("--proc-root")
            .arg(root)
            .args(&args);
        let what = format!("{tag}: {bin} {args:?}");
        let out = run_bounded(&mut cmd, Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_no_crash(&what, &out);
    }
    let _ = std::fs::remove_dir_all(&capture);
}

/// A small valid tree: one process with one socket, so the readers get past the start.
fn base_tree(dir: &Path) {
    let p = dir.join("proc");
    std::fs::create_dir_all(p.join("net")).unwrap();
    std::fs::create_dir_all(p.join(format!("{PID}/fd"))).unwrap();
    std::fs::create_dir_all(p.join(format!("{PID}/fdinfo"))).unwrap();
    std::fs::write(
        p.join("net/tcp"),
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n",
    )
    .unwrap();
    std::fs::write(p.join(format!("{PID}/comm")), "sshd\n").unwrap();
    std::fs::write(p.join(format!("{PID}/cmdline")), "sshd\0").unwrap();
    std::fs::write(
        p.join(format!("{PID}/stat")),
        format!("{PID} (sshd) S 1 {PID} {PID} 0 -1\n"),
    )
    .unwrap();
    std::fs::write(
        p.join(format!("{PID}/status")),
        "Name:\tsshd\nUid:\t0\t0\t0\t0\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("socket:[777]", p.join(format!("{PID}/fd/0"))).unwrap();
    std::fs::write(p.join(format!("{PID}/fdinfo/0")), "pos:\t0\nflags:\t02\n").unwrap();
    std::fs::create_dir_all(dir.join("sys/class/net/eth0")).unwrap();
}

#[test]
fn hostile_proc_trees_finish_with_a_clear_error() {
    if !is_root() || !have("prlimit") {
        return skip("hostile_proc_trees", "needs root (mknod) and prlimit");
    }
    let dir = TempDir::new("hostile");
    base_tree(&dir.0);
    for (i, t) in TARGETS.iter().enumerate() {
        let kind = [Plant::Zero, Plant::Fifo, Plant::DevNull, Plant::Huge][i % 4];
        plant(&dir.0.join(t), kind);
    }
    hostile_runs(&dir.0, "fixed");
    // The errors name the reason.
    plant(&dir.0.join("proc/net/tcp"), Plant::Zero);
    plant(&dir.0.join("proc/net/unix"), Plant::Fifo);
    let out = run_bounded(
        Command::new(RNETSTAT)
            .arg("--proc-root")
            .arg(dir.0.join("proc"))
            .arg("-ta"),
        Duration::from_secs(120),
    )
    .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("symbolic link"),
        "{}",
        text(&out.stderr)
    );
    let out = run_bounded(
        Command::new(RNETSTAT)
            .arg("--proc-root")
            .arg(dir.0.join("proc"))
            .arg("-xa"),
        Duration::from_secs(120),
    )
    .unwrap();
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn plant_strategy() -> impl Strategy<Value = Option<Plant>> {
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(Plant::Zero)),
            1 => Just(Some(Plant::Fifo)),
            1 => Just(Some(Plant::DevNull)),
            1 => Just(Some(Plant::Huge)),
            1 => Just(Some(Plant::Outside)),
            1 => Just(Some(Plant::Dir)),
            2 => any::<u8>().prop_map(|s| Some(Plant::Garbage(s))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]
        /// Random capture trees of symlinks, FIFOs, device nodes, huge and garbage
        /// files: never a hang, a panic or unbounded memory, reading or re-capturing.
        #[test]
        fn capture_trees_never_hang_or_panic(
            plants in proptest::collection::vec(plant_strategy(), TARGETS.len())
        ) {
            if !is_root() || !have("prlimit") {
                skip("capture_trees_never_hang_or_panic", "needs root (mknod) and prlimit");
                return Ok(());
            }
            let dir = TempDir::new("fuzz");
            base_tree(&dir.0);
            for (t, p) in TARGETS.iter().zip(&plants) {
                if let Some(p) = p {
                    plant(&dir.0.join(t), *p);
                }
            }
            hostile_runs(&dir.0, "fuzz");
        }
    }
}

// ---------------------------------------------------------------------------------
// 4. No thread can be started: no panic, and netstat's output.

const LISTENER: &str = r#"
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
c = socket.socket(); c.connect(l.getsockname()); s, _ = l.accept()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
print(l.getsockname()[1], flush=True)
sys.stdin.read()
"#;

/// A pids cgroup (v1) that admits one task: a process moved into it can start no
/// thread and no child. Removed on drop.
struct PidsCgroup(PathBuf);

impl PidsCgroup {
    fn new() -> Option<PidsCgroup> {
        let base = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
            .iter()
            .map(Path::new)
            .find(|b| {
                b.join("cgroup.procs").exists()
                    && (b.join("pids.max").exists() || b.join("tasks").exists())
            })?;
        let dir = base.join(format!("rnt-sec-{}", std::process::id()));
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).ok()?;
        let cg = PidsCgroup(dir);
        std::fs::write(cg.0.join("pids.max"), "1").ok()?;
        Some(cg)
    }

    /// `args` run as the only task the cgroup allows.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec \"$@\"",
                self.0.display()
            ))
            .arg("sh")
            .args(args);
        c
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        // The tasks have exited by now; the directory goes with the last one.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn no_thread_to_spare_is_no_panic() {
    if !is_root() || !have("netstat") || !have("python3") || !have("setpriv") || !have("prlimit") {
        return skip(
            "no_thread_to_spare_is_no_panic",
            "needs root, netstat, python3, setpriv, prlimit",
        );
    }
    let Some(cg) = PidsCgroup::new() else {
        return skip("no_thread_to_spare_is_no_panic", "no pids cgroup to make");
    };
    let ns = NetNs::new("thr");
    let holder = Holder::start(ns.cmd(&["python3", "-c", LISTENER]));
    let port = holder.ready.clone();
    assert!(port.parse::<u16>().is_ok(), "{port}");
    let limited = |args: &[&str]| {
        let mut full = vec!["ip", "netns", "exec", &ns.0];
        full.extend_from_slice(args);
        run_bounded(&mut cg.cmd(&full), Duration::from_secs(120)).unwrap()
    };
    // The reference works with no thread to spare; so must we, with the same lines.
    for args in [&["-an"][..], &["-anp"], &["-tan"], &["-xa"]] {
        let want = limited(&[&["netstat"][..], args].concat());
        let got = limited(&[&[RNETSTAT][..], args].concat());
        assert_no_crash(&format!("rnetstat {args:?}"), &got);
        assert_eq!(
            got.status.code(),
            want.status.code(),
            "{args:?}: {}",
            text(&got.stderr)
        );
        assert_eq!(text(&got.stdout), text(&want.stdout), "{args:?}");
    }
    for args in [
        &[RNETSTAT, "--all-netns", "-tan"][..],
        &[RNETSTAT, "--audit", "--no-probe"],
    ] {
        let got = limited(args);
        assert_no_crash(&format!("{args:?}"), &got);
    }
    // rss too (ss itself starts no thread).
    let got = limited(&[env!("CARGO_BIN_EXE_rss"), "-tanp"]);
    assert_no_crash("rss -tanp", &got);
    assert!(got.status.success(), "{}", text(&got.stderr));
    for args in [&[RLSOF, "-nP"][..], &[RLSOF, "-nP", "-i"]] {
        let got = limited(args);
        assert_no_crash(&format!("{args:?}"), &got);
        let out = text(&got.stdout);
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("127.0.0.1:{port} (LISTEN)"))),
            "{args:?}: {out}\n{}",
            text(&got.stderr)
        );
    }
    // As nobody, RLIMIT_NPROC 1 stops threads the same way.
    let as_nobody = |bin: &str, args: &[&str]| {
        let mut c = ns.cmd(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]);
        c.args(["prlimit", "--nproc=1", "--", bin]).args(args);
        run_bounded(&mut c, Duration::from_secs(120)).unwrap()
    };
    for args in [&["-an"][..], &["-tan"]] {
        let want = as_nobody("netstat", args);
        let got = as_nobody(RNETSTAT, args);
        assert_no_crash(&format!("nobody rnetstat {args:?}"), &got);
        assert_eq!(text(&got.stdout), text(&want.stdout), "{args:?}");
    }
    drop(holder);
}

// ---------------------------------------------------------------------------------
// 5. Silent partial answers.

#[test]
fn audit_that_reads_no_other_process_is_not_clean() {
    if !is_root() || !have("unshare") || !have("setpriv") {
        return skip("audit_hidepid", "needs root, unshare, setpriv");
    }
    // A private pid, mount and network namespace with a /proc mounted hidepid=2 and a
    // root process nobody may look at.
    let script = format!(
        "mount -t proc -o hidepid=2 proc /proc && ip link set lo up && \
         (sleep 600 & exec setpriv --reuid=65534 --regid=65534 --clear-groups {RNETSTAT} --audit --no-probe --json)"
    );
    let out = run_bounded(
        Command::new("unshare").args([
            "--mount",
            "--pid",
            "--net",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            &script,
        ]),
        Duration::from_secs(120),
    )
    .unwrap();
    assert_no_crash("hidepid audit", &out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(json["clean"], false, "{json}");
    assert!(json["findings"].as_array().unwrap().is_empty(), "{json}");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("incomplete"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_capture_cut_short_is_flagged_by_its_readers() {
    if !is_root() || !have("unshare") {
        return skip("capture_cut_short", "needs root and unshare");
    }
    let mnt = TempDir::new("full");
    // A 64 KiB tmpfs in a private mount namespace: the capture runs out of space.
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs {m} && {RNETSTAT} --capture {m}/cap; echo capture=$?; \
         {RNETSTAT} --proc-root {m}/cap/proc -tan; echo read=$?",
        m = mnt.0.display()
    );
    let out = run_bounded(
        Command::new("unshare").args(["--mount", "sh", "-c", &script]),
        Duration::from_secs(120),
    )
    .unwrap();
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(stdout.contains("capture=1"), "{stdout}\n{stderr}");
    assert!(stdout.contains("read=1"), "{stdout}\n{stderr}");
    assert!(stderr.contains("cut short"), "{stderr}");
}

#[test]
fn a_non_utf8_interface_name_is_captured() {
    if !is_root() {
        return skip("non_utf8_interface", "needs root");
    }
    let ns = NetNs::new("ifname");
    let name = OsStr::from_bytes(b"v\xff0");
    let ok = Command::new("ip")
        .args(["-n", &ns.0, "link", "add", "name"])
        .arg(name)
        .args(["type", "veth", "peer", "name", "p0"])
        .status()
        .unwrap();
    assert!(ok.success());
    let dir = TempDir::new("ifcap");
    let cap = dir.0.join("cap");
    let out = ns.cmd(&[RNETSTAT, "--capture"]).arg(&cap).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let captured = cap.join("sys/class/net").join(name);
    assert!(captured.join("flags").is_file(), "{}", captured.display());
    let live = ns.cmd(&[RNETSTAT, "-ia"]).output().unwrap();
    let offline = Command::new(RNETSTAT)
        .arg("--proc-root")
        .arg(cap.join("proc"))
        .arg("-ia")
        .output()
        .unwrap();
    let names = |o: &Output| -> Vec<String> {
        text(&o.stdout)
            .lines()
            .skip(2)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    };
    assert!(
        names(&live).iter().any(|n| n.starts_with("v\\xff")),
        "{}",
        text(&live.stdout)
    );
    assert_eq!(names(&offline), names(&live));
}

// ---------------------------------------------------------------------------------
// 6. A unix socket path with a newline forges no row.

#[test]
fn a_newline_in_a_unix_path_forges_no_row() {
    if !is_root() || !have("python3") {
        return skip("unix_newline", "needs root and python3");
    }
    let ns = NetNs::new("forge");
    let dir = TempDir::new("forge");
    let fake = 3_000_000 + std::process::id() % 1_000_000;
    let script = format!(
        "import socket, sys\n\
         s = socket.socket(socket.AF_UNIX)\n\
         s.bind({dir:?} + '/x\\n0000000000000000: 00000002 00000000 00010000 0001 01 {fake} @FAKE.sock')\n\
         s.listen()\n\
         print('ready', flush=True)\n\
         sys.stdin.read()\n",
        dir = dir.0.display().to_string()
    );
    let _holder = Holder::start(ns.cmd(&["python3", "-c", &script]));
    let fake_col = fake.to_string();
    let forged = |out: &str| {
        out.lines().any(|l| {
            l.split_whitespace().nth(6) == Some(fake_col.as_str())
                || l.contains("@FAKE.sock") && !l.contains("/x")
        })
    };
    // netstat (reference) shows the forged row: the attack is real here.
    let reference = ns.cmd(&["netstat", "-xa"]).output().unwrap();
    assert!(
        forged(&text(&reference.stdout)),
        "{}",
        text(&reference.stdout)
    );
    let ours = ns.cmd(&[RNETSTAT, "-xa"]).output().unwrap();
    let out = text(&ours.stdout);
    assert!(!forged(&out), "{out}");
    assert!(out.contains(&format!("{}/x", dir.0.display())), "{out}");
    let json = ns.cmd(&[RNETSTAT, "-xa", "--json"]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let inodes: Vec<u64> = doc["unix"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["inode"].as_u64())
        .collect();
    assert!(!inodes.contains(&u64::from(fake)), "{doc}");
    let audit = ns
        .cmd(&[RNETSTAT, "--audit", "--no-probe", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert!(
        !report["findings"].to_string().contains(&fake_col),
        "{report}"
    );
}

// ---------------------------------------------------------------------------------
// 7. The port probe does not make another process's bind fail.

const BINDER: &str = r#"
import os, socket, sys
port = int(sys.argv[1]); stop = sys.argv[2]; fails = 0; binds = 0
print("ready", flush=True)
while not os.path.exists(stop):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port)); binds += 1
    except OSError:
        fails += 1
    s.close()
print(binds, fails, flush=True)
"#;

#[test]
fn the_port_probe_does_not_fail_a_binding_process() {
    if !is_root() || !have("python3") {
        return skip("probe_race", "needs root and python3");
    }
    let ns = NetNs::new("probe");
    let dir = TempDir::new("probe");
    let stop = dir.0.join("stop");
    // A port in the range the probe sweeps, per pid so parallel runs differ.
    let port = (20000 + std::process::id() % 20000).to_string();
    let mut binder = ns
        .cmd(&["python3", "-c", BINDER, &port, stop.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(binder.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut lines, &mut line).unwrap();
    let mut findings = Vec::new();
    for _ in 0..4 {
        let out = ns.cmd(&[RNETSTAT, "--audit", "--json"]).output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for f in report["findings"].as_array().unwrap() {
            if f["check"] == "port-probe" {
                findings.push(f.clone());
            }
        }
    }
    std::fs::write(&stop, "").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut lines, &mut line).unwrap();
    let _ = binder.wait();
    let counts: Vec<u64> = line
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(counts.len(), 2, "{line}");
    assert!(counts[0] > 0, "the binder never bound: {line}");
    // No bind of the binder failed because of the probe, and no finding names its port.
    assert_eq!(counts[1], 0, "binds failed while the audits probed: {line}");
    assert!(findings.is_empty(), "{findings:?}");
}

// ---------------------------------------------------------------------------------
// 5. Out of descriptors is not "process gone".

#[test]
fn few_descriptors_give_a_note_and_a_failure_status() {
    if !have("prlimit") {
        return skip("few_descriptors", "needs prlimit");
    }
    for (bin, args) in [(RLSOF, &["-nP"][..]), (RNETSTAT, &["-anp"])] {
        let out = run_bounded(
            Command::new("prlimit")
                .args(["--nofile=5", "--", bin])
                .args(args),
            Duration::from_secs(120),
        )
        .unwrap();
        assert_no_crash(&format!("{bin} {args:?}"), &out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{bin} {args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("file descriptors"),
            "{bin} {args:?}: {}",
            text(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------------
// 3. Offline answers are about the captured machine.

const FILE_HOLDER: &str = r#"
import socket, sys
f = open(sys.argv[1], "w"); f.write("x" * 1000); f.flush()
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("ready", flush=True)
sys.stdin.read()
"#;

#[test]
fn offline_rlsof_takes_owners_and_stats_from_the_capture() {
    if !is_root() || !have("python3") || !have("setpriv") {
        return skip("offline_rlsof", "needs root, python3 and setpriv");
    }
    let ns = NetNs::new("owner");
    let dir = TempDir::new("owner");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = dir.0.join("held");
    // A python nobody may run (a pyenv shim under /root is not one).
    let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        return skip("offline_rlsof", "no system python3 for nobody");
    };
    let mut cmd = ns.cmd(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ]);
    cmd.args([python, "-c", FILE_HOLDER]).arg(&file);
    let holder = Holder::start(cmd);
    assert_eq!(holder.ready, "ready");
    let pid = holder.child.id().to_string();
    let live = ns.cmd(&[RLSOF, "-nP", "-p", &pid]).output().unwrap();
    let cap = dir.0.join("cap");
    let out = ns.cmd(&[RNETSTAT, "--capture"]).arg(&cap).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The analyst's disk changes after the capture: offline must not see it.
    std::fs::write(&file, "y".repeat(5000)).unwrap();
    let offline = Command::new(RLSOF)
        .arg("--proc-root")
        .arg(cap.join("proc"))
        .args(["-nP", "-p", &pid])
        .output()
        .unwrap();
    let live_text = text(&live.stdout);
    assert!(live_text.contains("nobody"), "{live_text}");
    assert!(live_text.contains(file.to_str().unwrap()), "{live_text}");
    assert_eq!(text(&offline.stdout), live_text);
    // -u selects by the captured owner.
    let by_user = Command::new(RLSOF)
        .arg("--proc-root")
        .arg(cap.join("proc"))
        .args(["-nP", "-a", "-u", "nobody", "-p", &pid])
        .output()
        .unwrap();
    assert_eq!(text(&by_user.stdout), live_text);
}

// ---------------------------------------------------------------------------------
// 8. rlsof's arguments as lsof 4.95 takes them.

#[test]
fn lsof_arguments_as_lsof_takes_them() {
    if !have("lsof") || !is_root() {
        return skip("lsof_arguments", "needs root and lsof");
    }
    let mut sleeper = Command::new("sleep").arg("600").spawn().unwrap();
    let pid = sleeper.id().to_string();
    let first_err = |o: &Output| {
        text(&o.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .split_once(": ")
            .map(|(_, m)| m.to_string())
            .unwrap_or_default()
    };
    let cases: Vec<Vec<&str>> = vec![
        vec!["-r", "0", "-a", "-p", &pid, "-d", "cwd"],
        vec!["+r", "0", "-a", "-p", &pid, "-d", "cwd"],
        vec!["-p", "", "-p", &pid, "-a", "-d", "cwd"],
        vec!["-u", "", "-a", "-p", &pid, "-d", "cwd"],
        vec!["-u", "4294967296", "-a", "-p", &pid, "-d", "cwd"],
        vec!["-i", "@0x7f.1"],
        vec!["-d", "-1", "-a", "-p", &pid],
        vec!["-d", "3-3", "-a", "-p", &pid],
    ];
    for args in cases {
        let want = run_bounded(Command::new("lsof").args(&args), Duration::from_secs(60)).unwrap();
        let got = run_bounded(Command::new(RLSOF).args(&args), Duration::from_secs(60)).unwrap();
        assert_no_crash(&format!("{args:?}"), &got);
        assert_eq!(text(&got.stdout), text(&want.stdout), "{args:?}");
        assert_eq!(first_err(&got), first_err(&want), "{args:?}");
        assert_eq!(got.status.success(), want.status.success(), "{args:?}");
    }
    // A bad regex says why, as lsof does (regerror's text), not a return code.
    let got = Command::new(RLSOF).args(["-c", "/a(/"]).output().unwrap();
    let want = Command::new("lsof").args(["-c", "/a(/"]).output().unwrap();
    assert_eq!(first_err(&got), first_err(&want));
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}
