//! Portmapper names against the real tools: lsof 4.95's `+M` and ss 6.1's `-r`.
//! Each test starts its own rpcbind in new network, mount (a tmpfs on /run) and PID
//! namespaces (tests/support/rpc_scene.py registers programs and holds sockets on
//! their ports), runs both tools inside with nsenter, and compares byte for byte.
//! The namespaces end with the scene: closing its input ends PID 1 there, and the
//! kernel then ends rpcbind; `--kill-child` covers a test that dies first.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};

struct Scene {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The scene's python process as this (the host's) PID namespace numbers it.
    pid: u32,
}

impl Drop for Scene {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if common::wait_timeout(&mut self.child, std::time::Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The scene, or `None` when this machine cannot run it (a failure under CI=true).
fn scene(test: &str) -> Option<Scene> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        common::skip(test, "needs root for namespaces");
        return None;
    }
    for tool in [
        "rpcbind", "lsof", "ss", "unshare", "nsenter", "python3", "ip",
    ] {
        if common::find_program(tool).is_none() {
            common::skip(test, &format!("{tool} is not installed"));
            return None;
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/rpc_scene.py");
    let mut child = Command::new("unshare")
        .args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
            "python3",
        ])
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("unshare starts");
    let stdin = child.stdin.take();
    let mut line = String::new();
    let out = child.stdout.take().expect("piped");
    let _ = BufReader::new(out).read_line(&mut line);
    let mut scene = Scene {
        child,
        stdin,
        pid: 0,
    };
    let f: Vec<&str> = line.split_whitespace().collect();
    match f.as_slice() {
        ["ready", pid] => scene.pid = pid.parse().expect("pid"),
        _ => panic!("the rpcbind scene did not start: {line:?}"),
    }
    Some(scene)
}

impl Scene {
    /// Runs `program args` inside the scene's network and mount namespaces.
    fn run(&self, program: &Path, args: &[&str]) -> Output {
        let target = self.pid.to_string();
        Command::new("nsenter")
            .args(["--target", &target, "--net", "--mount", "--"])
            .arg(program)
            .args(args)
            .output()
            .expect("nsenter runs")
    }

    /// Both tools with the same arguments: the same stdout, stderr and status.
    fn compare(&self, reference: &str, ours: &Path, args: &[&str]) -> String {
        let reference = common::find_program(reference).expect("reference tool");
        let theirs = self.run(&reference, args);
        let mine = self.run(ours, args);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            (text(&mine.stdout), mine.status.code()),
            (text(&theirs.stdout), theirs.status.code()),
            "{args:?}: ours (left) against {} (right)",
            reference.display()
        );
        assert_eq!(text(&mine.stderr), text(&theirs.stderr), "{args:?}");
        text(&theirs.stdout)
    }
}

const RLSOF: &str = env!("CARGO_BIN_EXE_rlsof");
const RSS: &str = env!("CARGO_BIN_EXE_rss");

#[test]
fn lsof_plus_m_names_registered_ports() {
    let Some(scene) = scene("lsof_plus_m_names_registered_ports") else {
        return;
    };
    let pid = scene.pid.to_string();
    let ours = Path::new(RLSOF);
    for args in [
        &["+M", "-a", "-p", &pid, "-i", "-n"][..],
        &["+M", "-a", "-p", &pid, "-i", "-nP"],
        &["+M", "-a", "-p", &pid, "-i"],
        &["+M", "-a", "-p", &pid, "-i", "-n", "-F", "pfn"],
        &["-M", "-a", "-p", &pid, "-i", "-n"],
        &["+M", "-nP", "-iTCP:111", "-sTCP:LISTEN"],
        &["+M", "-n", "-iUDP:sunrpc"],
    ] {
        let out = scene.compare("lsof", ours, args);
        // Not a comparison of two empty answers.
        assert!(out.lines().count() > 1, "{args:?}: {out}");
    }
    let shown = scene.compare("lsof", ours, &["+M", "-a", "-p", &pid, "-i", "-nP"]);
    for name in [
        "TCP *:40000[status] (LISTEN)",
        "UDP *:40001[399999]",
        "UDP 127.0.0.1:40002[mountd]",
        "TCP *:40003[nfs] (LISTEN)",
        "TCP 127.0.0.1:40005[399998] (LISTEN)",
    ] {
        assert!(shown.contains(name), "{name} missing from:\n{shown}");
    }
    // IPv6-only registrations are not in the version 2 dump lsof reads.
    assert!(shown.contains("TCP [::1]:40004 (LISTEN)"), "{shown}");
}

#[test]
fn ss_r_names_registered_ports() {
    let Some(scene) = scene("ss_r_names_registered_ports") else {
        return;
    };
    let ours = Path::new(RSS);
    for args in [
        &["-r", "-tul"][..],
        &["-r", "-t", "state", "established"],
        &["-rn", "-tul"],
        &["-tul"],
        &["-r", "-ul", "sport", "=", ":40002"],
    ] {
        let out = scene.compare("ss", ours, args);
        assert!(out.lines().count() > 1, "{args:?}: {out}");
    }
    let shown = scene.compare("ss", ours, &["-r", "-tul"]);
    for name in [
        "0.0.0.0:rpc.portmapper",
        // Port 40000: the last registration wins in ss.
        "0.0.0.0:rpc.nlockmgr",
        "localhost:rpc.mountd",
        "*:rpc.nfs",
        // A tcp6 registration (RPCBPROC_SET).
        "[::1]:rpc.rquotad",
        // A program /etc/rpc does not name: the number.
        "0.0.0.0:40001",
        "localhost:40005",
    ] {
        assert!(shown.contains(name), "{name} missing from:\n{shown}");
    }
}
