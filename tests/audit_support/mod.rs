//! The test lab shared by the audit and filter tests (tests/audit.rs,
//! tests/audit_filters.rs, tests/ss_filters.rs): a private network namespace, the
//! helper processes started in it and a scratch directory, all removed on drop; and
//! running rnetstat/rss inside it.
#![allow(dead_code)]

#[path = "../common/mod.rs"]
pub mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// Why these tests cannot run here (not root, no `ip`, no python3), if they cannot.
pub fn cannot_run(test: &str, tools: &[&str]) -> bool {
    if !is_root() {
        common::skip(test, "needs root for ip netns");
        return true;
    }
    for tool in ["ip", "python3"].iter().chain(tools) {
        if !have(tool) {
            common::skip(test, &format!("{tool} is not installed"));
            return true;
        }
    }
    false
}

fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(st.success(), "{args:?} failed");
}

pub fn python() -> PathBuf {
    PathBuf::from("python3")
}

/// The real python binary behind `python3` (shims and symlinks resolved), to copy.
pub fn python_binary() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, sys; print(os.path.realpath(sys.executable))",
        ])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A holder of filtered sockets: argv[1..6] the programs (`tcpdump -ddd`) attached to
/// a TCP listener, a UDP socket, a unix socket, a raw and a packet socket, argv[6] the
/// unix socket's abstract name, argv[7] = "ebpf" for a UDP socket with an eBPF
/// program too. See the script for what it prints.
pub const FILTER_HOLDER: &str = include_str!("filter_holder.py");

/// The programs FILTER_HOLDER attaches: tcp, udp, unix, raw, packet (tcpdump compiles
/// them for an Ethernet link; the kernel takes any valid classic program on any
/// socket).
pub const FILTER_EXPRS: [&str; 5] = [
    "tcp port 22",
    "udp port 53",
    "less 100",
    "ip proto 17",
    "udp and port 53 and udp[8:4] = 0x5254",
];

/// `tcpdump FLAG EXPR` compiled offline for Ethernet (an empty capture file).
pub fn tcpdump(flag: &str, expr: &str, dir: &Path) -> String {
    let file = dir.join("empty.pcap");
    let mut h = Vec::new();
    for v in [0xa1b2c3d4u32, 0x0004_0002, 0, 0, 262144, 1] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(&file, h).unwrap();
    let out = Command::new("tcpdump")
        .arg("-r")
        .arg(&file)
        .args([flag, expr])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// `tcpdump -ddd` text as (code, jt, jf, k).
pub fn program(ddd: &str) -> Vec<[u32; 4]> {
    ddd.lines()
        .skip(1)
        .map(|l| {
            let n: Vec<u32> = l.split_whitespace().map(|w| w.parse().unwrap()).collect();
            [n[0], n[1], n[2], n[3]]
        })
        .collect()
}

/// The audit findings of one check.
pub fn findings<'a>(json: &'a Value, check: &str) -> Vec<&'a Value> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// A namespace, the processes started in it and a scratch directory, all removed on drop.
pub struct Lab {
    pub ns: String,
    pub dir: PathBuf,
    pub children: Vec<Child>,
}

impl Lab {
    /// `tag` must be unique within the test binary (the pid makes it so across them).
    pub fn new(tag: &str) -> Lab {
        let ns = format!("rnt-lab-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&ns);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let lab = Lab {
            ns,
            dir,
            children: Vec::new(),
        };
        sh(&["ip", "netns", "add", &lab.ns]);
        lab.ip("link set lo up");
        lab
    }

    pub fn ip(&self, args: &str) {
        let mut v = vec!["ip", "-n", &self.ns];
        v.extend(args.split_whitespace());
        sh(&v);
    }

    /// Starts `program -c script ARGS` in the namespace; returns the numbers of its
    /// first output line.
    pub fn start(&mut self, program: &Path, script: &str, args: &[&str]) -> Vec<u64> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(program)
            .args(["-c", script])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        self.children.push(child);
        line.split_whitespace()
            .map(|w| w.parse().unwrap_or_else(|_| panic!("helper said {line:?}")))
            .collect()
    }

    /// The namespace's nsfs inode.
    pub fn inode(&self) -> u64 {
        std::fs::metadata(format!("/run/netns/{}", self.ns))
            .unwrap()
            .ino()
    }

    /// Runs `program ARGS` inside the namespace (without LD_PRELOAD).
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns, program])
            .args(args)
            .env_remove("LD_PRELOAD")
            .output()
            .unwrap()
    }

    /// `rnetstat --audit --json EXTRA`, inside the namespace (or on the host with
    /// `inside = false`): status, the document, stderr.
    pub fn audit(&self, inside: bool, extra: &[&str]) -> (i32, Value, String) {
        let bin = env!("CARGO_BIN_EXE_rnetstat");
        let mut args = vec!["--audit", "--json"];
        args.extend_from_slice(extra);
        let out = if inside {
            self.exec(bin, &args)
        } else {
            Command::new(bin)
                .args(&args)
                .env_remove("LD_PRELOAD")
                .output()
                .unwrap()
        };
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
        (out.status.code().unwrap_or(-1), json, stderr)
    }

    /// The text report, `rnetstat --audit EXTRA` inside the namespace.
    pub fn audit_text(&self, extra: &[&str]) -> (i32, String, String) {
        let mut args = vec!["--audit"];
        args.extend_from_slice(extra);
        let out = self.exec(env!("CARGO_BIN_EXE_rnetstat"), &args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
