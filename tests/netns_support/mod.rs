//! Network namespaces for the tests: one named by `ip netns add`, one unnamed made by
//! `unshare --net` (as a container runtime does), each with a process holding sockets.
//! Everything is torn down by Drop, also when a test fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why a namespace test cannot run here, if it cannot.
pub fn skip_reason() -> Option<&'static str> {
    if !is_root() {
        return Some("needs root to create network namespaces");
    }
    for tool in ["ip", "unshare", "nsenter", "python3", "netstat"] {
        if !have(tool) {
            return Some("ip, unshare, nsenter, python3 or netstat missing");
        }
    }
    None
}

pub fn rnetstat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnetstat"))
        .args(args)
        .output()
        .expect("rnetstat runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

/// The inode of a process's network namespace, as `stat` of its ns file gives it.
pub fn ns_inode(pid: u32) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .expect("ns file")
        .ino()
}

/// A process in a namespace holding the sockets of holder.py.
pub struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The python process (the shell and any shim exec'd into it or forked it).
    pub pid: u32,
    /// Local port of the client end of the established connection.
    pub client_port: u16,
    pub port: u16,
    pub has_v6: bool,
    pub netns: u64,
}

impl Holder {
    /// Runs holder.py under `prefix` (a command that enters or makes the namespace).
    fn start(prefix: &[&str], port: u16, tag: &str) -> Holder {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns_support/holder.py");
        let inner = format!(
            "ip link set lo up && exec python3 {} {port} {tag}",
            script.display()
        );
        let mut child = Command::new(prefix[0])
            .args(&prefix[1..])
            .args(["sh", "-c", &inner])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Not inherited: the test's stderr may be a file that grows while lsof and
            // rlsof look one after the other at the holder's fd 2 (its SIZE/OFF).
            .stderr(Stdio::piped())
            .spawn()
            .expect("holder starts");
        let stdin = child.stdin.take();
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout piped");
        BufReader::new(out)
            .read_line(&mut line)
            .expect("ready line");
        let f: Vec<&str> = line.split_whitespace().collect();
        let ready = f.first() == Some(&"ready") && f.len() == 4;
        let mut holder = Holder {
            child,
            stdin,
            pid: 0,
            client_port: 0,
            port,
            has_v6: false,
            netns: 0,
        };
        if !ready {
            let _ = holder.child.kill();
            let mut err = String::new();
            if let Some(mut e) = holder.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("holder did not start: {line:?}\n{err}");
        }
        holder.pid = f[1].parse().expect("pid");
        holder.client_port = f[2].parse().expect("port");
        holder.has_v6 = f[3] == "1";
        holder.netns = ns_inode(holder.pid);
        holder
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        // Were python a grandchild (a shim that forks), closing stdin still ends it.
        let _ = self.child.wait();
    }
}

/// A namespace made with `ip netns add`, deleted on drop.
pub struct NamedNs {
    pub name: String,
}

impl NamedNs {
    pub fn add(name: String) -> NamedNs {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        NamedNs { name }
    }

    /// A veth pair inside, 198.51.100.1/24 on v0, and a permanent neighbour
    /// 198.51.100.2 behind it: one route and one ARP entry to show.
    pub fn add_link_and_neighbour(&self) {
        let n = self.name.as_str();
        for args in [
            &[
                "-n", n, "link", "add", "v0", "type", "veth", "peer", "name", "v1",
            ][..],
            &["-n", n, "link", "set", "v0", "up"],
            &["-n", n, "link", "set", "v1", "up"],
            &["-n", n, "addr", "add", "198.51.100.1/24", "dev", "v0"],
            &[
                "-n",
                n,
                "neigh",
                "add",
                "198.51.100.2",
                "lladdr",
                "02:00:00:00:00:09",
                "dev",
                "v0",
                "nud",
                "permanent",
            ],
        ] {
            let ok = Command::new("ip").args(args).status();
            assert!(ok.is_ok_and(|s| s.success()), "ip {args:?}");
        }
    }

    /// Starts a holder inside this namespace.
    pub fn hold(&self, port: u16) -> Holder {
        Holder::start(&["ip", "netns", "exec", &self.name], port, &self.name)
    }

    pub fn inode(&self) -> u64 {
        std::fs::metadata(format!("/run/netns/{}", self.name))
            .expect("/run/netns entry")
            .ino()
    }
}

impl Drop for NamedNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A holder in a fresh unnamed namespace (`unshare --net`); the namespace dies with it.
pub fn unshared_holder(port: u16, tag: &str) -> Holder {
    Holder::start(&["unshare", "--net"], port, tag)
}

/// The test's two namespaces, each with a holder listening on the same port (the
/// key of a socket is namespace + inode, never address + port).
pub struct Scene {
    pub named: NamedNs,
    pub in_named: Holder,
    pub in_unnamed: Holder,
    pub port: u16,
}

pub fn scene(test: &str) -> Scene {
    let pid = std::process::id();
    let port = 20000 + (pid % 20000) as u16;
    let named = NamedNs::add(format!("rnt-ns-{test}-{pid}"));
    named.add_link_and_neighbour();
    let in_named = named.hold(port);
    let in_unnamed = unshared_holder(port, &format!("rnt-unnamed-{test}-{pid}"));
    Scene {
        named,
        in_named,
        in_unnamed,
        port,
    }
}
