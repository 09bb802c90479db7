//! `rnetstat --capture DIR` then `rnetstat --proc-root DIR/proc` gives the same output
//! as the live run at that moment. Runs in a private network namespace that holds only
//! the test's sockets, so nothing else changes between the runs.

use std::process::{Child, Command, Stdio};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        // The holder's socket directory (HOLDER; `ip netns exec` execs python, so the
        // pids agree): killed, it cannot remove it itself.
        let _ = std::fs::remove_dir_all(format!("/tmp/rnt-cap-{}", self.0.id()));
    }
}

const HOLDER: &str = r#"
import os, socket, sys, time
held = []
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8); held.append(l)
c = socket.socket(); c.connect(l.getsockname()); s, _ = l.accept(); held += [c, s]
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0)); held.append(u)
d = "/tmp/rnt-cap-%d" % os.getpid(); os.makedirs(d, exist_ok=True)
x = socket.socket(socket.AF_UNIX); x.bind(d + "/s.sock"); x.listen(1); held.append(x)
held += list(socket.socketpair())
print("ready", flush=True)
sys.stdin.read()
"#;

#[test]
fn capture_reads_back_identically() {
    if !is_root() {
        eprintln!("SKIPPED: needs root for a private network namespace");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_rnetstat");
    let ns = Namespace(format!("rnt-cap-{}", std::process::id()));
    assert!(Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .unwrap()
        .success());
    let in_ns = |args: &[&str]| {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.0]).args(args);
        cmd
    };
    assert!(in_ns(&["ip", "link", "set", "lo", "up"])
        .status()
        .unwrap()
        .success());
    let mut holder = Holder(
        in_ns(&["python3", "-c", HOLDER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.0.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");

    let dir = std::env::temp_dir().join(format!("rnt-capture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cap = in_ns(&[bin, "--capture", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        cap.status.success(),
        "{}",
        String::from_utf8_lossy(&cap.stderr)
    );
    assert!(dir.join("manifest.json").exists());
    let proc_dir = dir.join("proc");
    for args in [&["-anp"][..], &["-anpe"], &["-xap"], &["-tulnW"]] {
        let live = in_ns(&[bin]).args(args).output().unwrap();
        let offline = Command::new(bin)
            .arg("--proc-root")
            .arg(&proc_dir)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&live.stdout),
            String::from_utf8_lossy(&offline.stdout),
            "{args:?}"
        );
        let out = String::from_utf8_lossy(&live.stdout);
        assert!(out.lines().count() > 3, "{args:?}: {out}");
        if args[0].contains('p') {
            assert!(out.contains("/python3"), "{args:?}: {out}");
        }
    }
    // rlsof reads the same capture: its socket views match the live run too.
    let rlsof = env!("CARGO_BIN_EXE_rlsof");
    let holder_pid = holder.0.id().to_string();
    // Restricted to the holder: other tests' processes may come and go meanwhile.
    for args in [
        &["-nP", "-i", "-a", "-p", &holder_pid][..],
        &["-U", "-a", "-p", &holder_pid],
    ] {
        let live = in_ns(&[rlsof]).args(args).output().unwrap();
        let offline = Command::new(rlsof)
            .arg("--proc-root")
            .arg(&proc_dir)
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&live.stdout);
        assert!(text.contains("python3"), "{args:?}: {text}");
        assert_eq!(
            text,
            String::from_utf8_lossy(&offline.stdout),
            "rlsof {args:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
