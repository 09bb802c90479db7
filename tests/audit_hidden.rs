//! Check hidden-process against a real hider, in a private pid+net+mount namespace
//! (`unshare --pid --net --mount --fork --mount-proc`) the test makes and that dies
//! with it.
//!
//! How the process is hidden, honestly: rnetstat lists /proc with the getdents64
//! system call itself (rustix's raw syscalls, no libc readdir), so the usual
//! LD_PRELOAD hider (libprocesshider hooks readdir in libc) cannot fool it, and the
//! test does not pretend otherwise. What does fool it is what a kernel rootkit does:
//! filter getdents64 of /proc. tests/audit_support/hide_pid.c does that from user
//! space with a seccomp user-notification filter on the audited rnetstat: every
//! getdents64 stops in the kernel, the supervisor performs it on a duplicate of the
//! descriptor, drops one pid's entry and returns the rest. rnetstat's code paths are
//! the real ones on the real /proc; only the system call's answer is doctored, as a
//! rootkit doctors it. With `--lookup` it also fails open/openat of /proc/PID, as a
//! rootkit that hooks proc's lookup does.

mod audit_support;
use audit_support::common;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The hider, compiled into a fresh directory removed on drop.
struct Hider {
    dir: PathBuf,
}

impl Hider {
    fn build(tag: &str) -> Hider {
        let dir = std::env::temp_dir().join(format!("rnt-hide-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let src = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/audit_support/hide_pid.c"
        );
        let out = Command::new("cc")
            .args(["-O2", "-Wall", "-o"])
            .arg(dir.join("hide_pid"))
            .arg(src)
            .output()
            .unwrap();
        assert!(out.status.success(), "cc: {out:?}");
        Hider { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("hide_pid")
    }
}

impl Drop for Hider {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The namespace's init (the driver); killing it kills every process of the namespace.
struct Namespace(Child);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs as pid 1 of the new namespaces: brings lo up, starts a listener (not pid 1),
/// runs the audits it is given (`mode`), prints one JSON object and exits.
const DRIVER: &str = r#"
import json, os, subprocess, sys, time
mode, hide, rnetstat = sys.argv[1], sys.argv[2], sys.argv[3]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
LISTENER = '''
import os, socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
print(os.getpid(), l.getsockname()[1], os.fstat(l.fileno()).st_ino, flush=True)
time.sleep(300)
'''
holder = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
pid, port, inode = map(int, holder.stdout.readline().split())
def audit(pre, *extra):
    r = subprocess.run(pre + [rnetstat, "--audit", "--no-probe", *extra], capture_output=True, text=True)
    return {"status": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
out = {"pid": pid, "port": port, "inode": inode}
if mode == "hide":
    out["hidden_json"] = audit([hide, str(pid)], "--json")
    out["hidden_text"] = audit([hide, str(pid)])
    out["lookup_json"] = audit([hide, "--lookup", str(pid)], "--json")
    out["plain_json"] = audit([], "--json")
elif mode == "preload":
    env = dict(os.environ, LD_PRELOAD=hide, RNT_HIDE_PID=str(pid))
    run = lambda *argv: subprocess.run(argv, capture_output=True, text=True, env=env).stdout
    out["ls"] = run("ls", "/proc").split()
    out["netstat"] = run("netstat", "-tlnp")
    out["rnetstat"] = run(rnetstat, "-tlnp")
    r = subprocess.run([rnetstat, "--audit", "--no-probe", "--json"], capture_output=True, text=True, env=env)
    out["audit"] = {"status": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
elif mode == "churn":
    churn = subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"])
    time.sleep(0.2)
    out["churn"] = [audit([], "--json") for _ in range(3)]
    churn.kill()
holder.kill()
print(json.dumps(out), flush=True)
"#;

fn cannot_run(test: &str) -> bool {
    audit_support::cannot_run(test, &["cc", "unshare"])
}

/// Runs the driver in fresh pid, net and mount namespaces (a /proc of its own).
fn in_namespace(mode: &str, hider: &Path) -> Value {
    let child = Command::new("unshare")
        .args([
            "--pid",
            "--net",
            "--mount",
            "--fork",
            "--mount-proc",
            "python3",
            "-c",
        ])
        .arg(DRIVER)
        .arg(mode)
        .arg(hider)
        .arg(env!("CARGO_BIN_EXE_rnetstat"))
        .env_remove("LD_PRELOAD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ns = Namespace(child);
    let mut stdout = String::new();
    use std::io::Read;
    ns.0.stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    ns.0.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = ns.0.wait().unwrap();
    assert!(status.success(), "driver: {status:?}\n{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

fn document(run: &Value) -> Value {
    let stdout = run["stdout"].as_str().unwrap();
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {run}"))
}

/// Asserts the check ran (it is not in `not_done`).
fn check_ran(doc: &Value) {
    let skipped = doc["not_done"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["check"] == "hidden-process");
    assert!(!skipped, "hidden-process was not run: {doc}");
}

#[test]
fn a_process_hidden_from_proc_is_named_with_its_socket() {
    if cannot_run("a_process_hidden_from_proc_is_named_with_its_socket") {
        return;
    }
    let hider = Hider::build("named");
    let out = in_namespace("hide", &hider.path());
    let (pid, port, inode) = (&out["pid"], &out["port"], &out["inode"]);
    let mut fd = Value::Null;

    // With the hider: the process, by pid and comm, with its listening socket.
    let doc = document(&out["hidden_json"]);
    check_ran(&doc);
    assert_eq!(out["hidden_json"]["status"], 1, "{doc}");
    let found = audit_support::findings(&doc, "hidden-process");
    assert_eq!(found.len(), 1, "{doc}");
    let e = &found[0]["evidence"];
    assert_eq!(found[0]["severity"], "high");
    assert_eq!(&e["pid"], pid, "{doc}");
    assert_eq!(e["program"], "python3", "{doc}");
    assert_eq!(e["uid"], 0, "{doc}");
    assert_eq!(&e["inode"], inode, "{doc}");
    fd.clone_from(&e["fd"]);
    assert!(e["detail"].as_str().unwrap().contains("opens"), "{doc}");
    let sockets: Vec<&str> = e["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let want = format!("inode={inode} tcp 127.0.0.1:{port} LISTEN");
    assert!(
        sockets.len() == 1 && sockets[0].ends_with(&want),
        "{sockets:?} lacks {want}"
    );
    // Its socket is not "unowned": it says who holds it.
    let unowned = audit_support::findings(&doc, "unowned-socket");
    let mine: Vec<_> = unowned
        .iter()
        .filter(|f| &f["evidence"]["inode"] == inode)
        .collect();
    assert_eq!(mine.len(), 1, "{doc}");
    assert_eq!(&mine[0]["evidence"]["pid"], pid);
    assert!(
        mine[0]["summary"]
            .as_str()
            .unwrap()
            .contains("held only by a process hidden from /proc"),
        "{doc}"
    );
    // The text report says the same.
    let text = out["hidden_text"]["stdout"].as_str().unwrap();
    assert!(
        text.contains(&format!("pid={pid} fd={fd} program=python3 uid=0")),
        "{text}"
    );

    // Hidden from lookup too (/proc/PID and everything under it fail with ENOENT): the
    // finding says so and still has the socket, from the kernel's task_file iterator.
    let doc = document(&out["lookup_json"]);
    check_ran(&doc);
    let found = audit_support::findings(&doc, "hidden-process");
    assert_eq!(found.len(), 1, "{doc}");
    let e = &found[0]["evidence"];
    assert_eq!(&e["pid"], pid, "{doc}");
    assert_eq!(&e["inode"], inode, "{doc}");
    assert!(
        e["detail"].as_str().unwrap().contains("does not open"),
        "{doc}"
    );

    // Without the hider the same namespace has no hidden process and no unowned socket.
    let doc = document(&out["plain_json"]);
    check_ran(&doc);
    assert!(
        audit_support::findings(&doc, "hidden-process").is_empty(),
        "{doc}"
    );
    assert!(
        audit_support::findings(&doc, "unowned-socket").is_empty(),
        "{doc}"
    );
}

/// The LD_PRELOAD hider (tests/audit_support/hide_readdir.c) fools the tools that read
/// /proc through libc's readdir (ls, netstat -p) and not rnetstat, which makes the
/// getdents64 system call itself: rnetstat -p still names the owner, the audit finds
/// no hidden process (its listing is complete) and reports the preloaded library.
#[test]
fn an_ld_preload_hider_does_not_fool_rnetstat() {
    if cannot_run("an_ld_preload_hider_does_not_fool_rnetstat") {
        return;
    }
    if !audit_support::have("netstat") {
        common::skip(
            "an_ld_preload_hider_does_not_fool_rnetstat",
            "netstat is not installed",
        );
        return;
    }
    let hider = Hider::build("preload");
    let lib = hider.dir.join("hide_readdir.so");
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/audit_support/hide_readdir.c"
    );
    let built = Command::new("cc")
        .args(["-O2", "-Wall", "-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(src)
        .arg("-ldl")
        .output()
        .unwrap();
    assert!(built.status.success(), "cc: {built:?}");
    let out = in_namespace("preload", &lib);
    let (pid, port) = (out["pid"].to_string(), out["port"].to_string());
    // The hider works on libc's readers.
    let ls: Vec<&str> = out["ls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(ls.contains(&"1") && !ls.contains(&pid.as_str()), "{ls:?}");
    let row = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .find(|f| f.len() == 7 && f[3] == format!("127.0.0.1:{port}"))
            .unwrap_or_else(|| panic!("no row for port {port}: {text}"))
    };
    let netstat = row(out["netstat"].as_str().unwrap());
    assert_eq!(netstat[6], "-", "netstat was not fooled: {netstat:?}");
    // rnetstat is not.
    let ours = row(out["rnetstat"].as_str().unwrap());
    assert_eq!(ours[6], format!("{pid}/python3"));
    let doc = document(&out["audit"]);
    check_ran(&doc);
    assert!(
        audit_support::findings(&doc, "hidden-process").is_empty(),
        "{doc}"
    );
    assert!(
        audit_support::findings(&doc, "unowned-socket").is_empty(),
        "{doc}"
    );
    assert!(
        !audit_support::findings(&doc, "preload").is_empty(),
        "{doc}"
    );
}

/// Processes starting and exiting all the time (a shell loop) are in one look of the
/// kernel's list and not the other, or in the listing: never a finding.
#[test]
fn short_lived_processes_are_not_hidden() {
    if cannot_run("short_lived_processes_are_not_hidden") {
        return;
    }
    let out = in_namespace("churn", Path::new("/nonexistent"));
    for run in out["churn"].as_array().unwrap() {
        let doc = document(run);
        check_ran(&doc);
        assert!(
            audit_support::findings(&doc, "hidden-process").is_empty(),
            "{doc}"
        );
    }
}

/// Where the kernel's list and /proc cannot be compared the check says it was not
/// run, in the report and on stderr, and the audit is partial.
#[test]
fn the_check_says_when_it_cannot_run() {
    if cannot_run("the_check_says_when_it_cannot_run") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_rnetstat");
    let mut runs = vec![(
        "foreign /proc",
        // A new pid namespace whose /proc is still the parent's.
        Command::new("unshare")
            .args(["--pid", "--fork", bin, "--audit", "--json", "--no-probe"])
            .env_remove("LD_PRELOAD")
            .output()
            .unwrap(),
    )];
    if audit_support::have("setpriv") {
        runs.push((
            "not root",
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin])
                .args(["--audit", "--json", "--no-probe"])
                .env_remove("LD_PRELOAD")
                .output()
                .unwrap(),
        ));
    } else {
        common::skip(
            "the_check_says_when_it_cannot_run",
            "setpriv is not installed",
        );
    }
    for (what, out) in runs {
        let doc: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {out:?}"));
        let reason = doc["not_done"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["check"] == "hidden-process")
            .unwrap_or_else(|| panic!("{what}: {doc}"))["reason"]
            .clone();
        assert_eq!(doc["clean"], false, "{what}: {doc}");
        assert_ne!(out.status.code(), Some(0), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("hidden-process check not run"),
            "{what}: {stderr}"
        );
        if what == "foreign /proc" {
            assert!(
                reason
                    .as_str()
                    .unwrap()
                    .contains("/proc is not our pid namespace's"),
                "{reason}"
            );
        }
    }
}
