//! A dead resolver must not stall a run without -n: reverse lookups share one 2 second
//! deadline, and what is not resolved by then prints numerically. The resolver is a UDP
//! socket on a loopback address that never answers, named by a resolv.conf bind-mounted
//! in a private mount namespace; every address involved is on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOLDER: &str = r#"
import socket, sys
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); dns.bind((sys.argv[1], 53))
held = [dns]
ports = []
for i in range(1, 41):
    l = socket.socket(); l.bind(("127.1.0.%d" % i, 0)); l.listen(1)
    c = socket.socket(); c.connect(l.getsockname()); s, _ = l.accept()
    held += [l, c, s]; ports.append(l.getsockname()[1])
print(" ".join(map(str, ports)), flush=True)
sys.stdin.read()
"#;

#[test]
fn dead_resolver_costs_at_most_the_deadline() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: needs root to bind port 53 and mount a resolv.conf");
        return;
    }
    // A resolver address of this process's own: port 53 on a fixed address would collide
    // with the same test of another `cargo test` run on the machine (or 127.0.0.54,
    // systemd-resolved's), and the test would then silently use that one.
    let pid = std::process::id();
    let dns = format!("127.53.{}.{}", (pid >> 8) & 0xff, pid & 0xff);
    let mut holder = Command::new("python3")
        .args(["-c", HOLDER, &dns])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut ports = String::new();
    BufReader::new(holder.stdout.as_mut().unwrap())
        .read_line(&mut ports)
        .unwrap();
    let resolv = std::env::temp_dir().join(format!("rnt-dead-resolv-{}", std::process::id()));
    assert_eq!(ports.split_whitespace().count(), 40, "holder: {ports:?}");
    std::fs::write(&resolv, format!("nameserver {dns}\n")).unwrap();

    // Output goes to a file: the machine may hold many sockets, and a pipe nobody reads
    // while we wait would block the writer.
    let out_path = std::env::temp_dir().join(format!("rnt-dead-out-{}", std::process::id()));
    let out_file = std::fs::File::create(&out_path).unwrap();
    let started = Instant::now();
    let mut run = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            "mount --bind \"$0\" /etc/resolv.conf && exec \"$1\" -t",
        ])
        .arg(&resolv)
        .arg(env!("CARGO_BIN_EXE_rnetstat"))
        .stdout(out_file)
        .spawn()
        .unwrap();
    // Sequential lookups would take 40 addresses x 10 s; allow generous slack over 2 s.
    let limit = Duration::from_secs(30);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = run.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = run.wait();
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = holder.kill();
    let _ = holder.wait();
    let _ = std::fs::remove_file(&resolv);
    assert!(
        status.is_some_and(|s| s.success()),
        "rnetstat hung on a dead resolver"
    );
    // The host part is what the dead resolver could stall; the port may print as a
    // service name (/etc/services names ephemeral ports too, e.g. 60179 `fido`).
    for i in 1..=ports.split_whitespace().count() {
        let host = format!(" 127.1.0.{i}:");
        assert!(
            text.contains(&host),
            "{host} not printed numerically:\n{text}"
        );
    }
}
