//! Races: processes fork and exit and sockets open and close by the thousand while the
//! tools scan again and again. Every scan must exit 0 with nothing on stderr (vanished
//! processes and sockets are skipped silently).

use std::process::{Command, Stdio};

const CHURN: &str = r#"
import os, socket, sys, time
end = time.time() + float(sys.argv[1])
while time.time() < end:
    pids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            held = []
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
            for _ in range(50):
                c = socket.socket(); c.connect(l.getsockname()); s, _ = l.accept()
                held += [c, s]
                held += list(socket.socketpair())
            for s in held[::2]:
                s.close()
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
"#;

#[test]
fn scans_survive_churn() {
    let mut churn = Command::new("python3")
        .args(["-c", CHURN, "6"])
        .stdout(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut runs = 0;
    let mut failures = Vec::new();
    while churn.try_wait().unwrap().is_none() && runs < 40 {
        for args in [&["-anp"][..], &["-xap"], &["-tanpeo"]] {
            let out = Command::new(env!("CARGO_BIN_EXE_rnetstat"))
                .args(args)
                .stdout(Stdio::null())
                .output()
                .unwrap();
            // Not root: netstat's notice about other users' processes is expected; so is
            // its warning for a unix path with a newline that some process on the
            // machine holds. Neither is about entries vanishing mid-scan.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let unexpected = stderr.lines().any(|l| {
                !l.starts_with("(Not all processes could be identified")
                    && !l.starts_with(" will not be shown")
                    && l != "warning, got bogus unix line."
            });
            if !out.status.success() || unexpected {
                failures.push(format!(
                    "{args:?}: {:?} {}",
                    out.status,
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
