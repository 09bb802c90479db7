//! `-b` (avoid kernel calls that may block). lsof 4.95 on Linux avoids stat(2) of
//! mount points always, but of a process's files (cwd, rtd, txt, mapped files,
//! descriptors) only when its mount table has an nfs, nfs3 or nfs4 mount: then it
//! says so for each and lists them with no type, device, size or inode. This test
//! runs both tools on a python3 helper of its own, in a mount namespace whose
//! /proc/PID/mounts and /proc/PID/mountinfo (PID: the tool's, which the wrapper
//! shell hands on by exec) are copies of ours with one nfs4 line added (192.0.2.1,
//! a documentation address; nothing is mounted or contacted); and once without it.
//! stdout, stderr and status must be identical (rlsof runs as `lsof` through a
//! symbolic link, for the program name), and strace shows that neither tool stats
//! the helper's files under -b with the NFS line, while both do without it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const HOLDER: &str = r#"
import os, socket, sys
d = sys.argv[1]
os.chdir(d)
f = open(d + "/file", "w")
g = open(d + "/gone", "w")
os.unlink(d + "/gone")
r, w = os.pipe()
t = socket.socket()
t.bind(("127.0.0.1", 0))
t.listen()
u = socket.socket(socket.AF_UNIX)
u.bind(d + "/s.sock")
u.listen()
e = os.eventfd(0)
# A POSIX message queue (unlinked: nothing left behind), for PSXMQ; its device
# follows "ready".
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
name = b"/rnt-block-%d" % os.getpid()
q = libc.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, None)
libc.mq_unlink(name)
print("ready", os.fstat(q).st_dev if q >= 0 else -1, flush=True)
sys.stdin.read()
"#;

/// The helper, its directory (with a symbolic link `lsof` to rlsof) and the copies of
/// our mount tables with an NFS line; all removed on drop.
struct Scene {
    child: Child,
    dir: PathBuf,
    /// The device of the helper's message queue.
    mq_dev: u64,
}

/// A line added to the tools' mount tables: what is mounted, where, its type.
#[derive(Clone)]
struct Extra {
    source: String,
    dir: String,
    fstype: &'static str,
}

impl Scene {
    fn start(tag: &str) -> Scene {
        let dir = std::env::temp_dir().join(format!("rlsof-block-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("nfs")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rlsof"), dir.join("bin/lsof")).unwrap();
        let mut child = Command::new("python3")
            .args(["-I", "-S", "-c", HOLDER])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mq_dev = line
            .strip_prefix("ready ")
            .and_then(|d| d.trim().parse().ok())
            .expect("helper did not start");
        Scene { child, dir, mq_dev }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// The nfs4 mount of 192.0.2.1 on DIR/nfs (an ordinary directory).
    fn nfs(&self) -> Extra {
        Extra {
            source: "192.0.2.1:/export".into(),
            dir: format!("{}/nfs", self.dir.display()),
            fstype: "nfs4",
        }
    }

    /// Fresh copies of our mount tables, each with the `extra` mounts after ours.
    fn write_tables(&self, extra: &[Extra]) -> (PathBuf, PathBuf) {
        // Bytes: other tests leave mounts with hostile (non-UTF-8) names.
        // Without /run/netns, as `command` detaches it.
        let mut mounts = without_netns_mounts(&std::fs::read("/proc/self/mounts").unwrap(), 1);
        let mut info = without_netns_mounts(&std::fs::read("/proc/self/mountinfo").unwrap(), 4);
        for (i, e) in extra.iter().enumerate() {
            let Extra {
                source,
                dir,
                fstype,
            } = e;
            mounts.extend(format!("{source} {dir} {fstype} rw,relatime 0 0\n").bytes());
            info.extend(
                format!(
                    "{} 1 0:{} / {dir} rw,relatime shared:1 - {fstype} {source} rw\n",
                    99990 + i,
                    990 + i
                )
                .bytes(),
            );
        }
        let (m, mi) = (self.dir.join("mounts"), self.dir.join("mountinfo"));
        std::fs::write(&m, mounts).unwrap();
        std::fs::write(&mi, info).unwrap();
        (m, mi)
    }

    /// `program args` (in `prefix`, e.g. strace), with the NFS line when `nfs`.
    fn command(&self, prefix: &[String], program: &Path, args: &[String], nfs: bool) -> Command {
        let extra = if nfs { vec![self.nfs()] } else { Vec::new() };
        self.command_in(prefix, program, args, &extra)
    }

    /// `program args` (in `prefix`, e.g. strace), the `extra` mounts in its tables.
    fn command_in(
        &self,
        prefix: &[String],
        program: &Path,
        args: &[String],
        extra: &[Extra],
    ) -> Command {
        let mut c = Command::new(prefix.first().map_or("unshare", |p| p.as_str()));
        if !prefix.is_empty() {
            c.args(&prefix[1..]).arg("unshare");
        }
        c.arg("--mount").arg("--propagation").arg("private");
        // Other tests add and delete network namespaces, each a mount on
        // /run/netns/NAME: detached here, so that both tools see one mount table.
        let detach = "umount -l /run/netns 2>/dev/null;";
        if !extra.is_empty() {
            let (m, mi) = self.write_tables(extra);
            // The tool is exec'd: its /proc/self is the shell's /proc/$$.
            c.args([
                "sh",
                "-c",
                &format!(
                    "{detach} m=$1 mi=$2; shift 2; mount --bind \"$m\" /proc/$$/mounts && \
                     mount --bind \"$mi\" /proc/$$/mountinfo && exec \"$@\""
                ),
                "sh",
            ])
            .arg(m)
            .arg(mi);
        } else {
            c.args(["sh", "-c", &format!("{detach} exec \"$@\""), "sh"]);
        }
        c.arg(program).args(args).current_dir("/");
        c
    }

    fn run(&self, program: &Path, args: &[String], extra: &[Extra]) -> (String, Vec<u8>, i32) {
        let out = self.command_in(&[], program, args, extra).output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.stderr,
            out.status.code().unwrap_or(-1),
        )
    }

    /// Both tools; identical stdout, stderr and status. Retried on a difference: a
    /// mount made or removed by another test between the runs changes both tools'
    /// mount warnings. Returns lsof's stdout and stderr.
    fn same(&self, args: &str, nfs: bool) -> (String, String) {
        let extra = if nfs { vec![self.nfs()] } else { Vec::new() };
        self.same_in(args, &extra)
    }

    /// [`Scene::same`] with the `extra` mounts in both tools' tables.
    fn same_in(&self, args: &str, extra: &[Extra]) -> (String, String) {
        let args: Vec<String> = args
            .replace("{pid}", &self.pid())
            .replace("{dir}", self.dir.to_str().unwrap())
            .split_whitespace()
            .map(String::from)
            .collect();
        let lsof = common::find_program("lsof").unwrap();
        let ours = self.dir.join("bin/lsof");
        let (mut want, mut got) = (self.run(&lsof, &args, extra), self.run(&ours, &args, extra));
        let agree = |want: &(String, Vec<u8>, i32), got: &(String, Vec<u8>, i32)| {
            got.0 == want.0 && got.2 == want.2 && same_stderr(&want.1, &got.1)
        };
        for _ in 1..common::ATTEMPTS {
            if agree(&want, &got) {
                break;
            }
            (want, got) = (self.run(&lsof, &args, extra), self.run(&ours, &args, extra));
        }
        let (want_err, got_err) = (
            String::from_utf8_lossy(&want.1).into_owned(),
            String::from_utf8_lossy(&got.1).into_owned(),
        );
        let mounts: Vec<&str> = extra.iter().map(|e| e.dir.as_str()).collect();
        assert_eq!(
            got.0, want.0,
            "stdout of rlsof {args:?} (mounts: {mounts:?})"
        );
        assert!(
            same_stderr(&want.1, &got.1),
            "stderr of rlsof {args:?} (mounts: {mounts:?}):\n{got_err}\nlsof's:\n{want_err}"
        );
        assert_eq!(
            got.2, want.2,
            "exit status of rlsof {args:?} (mounts: {mounts:?})"
        );
        (want.0, want_err)
    }

    /// How many stat-family calls `program -b -a -p PID` makes on the helper's files
    /// (its /proc/PID/{cwd,root,exe,fd/N} links and the files in its directory).
    fn helper_stats(&self, program: &Path, nfs: bool) -> usize {
        let pid = self.pid();
        let trace = self.dir.join("trace");
        let prefix: Vec<String> = ["strace", "-f", "-y", "-e", "trace=%%stat", "-o"]
            .iter()
            .map(|s| s.to_string())
            .chain([trace.to_str().unwrap().to_string()])
            .collect();
        let args: Vec<String> = ["-b", "-a", "-p", &pid].map(String::from).to_vec();
        let out = self.command(&prefix, program, &args, nfs).output().unwrap();
        assert!(out.status.success(), "{program:?} under strace: {out:?}");
        let text = std::fs::read_to_string(&trace).unwrap();
        let dir = self.dir.to_str().unwrap();
        let fd_dir = format!("</proc/{pid}/fd>, \"");
        // Its links in /proc and its files by name (not DIR/mounts, which mount(8)
        // looks at in the wrapper).
        let names: Vec<String> = ["cwd", "root", "exe", "fd/"]
            .iter()
            .map(|l| format!("\"/proc/{pid}/{l}"))
            .chain(
                ["\"", "/file\"", "/gone\"", "/s.sock\""]
                    .iter()
                    .map(|f| format!("\"{dir}{f}")),
            )
            .collect();
        text.lines()
            .filter(|l| {
                // fstat of the fd directory itself (an empty name) is no file of it.
                names.iter().any(|p| l.contains(p.as_str()))
                    || l.split(&fd_dir)
                        .nth(1)
                        .is_some_and(|rest| !rest.starts_with('"'))
            })
            .count()
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a line has bytes a terminal would act on (or no UTF-8).
fn raw(line: &[u8]) -> bool {
    std::str::from_utf8(line).map_or(true, |s| s.chars().any(char::is_control))
}

/// A mount table's lines but those whose mount point (field `field`, from 0) is
/// /run/netns or below it.
fn without_netns_mounts(table: &[u8], field: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    for line in table.split_inclusive(|&b| b == b'\n') {
        let point = line.split(|&b| b == b' ').nth(field).unwrap_or_default();
        if point != b"/run/netns" && !point.starts_with(b"/run/netns/") {
            kept.extend_from_slice(line);
        }
    }
    kept
}

/// The lines of `text` without the header of lsof's usage message (its version and
/// web addresses; rlsof names itself and its manual there, a deliberate difference).
fn without_usage_header(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut in_header = false;
    for line in text.split(|&b| b == b'\n') {
        if line.starts_with(b"lsof ") && !line.starts_with(b"lsof: ") {
            in_header = true;
        } else if line.starts_with(b" usage: ") {
            in_header = false;
        }
        if !in_header {
            lines.push(line);
        }
    }
    lines
}

/// Line for line the same, but where lsof writes a path with control bytes raw (its
/// `avoiding stat(...)`, with other tests' hostile mount names): rlsof escapes them
/// (a deliberate difference), so such a line needs only the same text around them.
fn same_stderr(want: &[u8], got: &[u8]) -> bool {
    let (w, g): (Vec<&[u8]>, Vec<&[u8]>) = (without_usage_header(want), without_usage_header(got));
    w.len() == g.len()
        && w.iter().zip(&g).all(|(w, g)| {
            if w == g {
                return true;
            }
            let odd = |b: &u8| !(0x20..0x7f).contains(b);
            let Some(first) = w.iter().position(odd) else {
                return false;
            };
            let last = w.iter().rposition(odd).unwrap();
            let tail = &w[last + 1..];
            raw(w)
                && !raw(g)
                && g.starts_with(&w[..first])
                && g.ends_with(tail)
                && g.len() >= first + tail.len()
        })
}

fn skip_reason() -> Option<String> {
    for tool in ["lsof", "python3", "unshare", "strace"] {
        if common::find_program(tool).is_none() {
            return Some(format!("{tool} is not installed"));
        }
    }
    (!nix::unistd::geteuid().is_root()).then(|| "needs root for a mount namespace".into())
}

#[test]
fn avoid_blocking_with_an_nfs_mount() {
    if let Some(why) = skip_reason() {
        common::skip("avoid_blocking_with_an_nfs_mount", &why);
        return;
    }
    let scene = Scene::start("nfs");
    let pid = scene.pid();
    let (table, warnings) = scene.same("-b -a -p {pid}", true);
    // What lsof does here: no file stat'ed, each one said.
    assert!(
        warnings.contains(&format!(
            "lsof: avoiding stat(/proc/{pid}/fd/3): -b was specified."
        )),
        "{warnings}"
    );
    assert!(table.contains(" unknown "), "{table}");
    for args in [
        "-b -a -p {pid} -F",
        "-b -a -p {pid} -w",
        "-b -a -p {pid} -d 0-3",
        "-b -a -p {pid} -nP -o",
        "-b -a -p {pid} -o -F pfon",
        "-b -a -p {pid} +fg",
        // Sockets are not told apart without a stat: nothing found.
        "-b -a -p {pid} -i",
        "-b -a -p {pid} -U",
        "-b -p {pid} -t",
    ] {
        scene.same(args, true);
    }
    // Without the NFS line -b stats the files as usual, in both.
    let (plain, plain_warnings) = scene.same("-b -a -p {pid}", false);
    assert!(!plain.contains(" unknown "), "{plain}");
    assert!(
        !plain_warnings.contains(&format!("/proc/{pid}/")),
        "{plain_warnings}"
    );
    scene.same("-b -a -p {pid} -i", false);
    // Internet files only: lsof reads no mount table, so -b says nothing of mounts.
    let (_, inet_warnings) = scene.same("-b -i TCP@127.0.0.1:1", true);
    assert!(!inet_warnings.contains("avoiding"), "{inet_warnings}");
    // Names: never looked at under -b (even without the NFS line); all told.
    scene.same("-b {dir}/file {dir}/nonexistent", false);
    scene.same("-b -Q {dir}/file", false);
    // +d/+D after -b: the directory is neither readlink'ed nor stat'ed, which fails
    // it (a usage error, before any mount warning); before -b it is walked, which
    // reads the mount table without -b (no mount warnings), and later names are
    // still avoided.
    let (_, dir_warnings) = scene.same("-b +d {dir}", false);
    assert!(
        dir_warnings.contains("Resource temporarily unavailable"),
        "{dir_warnings}"
    );
    scene.same("-b -w +D {dir}", false);
    scene.same("-b +D {dir} +d {dir}/nfs", false);
    let (_, walked_warnings) = scene.same("+D {dir} -b {dir}/file", false);
    assert!(
        !walked_warnings.contains("file system"),
        "{walked_warnings}"
    );
    scene.same("+d {dir} -b", false);
    // +m: no mount point can be stat'ed under -b, so none is printed.
    let (mounts, _) = scene.same("-b +m", false);
    assert!(mounts.is_empty(), "{mounts}");

    let lsof = common::find_program("lsof").unwrap();
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_rlsof"));
    assert_eq!(scene.helper_stats(&lsof, true), 0, "lsof -b with NFS");
    assert_eq!(scene.helper_stats(&ours, true), 0, "rlsof -b with NFS");
    assert!(scene.helper_stats(&lsof, false) > 0, "lsof -b without NFS");
    assert!(scene.helper_stats(&ours, false) > 0, "rlsof -b without NFS");
}

/// `-b` with `+m FILE`: lsof keeps every mount point (none stat'ed) with the device
/// the supplement gives it (`assuming dev=...`, also for a mount point that does not
/// exist or lies under a file), reads the file when the first mount point needs it
/// (a bad line: said, and the whole file counts as empty), matches names against
/// those mount points, and takes the mqueue mount's device from it (PSXMQ).
#[test]
fn avoid_blocking_with_a_mount_supplement() {
    if let Some(why) = skip_reason() {
        common::skip("avoid_blocking_with_a_mount_supplement", &why);
        return;
    }
    let scene = Scene::start("sup");
    let d = scene.dir.to_str().unwrap().to_string();
    std::fs::create_dir_all(scene.dir.join("fake")).unwrap();
    let dev = std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(&scene.dir).unwrap());
    let mount = |source: &str, dir: &str, fstype: &'static str| Extra {
        source: source.into(),
        dir: format!("{d}/{dir}"),
        fstype,
    };
    let extra = vec![
        mount("tmpfs", "fake", "tmpfs"),
        // Not in the supplement: lsof says the device it last found.
        mount("tmpfs", "unlisted", "tmpfs"),
        // Does not exist; under a file (stat: not a directory).
        mount("tmpfs", "absent", "tmpfs"),
        mount("tmpfs", "file/under", "tmpfs"),
        mount("none", "mq", "mqueue"),
        // A path for what is mounted: avoided too, and `+f` finds it.
        mount("/dev/rnt-block-fake", "blk", "ext4"),
        // Seen before: left out.
        mount("tmpfs", "fake", "tmpfs"),
    ];
    let with_nfs: Vec<Extra> = extra.iter().cloned().chain([scene.nfs()]).collect();
    let mq = scene.mq_dev;
    let supplement = |name: &str, text: &[u8]| {
        let p = scene.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = supplement(
        "sup",
        format!(
            "{d}/fake {dev:#x}\n{d}/absent 0x1234\n{d}/file/under 0x\n{d}/mq {mq:#x}\n\
             {d}/not-mounted 0x77\n{d}/blk 0xfeed\n{d}/blk 0xfeed\n{d}/absent 0x4321\n"
        )
        .as_bytes(),
    );
    let (table, warnings) = scene.same_in(&format!("-b +m {good} -a -p {{pid}} {d}/fake"), &extra);
    assert!(table.contains(&format!("{d}/file")), "{table}");
    assert!(
        warnings.contains(&format!(
            "assuming dev={dev:#x} for {d}/unlisted from {good}"
        )),
        "{warnings}"
    );
    assert!(
        warnings.contains("avoiding stat(/dev/rnt-block-fake)"),
        "{warnings}"
    );
    let (queues, _) = scene.same_in(&format!("-b +m {good} -a -p {{pid}} -d 3-99"), &extra);
    assert!(queues.contains("PSXMQ"), "{queues}");
    let (plain, _) = scene.same_in("-b -a -p {pid} -d 3-99", &extra);
    assert!(!plain.contains("PSXMQ"), "{plain}");
    for args in [
        "-b +m {good} -a -p {pid} {d}/fake/",
        "+m {good} -b -a -p {pid} -F pftn -d 3-99",
        "-b -w +m {good} -a -p {pid} -d 3-99",
        "-b +m {good} -E -a -p {pid} -d 3-99",
        "-b +m {good} -a -p {pid} -t {d}/fake",
        // By a device the supplement gives, but no file on it: exit 1.
        "-b +m {good} -a -p {pid} {d}/absent",
        "-b +m {good} -V -a -p {pid} {d}/unlisted {d}/fake",
        "-b +m {good} -a -p {pid} +f -- /dev/rnt-block-fake",
        "-b +m {good} -a -p {pid} +f -- {d}/file",
        "-b +m {good} -a -p {pid} -f -- {d}/fake",
        "-b +m {good} -a -p {pid} {d}/file {d}/fake",
        "-b +m {good} -Q -a -p {pid} {d}/nonexistent {d}/fake",
        "-b +m {good} +m",
        // Without -b: only the mount points that cannot be stat'ed need it.
        "+m {good} -a -p {pid} {d}/fake",
        "+m {good} -w -a -p {pid} -d 3-99",
    ] {
        let args = args.replace("{good}", &good).replace("{d}", &d);
        scene.same_in(&args, &extra);
    }
    // With an NFS mount: no file of the helper is stat'ed either.
    scene.same_in(&format!("-b +m {good} -a -p {{pid}}"), &with_nfs);
    scene.same_in(&format!("-b +m {good} -a -p {{pid}} {d}/fake"), &with_nfs);

    // Bad supplements: lsof says each bad line (unless -w) and then uses none.
    let first = String::from_utf8_lossy(&std::fs::read("/proc/self/mounts").unwrap())
        .lines()
        .filter_map(|l| l.split(' ').nth(1).map(String::from))
        .next()
        .unwrap();
    let long = format!("/{} 0x1\n", "a".repeat(9000));
    let bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "nopath",
            format!("relative 0x1\n{d}/fake {dev:#x}\n").into_bytes(),
        ),
        (
            "nodev",
            format!("/x 1234\n/y 0X12\n{d}/fake {dev:#x}\n").into_bytes(),
        ),
        ("illegal", b"/x 0x12g\n/y 0x12\r\n".to_vec()),
        ("empty-line", format!("\n{d}/fake {dev:#x}\n").into_bytes()),
        // A duplicate with another device is seen only at the length of the first
        // mount point looked up (lsof compares the wrong lengths).
        (
            "dup-first",
            format!("{first} 0x1\n{first} 0x2\n").into_bytes(),
        ),
        (
            "dup-long",
            format!("{d}/fake 0x1\n{d}/fake {dev:#x}\n").into_bytes(),
        ),
        ("long", format!("{long}{d}/fake {dev:#x}\n").into_bytes()),
        (
            "nul",
            format!("/x\0junk 0x1\n{d}/fake {dev:#x}\0zz\n").into_bytes(),
        ),
        ("no-newline", format!("{d}/fake {dev:#x}").into_bytes()),
    ];
    for (name, text) in &bad {
        let file = supplement(name, text);
        for w in ["", "-w"] {
            let (_, said) = scene.same_in(
                &format!("-b {w} +m {file} -a -p {{pid}} -d 3-99 {d}/fake"),
                &extra,
            );
            if *name == "dup-first" {
                assert!(said.contains("path duplicate of 1"), "{said}");
            }
        }
    }
    let link = scene.dir.join("sup-link");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    for file in [
        format!("{d}/no-such-supplement"),
        d.clone(),
        link.to_str().unwrap().to_string(),
    ] {
        scene.same_in(&format!("-b +m {file} -a -p {{pid}} -d 3-99"), &extra);
        scene.same_in(&format!("-b -w +m {file} -a -p {{pid}} -d 3-99"), &extra);
    }
}
