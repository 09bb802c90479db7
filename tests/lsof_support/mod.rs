//! The python holders of rlsof's differential tests (tests/fixtures/lsof/*.py): each
//! runs in a fresh temp directory and prints one JSON line of what it opened; the
//! process and the directory go away on drop, even when an assertion fails.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    pub dir: std::path::PathBuf,
    /// The JSON line's fields, as text.
    pub info: HashMap<String, String>,
}

impl Holder {
    /// Runs `[PREFIX...] python3 tests/fixtures/lsof/SCRIPT DIR ARGS...` in a fresh
    /// DIR and reads its JSON line.
    pub fn start(prefix: &[&str], script: &str, args: &[&str]) -> Holder {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rlsof-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "{}/tests/fixtures/lsof/{script}",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut command = match prefix.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg("python3");
                c
            }
            None => Command::new("python3"),
        };
        let mut child = command
            .arg(script)
            .arg(&dir)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Not inherited: the test's own stderr may be a growing file, and the
            // holder's fd 2 is part of what both tools list.
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&line).expect("holder info");
        let info = json
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), s)
            })
            .collect();
        Holder {
            child,
            stdin,
            dir,
            info,
        }
    }

    pub fn get(&self, key: &str) -> &str {
        &self.info[key]
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
