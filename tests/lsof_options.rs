//! Differential tests of lsof 4.95's defaults and options that need no sockets: rlsof
//! and lsof run with the same arguments on processes and files this test makes
//! (a `sleep` holding files in a private temp directory), compared byte for byte with
//! exit status. Every comparison is restricted to those processes or files.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

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
