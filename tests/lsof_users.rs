//! lsof's `no pwd entry for UID N` warnings: rlsof and lsof 4.95 run with the same
//! arguments on a python3 helper this test starts under a uid that has no passwd
//! entry; stdout, stderr and exit status must be identical. rlsof runs through a
//! symbolic link named `lsof`, so its messages carry the same program name (argv[0]'s
//! last component, as lsof names itself).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A python3 process (two threads, for `-K`) running as a uid no passwd entry names.
struct Helper {
    child: Child,
    uid: u32,
}

impl Helper {
    fn start() -> Helper {
        static N: AtomicU32 = AtomicU32::new(0);
        // Per test process and per helper, so parallel runs never share a uid.
        let mut uid = 2_000_000_000 + (std::process::id() % 100_000) * 64;
        uid += N.fetch_add(1, Ordering::SeqCst) % 64;
        let id = nix::unistd::Uid::from_raw(uid);
        assert!(
            nix::unistd::User::from_uid(id).ok().flatten().is_none(),
            "uid {uid} has a passwd entry here"
        );
        let mut child = Command::new("python3")
            .args([
                "-I",
                "-S",
                "-c",
                "import sys, threading\n\
                 t = threading.Thread(target=sys.stdin.read)\n\
                 t.start()\n\
                 print('ready', flush=True)\n\
                 t.join()\n",
            ])
            .uid(uid)
            .gid(uid)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        // Once it has printed, its maps and descriptors no longer change.
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n", "helper did not start");
        Helper { child, uid }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory holding a symbolic link `lsof` to rlsof; removed on drop.
struct Link(PathBuf);

impl Link {
    fn new() -> Link {
        let dir = std::env::temp_dir().join(format!("rlsof-users-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rlsof"), dir.join("lsof")).unwrap();
        Link(dir)
    }

    fn path(&self) -> PathBuf {
        self.0.join("lsof")
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn skip_reason() -> Option<String> {
    for tool in ["lsof", "python3"] {
        if common::find_program(tool).is_none() {
            return Some(format!("{tool} is not installed"));
        }
    }
    (!nix::unistd::geteuid().is_root())
        .then(|| "needs root to start a process as another uid".into())
}

type Run = (String, String, i32);

fn run(program: &std::path::Path, args: &[String]) -> Run {
    let out = Command::new(program)
        .args(args)
        .current_dir("/")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

const WARNING: &str = "lsof: no pwd entry for UID";

/// Both tools: identical stdout, stderr and status; returns how many warnings lsof gave.
/// Retried on a difference: a mount appearing between the two runs (other tests make
/// namespaces) can change the mount warnings both print at start.
fn same(link: &Link, args: &[String]) -> usize {
    let lsof = common::find_program("lsof").unwrap();
    let (mut want, mut got) = (run(&lsof, args), run(&link.path(), args));
    for _ in 1..common::ATTEMPTS {
        if got == want {
            break;
        }
        (want, got) = (run(&lsof, args), run(&link.path(), args));
    }
    assert_eq!(got.0, want.0, "stdout of rlsof {args:?}");
    assert_eq!(got.1, want.1, "stderr of rlsof {args:?}");
    assert_eq!(got.2, want.2, "exit status of rlsof {args:?}");
    want.1.lines().filter(|l| l.starts_with(WARNING)).count()
}

#[test]
fn no_pwd_entry_warnings() {
    if let Some(why) = skip_reason() {
        common::skip("no_pwd_entry_warnings", &why);
        return;
    }
    let link = Link::new();
    let h = Helper::start();
    let pid = h.child.id().to_string();
    let uid = h.uid.to_string();
    let rows = {
        let (out, _, _) = run(
            &common::find_program("lsof").unwrap(),
            &["-w", "-a", "-p", &pid].map(String::from),
        );
        out.lines().count() - 1
    };
    assert!(rows > 5, "lsof listed {rows} rows of the helper");
    // (arguments, how many warnings lsof gives: twice per table row, once per -F L
    // process set, none with -l, -w, -t or without L)
    let cases: &[(&str, usize)] = &[
        ("-a -p {pid}", 2 * rows),
        ("-nP -a -p {pid}", 2 * rows),
        ("+c 0 -R -a -p {pid}", 2 * rows),
        ("-u {uid}", 2 * rows),
        ("-a -u {uid} -d 0-2", 6),
        ("-a -p {pid} -l", 0),
        ("-a -p {pid} -w", 0),
        ("-a -p {pid} -t", 0),
        ("-u {uid} -t", 0),
        ("-a -p {pid} -F", 1),
        ("-a -p {pid} -F pL", 1),
        ("-a -p {pid} -F 0pcuL", 1),
        ("-a -p {pid} -F pu", 0),
        ("-a -p {pid} -l -F pL", 0),
        ("-a -u {uid} -d 0-1 -F pfL", 1),
        // Thread records: the helper's second thread gets its own process set.
        ("-a -p {pid} -K -F pKL", 2),
        ("-a -p {pid} -K -d 0", 4),
        ("-a -p {pid} -K -d 0 -l", 0),
        // A uid nothing runs as: no warning, status 0, as lsof.
        ("-u 4000000000", 0),
        ("-V -u 4000000000", 0),
    ];
    for &(args, want) in cases {
        let args: Vec<String> = args
            .replace("{pid}", &pid)
            .replace("{uid}", &uid)
            .split_whitespace()
            .map(String::from)
            .collect();
        assert_eq!(same(&link, &args), want, "warnings of lsof {args:?}");
    }
}
