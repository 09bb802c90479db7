//! Races for rlsof: processes fork and exit and sockets and files open and close while
//! rlsof scans again and again. lsof's rules: a process or file that vanishes between
//! listing and reading is skipped silently; the status follows docs/rlsof.md (1 for
//! `-i` when no Internet file was found, else 0). Nothing
//! may reach stderr (warnings are for unreadable files that stay, which churn does not
//! make) and nothing may panic.

use std::process::{Command, Stdio};

const CHURN: &str = r#"
import os, socket, sys, tempfile, time
end = time.time() + float(sys.argv[1])
d = tempfile.mkdtemp(prefix="rnt-lsof-churn-")
while time.time() < end:
    pids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            held = []
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
            for i in range(30):
                c = socket.socket(); c.connect(l.getsockname()); s, _ = l.accept()
                held += [c, s]
                held += list(socket.socketpair())
                u = socket.socket(socket.AF_UNIX)
                u.bind(os.path.join(d, "%d-%d" % (os.getpid(), i)))
                held.append(u)
                held.append(open(os.path.join(d, "f%d-%d" % (os.getpid(), i)), "w"))
            for s in held[::2]:
                s.close()
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
os.rmdir(d)
"#;

#[test]
fn rlsof_scans_survive_churn() {
    let mut churn = Command::new("python3")
        .args(["-c", CHURN, "5"])
        .stdout(Stdio::null())
        .spawn()
        .expect("python3 runs");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut runs = 0;
    let mut failures = Vec::new();
    // A debug `-nP` takes up to a second or two on a loaded machine: ten rounds at most.
    while churn.try_wait().unwrap().is_none() && runs < 10 {
        for args in [&["-nP"][..], &["-nP", "-i"], &["-U"]] {
            let out = Command::new(env!("CARGO_BIN_EXE_rlsof"))
                .args(args)
                .output()
                .unwrap();
            let listed = !out.stdout.is_empty();
            // lsof: `-i` with no Internet file at all is a search item not found (1);
            // `-U` is no search item (0 even when empty); `-nP` lists every process.
            let status_ok = match (args, out.status.code()) {
                (["-nP"], Some(0)) => listed,
                (["-nP", "-i"], Some(0)) => listed,
                (["-nP", "-i"], Some(1)) => !listed,
                (["-U"], Some(0)) => true,
                _ => false,
            };
            // Unprivileged, other users' processes are unreadable: lsof's notices differ.
            // Processes of a uid without a passwd entry (tests/lsof_users.rs makes
            // some) get lsof's `no pwd entry` warnings: they are no churn notice.
            let notices = String::from_utf8_lossy(&out.stderr)
                .lines()
                .any(|l| !l.starts_with("rlsof: no pwd entry for UID "));
            if !status_ok || (root && notices) {
                failures.push(format!(
                    "{args:?}: {:?}, {} bytes out, stderr: {}",
                    out.status,
                    out.stdout.len(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        runs += 1;
    }
    let _ = churn.kill();
    let _ = churn.wait();
    assert!(runs > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
