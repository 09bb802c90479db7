//! Differential tests of lsof 4.95's defaults and options that need no sockets: rlsof
//! and lsof run with the same arguments on processes and files this test makes
//! (a `sleep` holding files in a private temp directory), compared byte for byte with
//! exit status. Every comparison is restricted to those processes or files.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

const RLSOF: &str = env!("CARGO_BIN_EXE_rlsof");

/// lsof missing: a skip, except under CI=true where it fails.
fn lsof_missing() -> bool {
    let present = Command::new("lsof")
        .arg("-v")
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !present {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "lsof is not installed (CI=true: a skip is a failure)"
        );
        eprintln!("SKIPPED: lsof is not installed");
    }
    !present
}

/// A private directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "rlsof-opt-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process started by the test, killed on drop.
struct Proc(Child);

impl Proc {
    /// `sleep` in `cwd` with stdin reading `file` (and stdout/stderr on /dev/null).
    fn sleep_on(cwd: &Path, file: &Path) -> Proc {
        Proc(
            Command::new("sleep")
                .arg("600")
                .current_dir(cwd)
                .stdin(File::open(file).unwrap())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Debug, PartialEq)]
struct Out {
    status: Option<i32>,
    stdout: Vec<u8>,
}

fn run_in(bin: &str, cwd: &Path, args: &[&str]) -> (Out, Vec<u8>) {
    let o = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        Out {
            status: o.status.code(),
            stdout: o.stdout,
        },
        o.stderr,
    )
}

/// Same stdout, byte for byte, and the same exit status.
fn same(cwd: &Path, args: &[&str]) {
    let (theirs, _) = run_in("lsof", cwd, args);
    let (ours, _) = run_in(RLSOF, cwd, args);
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
        "rlsof {args:?}"
    );
    assert_eq!(ours.status, theirs.status, "exit status of rlsof {args:?}");
}

/// lsof's defaults: FD column width with -d txt/mem/cwd alone, a file named on the
/// command line printed as given, byte 0xff as `\xff`.
#[test]
fn defaults_widths_names_and_bytes() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("defaults");
    let f = dir.0.join("f");
    std::fs::write(&f, b"x").unwrap();
    let p = Proc::sleep_on(&dir.0, &f);
    let pid = p.pid();
    for d in ["txt", "mem", "cwd", "rtd", "0", "txt,mem", "cwd,0"] {
        same(&dir.0, &["-a", "-p", &pid, "-d", d]);
    }
    same(&dir.0, &["./f"]);
    same(&dir.0, &["f"]);
    same(&dir.0, &[f.to_str().unwrap()]);
    same(&dir.0, &["-F", "pfn", "./f"]);
    same(&dir.0, &["-a", "-p", &pid, "./f"]);
    // A name that does not stat beside one that does: lsof lists the other's files
    // and exits 1 (it gives up only when no name could be looked at).
    same(&dir.0, &["-a", "-p", &pid, "./nonexistent", "./f"]);
    same(&dir.0, &["-a", "-p", &pid, "-t", "./f", "./nonexistent"]);
    // A name holding 0xff and DEL.
    let odd = dir.0.join(std::ffi::OsStr::from_bytes(b"odd\xff\x7fname"));
    std::fs::write(&odd, b"x").unwrap();
    let q = Proc::sleep_on(&dir.0, &odd);
    same(&dir.0, &["-a", "-p", &q.pid(), "-d", "0"]);
}

/// -h and -v write to standard error and exit 0, as lsof does; -v names the lsof
/// revision whose output rlsof follows.
#[test]
fn help_and_version_on_stderr() {
    if lsof_missing() {
        return;
    }
    let tmp = std::env::temp_dir();
    for arg in ["-h", "-?", "-v"] {
        let (theirs, _) = run_in("lsof", &tmp, &[arg]);
        let (ours, err) = run_in(RLSOF, &tmp, &[arg]);
        assert_eq!(ours, theirs, "rlsof {arg}");
        assert!(!err.is_empty(), "rlsof {arg}: nothing on stderr");
    }
    let revision = |bin: &str| {
        let (_, err) = run_in(bin, &tmp, &["-v"]);
        String::from_utf8_lossy(&err).lines().find_map(|l| {
            l.trim()
                .strip_prefix("revision:")
                .map(|r| r.trim().to_string())
        })
    };
    assert_eq!(revision(RLSOF), revision("lsof"));
}

/// Descriptors inherited by lsof are closed at its start, so they are not listed.
#[test]
fn inherited_descriptors_are_not_listed() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("inherit");
    let f = dir.0.join("held");
    std::fs::write(&f, b"x").unwrap();
    for bin in ["lsof", RLSOF] {
        let o = Command::new("sh")
            .args(["-c", "exec 7<\"$1\"; exec \"$0\" \"$1\"", bin])
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{bin}: {o:?}");
        assert!(o.stdout.is_empty(), "{bin}: {o:?}");
    }
}

/// The options that change columns, fields, selection and status, on a process of
/// ours (a regular file on stdin, /dev/null on stdout and stderr), compared whole.
#[test]
fn options_on_a_process() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("opts");
    let f = dir.0.join("f");
    std::fs::write(&f, vec![b'x'; 5000]).unwrap();
    let p = Proc::sleep_on(&dir.0, &f);
    let pid = p.pid();
    for extra in [
        &["-R"][..],
        &["-g"],
        &["-R", "-g"],
        &["+L"],
        &["-L"],
        &["-o"],
        &["-o", "3", "-o"],
        &["-oo2"],
        &["+fg"],
        &["+fG"],
        &["-f"],
        &["-d", "fd"],
        &["-d", "^fd"],
        &["-d", "fd,cwd"],
        &["-X"],
        &["-K", "i"],
        &["-N"],
        &["+L1"],
        &["-b", "-w"],
        &["-O"],
        &["-S", "5"],
        &["-Q"],
        &["-V"],
        &["-s"],
        &["-F", "pRgcfkPtDsin"],
        &["-F0", "pRgo"],
        &["-F", "pfG"],
        &["-F", "o", "-o", "1"],
        &["-R", "-g", "+L", "+fg", "-o", "-F"],
    ] {
        let mut args = vec!["-a", "-p", &pid];
        args.extend_from_slice(extra);
        same(&dir.0, &args);
    }
    // -g with a process group list: ours (sleep runs in the test's group) and none.
    let pgid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap()
        .rsplit(") ")
        .next()
        .and_then(|rest| rest.split_whitespace().nth(2).map(str::to_string))
        .unwrap();
    same(&dir.0, &["-a", "-p", &pid, "-g", &pgid]);
    same(&dir.0, &["-a", "-p", &pid, "-g", "^1"]);
    same(&dir.0, &["-a", "-p", &pid, "-g", "999999"]);
    same(&dir.0, &["-Q", "-a", "-p", &pid, "-g", "999999"]);
}

/// Errors lsof 4.95 gives for options that do not apply on Linux or lack a partner:
/// both exit 1 with lsof's message first.
#[test]
fn option_errors_as_lsof() {
    if lsof_missing() {
        return;
    }
    let tmp = std::env::temp_dir();
    for args in [
        &["-Z"][..],
        &["-x"],
        &["-m", "/nonexistent"],
        &["-e", "/nonexistent-rnt"],
        &["-L", "1"],
        &["-K", "x"],
    ] {
        let (theirs, t_err) = run_in("lsof", &tmp, args);
        let (ours, o_err) = run_in(RLSOF, &tmp, args);
        assert_eq!(ours.status, theirs.status, "rlsof {args:?}");
        assert_eq!(ours.stdout, theirs.stdout, "rlsof {args:?}");
        let first = |e: &[u8]| {
            String::from_utf8_lossy(e)
                .lines()
                .next()
                .unwrap_or("")
                .replacen("rlsof: ", "", 1)
                .replacen("lsof: ", "", 1)
        };
        assert_eq!(first(&o_err), first(&t_err), "rlsof {args:?}");
    }
}

/// A deleted file still open: +L1 lists it with NLINK 0, `(deleted)` in NAME.
#[test]
fn deleted_files_with_link_counts() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("deleted");
    let f = dir.0.join("gone");
    std::fs::write(&f, b"data").unwrap();
    let p = Proc::sleep_on(&dir.0, &f);
    std::fs::remove_file(&f).unwrap();
    let pid = p.pid();
    for extra in [
        &["+L1"][..],
        &["+L1", "-F", "pfkn"],
        &["+L"],
        &["+L", "-d", "0"],
        &["+L2", "-d", "0-2"],
    ] {
        let mut args = vec!["-a", "-p", &pid];
        args.extend_from_slice(extra);
        same(&dir.0, &args);
    }
}

/// Runs `prelude` with sh in a private mount namespace (`unshare -m`; what it mounts
/// disappears with it), then each argument set with lsof and with rlsof, and returns
/// the sets whose stdout, status or stderr differ, each with both outputs. `check`
/// sees lsof's output of every set. The namespace is a copy of the host's mount table,
/// which other tests change (`ip netns add`/`del`): a mount that goes away between
/// the two tools' runs changes one tool's warnings, so a difference is tried again,
/// as real ones show on every attempt (/run/netns, where most of them come and go, is
/// detached first). None when unshare is not there (a failure
/// under CI=true).
fn lsof_sets_in_mount_ns(
    prelude: &str,
    sets: &[String],
    err: &Path,
    check: impl Fn(&str, &str),
) -> Option<Vec<String>> {
    let err = err.to_str().unwrap();
    // Other tests add and delete network namespaces, each a mount on
    // /run/netns/NAME: detached here, so that both tools see one mount table.
    let mut script = format!("umount -l /run/netns 2>/dev/null; {prelude}");
    for (i, set) in sets.iter().enumerate() {
        for (who, bin) in [("lsof", "lsof"), ("rlsof", RLSOF)] {
            // stdout and status, then stderr, our program name read as lsof's.
            script.push_str(&format!(
                "echo '@@ {i} {who}'; {{ {bin} {set} 2>{err}; echo \"-- status $?\"; }} \
                 | sed 's/^rlsof: /lsof: /'; echo '-- stderr'; sed 's/^rlsof: /lsof: /' {err}; "
            ));
        }
    }
    let mut failures = Vec::new();
    for _ in 0..common::ATTEMPTS {
        let out = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .output();
        let out = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            other => {
                assert!(
                    std::env::var("CI").map_or(true, |v| v != "true"),
                    "unshare -m failed (CI=true: a skip is a failure): {other:?}"
                );
                eprintln!("SKIPPED: unshare -m failed: {other:?}");
                return None;
            }
        };
        let sections: Vec<&str> = out.split("@@ ").collect();
        failures.clear();
        for (i, set) in sets.iter().enumerate() {
            let find = |who: &str| {
                let tag = format!("{i} {who}\n");
                sections
                    .iter()
                    .find(|s| s.starts_with(&tag))
                    .map(|s| s[tag.len()..].to_string())
                    .unwrap_or_default()
            };
            let (theirs, ours) = (find("lsof"), find("rlsof"));
            check(set, &theirs);
            if theirs != ours {
                failures.push(format!("{set}:\n--- lsof\n{theirs}--- rlsof\n{ours}"));
            }
        }
        if failures.is_empty() {
            break;
        }
    }
    Some(failures)
}

/// Names that are mount points (every file open on that file system), +f/-f, and
/// +d/+D directory trees, on a tmpfs mounted in a private mount namespace where a
/// process of ours has its cwd and a file open. Each argument set runs lsof then
/// rlsof; the script prints both outputs and statuses for the comparison.
#[test]
fn mount_points_and_directory_trees() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("mnt");
    let mnt = dir.0.join("m");
    std::fs::create_dir_all(&mnt).unwrap();
    let m = mnt.to_str().unwrap();
    let sets = [
        m.to_string(),
        format!("{m}/"),
        format!("-f -- {m}"),
        format!("+f -- {m}"),
        format!("+f -- {m}/d"),
        format!("{m}/d"),
        format!("{m}/d/a"),
        format!("+D {m}"),
        format!("+d {m}"),
        format!("+d {m}/d"),
        format!("+D {m}/d -F pfn"),
        format!("-V +D {m}"),
        format!("-t {m}"),
        format!("-a -d 0 {m}"),
    ];
    let script = format!(
        "set -u; mount -t tmpfs rnt-test {m} || exit 9; mkdir {m}/d {m}/d/e; \
         echo hi > {m}/d/a; echo x > {m}/d/e/b; \
         (cd {m}/d && exec sleep 600 < {m}/d/a) & holder=$!; \
         trap 'kill $holder' EXIT; \
         i=0; while [ ! -e /proc/$holder/fd/0 ] || [ \"$(readlink /proc/$holder/cwd)\" != {m}/d ]; do \
           i=$((i+1)); [ $i -gt 500 ] && exit 8; sleep 0.01; done; "
    );
    let check = |set: &str, theirs: &str| {
        assert!(
            !theirs.is_empty() || set.contains("+f -- "),
            "lsof {set}: nothing"
        )
    };
    let Some(failures) = lsof_sets_in_mount_ns(&script, &sets, &dir.0.join("err"), check) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A process holding one of each kind lsof names specially, and a child sharing them
/// (the other end for -E/+E): an eventfd, an epoll fd watching a pipe and the eventfd,
/// a pidfd, a pty pair, and with `mq` a POSIX message queue. It writes
/// `PARENT CHILD` to the file given, then waits; the child ends with the parent.
const KINDS_HOLDER: &str = r#"
import ctypes, os, select, sys, time
# Descriptors inherited from whoever runs the tests (a pipe shared with other
# processes) would be -E ends that come and go: only ours stay.
os.closerange(3, 65536)
out, want_mq = sys.argv[1], len(sys.argv) > 2
r, w = os.pipe()
efd = os.eventfd(0)
ep = select.epoll()
ep.register(r)
ep.register(efd)
pfd = os.pidfd_open(os.getpid())
master, slave = os.openpty()
if want_mq:
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    rt.mq_open.restype = ctypes.c_int
    name = ("/rnt-mq-%d" % os.getpid()).encode()
    mq = rt.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, None)
    if mq < 0:
        sys.exit("mq_open: %d" % ctypes.get_errno())
    rt.mq_unlink(name)
parent = os.getpid()
child = os.fork()
if child == 0:
    while os.getppid() == parent:
        time.sleep(0.05)
    os._exit(0)
with open(out + ".tmp", "w") as f:
    f.write("%d %d\n" % (parent, child))
os.rename(out + ".tmp", out)
time.sleep(600)
"#;

/// Starts KINDS_HOLDER (stdin, stdout, stderr on /dev/null: nothing of the test's own
/// is an endpoint) and waits for its pids.
fn kinds_holder(dir: &Path, mq: bool) -> (Proc, String, String) {
    let out = dir.join("pids");
    let mut cmd = Command::new("python3");
    cmd.args(["-c", KINDS_HOLDER])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if mq {
        cmd.arg("mq");
    }
    let p = Proc(cmd.spawn().unwrap());
    for _ in 0..1000 {
        if let Ok(s) = std::fs::read_to_string(&out) {
            let mut it = s.split_whitespace();
            if let (Some(a), Some(b)) = (it.next(), it.next()) {
                return (p, a.to_string(), b.to_string());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the kinds holder did not start");
}

/// `[eventfd:ID]`, `[eventpoll:FD,FD]`, `[pidfd:PID]`, ptmx/pts, and their -E/+E
/// ends (the other holders, `->/dev/pts/N`), as lsof prints them.
#[test]
fn special_file_kinds_and_their_ends() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("kinds");
    let (_holder, parent, child) = kinds_holder(&dir.0, false);
    let both = format!("{parent},{child}");
    for args in [
        &["-a", "-p", &parent][..],
        &["-a", "-p", &parent, "-F", "pftn"],
        &["-a", "-p", &both],
        &["-E", "-a", "-p", &parent],
        &["+E", "-a", "-p", &parent],
        &["-E", "-a", "-p", &child],
        &["+E", "-p", &parent],
        &["+E", "-a", "-p", &parent, "-d", "0-20"],
    ] {
        same(&dir.0, args);
    }
}

/// POSIX message queues: PSXMQ when an mqueue file system is mounted (here in a
/// private mount namespace), with -E/+E ends.
#[test]
fn message_queues() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("mq");
    let pids = dir.0.join("pids");
    let (d, p) = (dir.0.to_str().unwrap(), pids.to_str().unwrap());
    let script = format!(
        "set -u; mkdir {d}/mq && mount -t mqueue none {d}/mq || exit 9; \
         python3 -c '{}' {p} mq </dev/null >/dev/null 2>&1 & holder=$!; \
         trap 'kill $holder' EXIT; i=0; while [ ! -e {p} ]; do \
           i=$((i+1)); [ $i -gt 1000 ] && exit 8; sleep 0.01; done; \
         read parent child < {p}; ",
        KINDS_HOLDER.replace('\'', "'\\''")
    );
    let sets = [
        "-a -p $parent",
        "-a -p $parent -F pftn",
        "-E -a -p $parent",
        "+E -a -p $parent",
        "+E -a -p $child",
    ]
    .map(String::from);
    let check = |set: &str, theirs: &str| assert!(theirs.contains("PSXMQ"), "lsof {set}: {theirs}");
    let Some(failures) = lsof_sets_in_mount_ns(&script, &sets, &dir.0.join("err"), check) else {
        return;
    };
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `-K`: threads listed with TID and TASKCMD (and `-F K M`), selected with -a; `-K i`
/// never lists them. The process is a python3 of ours with one named thread.
#[test]
fn tasks() {
    if lsof_missing() {
        return;
    }
    let dir = Dir::new("tasks");
    let out = dir.0.join("pid");
    let script = r#"
import os, sys, threading, time
os.closerange(3, 65536)
threading.Thread(target=time.sleep, args=(600,), name="rnt-worker", daemon=True).start()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"#;
    let p = Proc(
        Command::new("python3")
            .args(["-c", script])
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut pid = String::new();
    for _ in 0..1000 {
        if let Ok(s) = std::fs::read_to_string(&out) {
            pid = s.trim().to_string();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!pid.is_empty(), "the threaded holder did not start");
    for args in [
        &["-K", "-a", "-p", &pid][..],
        &["-K", "-a", "-p", &pid, "-d", "0-2"],
        &["-K", "-a", "-p", &pid, "-F", "pKMcf"],
        &["-K", "i", "-a", "-p", &pid],
        &["-Ki", "-a", "-p", &pid, "-d", "txt"],
        &["-K", "-a", "-p", &pid, "-d", "99"],
        &["-K", "-a", "-p", &pid, "-V"],
    ] {
        same(&dir.0, args);
    }
    // A single-threaded process has no task: -a -K lists nothing of it (exit 1).
    let f = dir.0.join("f");
    std::fs::write(&f, b"x").unwrap();
    let single = Proc::sleep_on(&dir.0, &f);
    let spid = single.pid();
    same(&dir.0, &["-K", "-a", "-p", &spid]);
    same(
        &dir.0,
        &["-K", "-a", "-p", &format!("{pid},{spid}"), "-d", "0"],
    );
    drop(p);
}
