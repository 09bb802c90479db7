//! Real clients of netstat, ss and lsof, run once against the reference tools and once
//! with our binaries put in their place (a directory of `netstat`, `ss` and `lsof`
//! symlinks ahead of PATH, as a user who replaces the tools would have it):
//!
//! - Ansible's `community.general.listen_ports_facts` (it runs `ss -p -l -u -n -t` or
//!   `netstat -p -l -u -n -t`, `-a` instead of `-l` with include_non_listening): the
//!   facts it gathers must be equal.
//! - SaltStack's execution modules (`salt-call --local`): `network.netstat` (it runs
//!   `netstat -tulpnea`, or `ss -tulpnea` where no netstat is on PATH),
//!   `network.routes` (`netstat -A inet -rn`, `netstat -A inet6 -rn`) and `ps.lsof NAME`
//!   (`lsof -c NAME`): the data they return must be equal. Salt comes from PyPI
//!   (tests/support/salt-requirements.txt); .ci/run installs it in target/salt-venv.
//! - jc's `--netstat`, `--ss` and `--lsof` parsers: the JSON they make must be equal.
//! - sosreport's command lines (sos 4.x, plugins networking and process):
//!   `netstat -W -neopa`, `netstat -s`, `netstat -W -agn`, `lsof -b +M -n -l -c ''` and
//!   `lsof -b +M -n -l`: stdout, stderr and status must be equal.
//!
//! Everything runs inside fresh network, PID and mount namespaces holding only the
//! test's sockets (a holder that is PID 1 there), so both runs see the same system. lsof
//! lists its own process too, whose binary and libraries differ by nature: its rows are
//! compared for the holder (PID 1) and the header only.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

/// Sockets of the holder: TCP listeners on 127.0.0.1 and ::1, an established loopback
/// connection, a UDP socket, a unix stream listener on a path and one abstract.
const HOLDER: &str = r#"
import os, socket, sys
port, udp_port, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
keep = []
l4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l4.bind(("127.0.0.1", port)); l4.listen(8); keep.append(l4)
l6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
l6.bind(("::1", port)); l6.listen(8); keep.append(l6)
c = socket.create_connection(("127.0.0.1", port)); s, _ = l4.accept(); keep += [c, s]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", udp_port)); keep.append(u)
x = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); x.bind(path); x.listen(1); keep.append(x)
a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); a.bind("\0rnt-clients"); a.listen(1); keep.append(a)
print("ready", flush=True)
sys.stdin.read()
"#;

/// The pod's network: loopback, and a veth pair with documentation addresses and one
/// route through them (nothing is sent anywhere: the pair's ends are both in the pod).
/// First, the pod's copy of /run/netns goes: it holds the namespaces other tests had
/// named when the pod was made (lsof lists mounts; some names are hostile on purpose,
/// which lsof prints raw and rlsof escapes).
const NETWORK: &str = "umount -l /run/netns 2>/dev/null; ip link set lo up \
    && ip link add rnc0 type veth peer name rnc1 \
    && ip addr add 192.0.2.1/24 dev rnc0 \
    && ip -6 addr add 2001:db8::1/64 dev rnc0 nodad \
    && ip link set rnc0 up && ip link set rnc1 up \
    && ip route add 198.51.100.0/24 via 192.0.2.2 \
    && ip -6 route add 2001:db8:5::/48 via 2001:db8::2";

/// A holder as PID 1 of new network, PID and mount namespaces (`/proc` remounted).
struct Pod {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The holder's PID outside, for nsenter.
    pid: u32,
    dir: PathBuf,
}

impl Pod {
    fn start(dir: &Path) -> Pod {
        let inner = format!(
            "{NETWORK} && exec python3 -c '{HOLDER}' 2222 5353 {}/listener.sock",
            dir.display()
        );
        // The holder's stderr is a file of its own: were it the test's, lsof would list
        // it at a size that grows between the reference's run and ours.
        let errors = dir.join("holder.err");
        let mut child = Command::new("unshare")
            .args([
                "--net",
                "--pid",
                "--fork",
                "--mount-proc",
                "sh",
                "-c",
                &inner,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&errors).expect("holder's stderr file"))
            .spawn()
            .expect("unshare runs");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("ready line");
        // unshare forks the namespace's PID 1 and waits for it.
        let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
            .unwrap_or_default();
        let pid = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok());
        let mut pod = Pod {
            child,
            stdin,
            pid: 0,
            dir: dir.to_path_buf(),
        };
        match pid {
            Some(pid) if line.trim() == "ready" => pod.pid = pid,
            _ => panic!(
                "holder did not start: {line:?} (children {children:?}): {}",
                fs::read_to_string(&errors).unwrap_or_default()
            ),
        }
        pod
    }

    /// `script` run by sh inside the pod, with our binaries first on PATH when `ours`.
    fn run(&self, script: &str, ours: bool) -> Output {
        self.run_with_shim(script, ours.then(|| self.dir.join("shim")))
    }

    /// `script` run by sh inside the pod, with `shim` first on PATH.
    fn run_with_shim(&self, script: &str, shim: Option<PathBuf>) -> Output {
        let path = std::env::var("PATH").unwrap_or_default();
        let path = match shim {
            Some(shim) => format!("{}:{path}", shim.display()),
            None => path,
        };
        let target = self.pid.to_string();
        let mut child = Command::new("nsenter")
            .args(["-t", &target, "-n", "-p", "-m", "--", "env"])
            .arg(format!("PATH={path}"))
            .arg(format!("HOME={}", self.dir.display()))
            .arg(format!("ANSIBLE_LOCAL_TEMP={}/ansible", self.dir.display()))
            .arg(format!(
                "ANSIBLE_REMOTE_TEMP={}/ansible",
                self.dir.display()
            ))
            .args([
                "ANSIBLE_STDOUT_CALLBACK=json",
                "ANSIBLE_LOAD_CALLBACK_PLUGINS=1",
                "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
                "ANSIBLE_NOCOLOR=1",
                "/bin/sh",
                "-c",
                script,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nsenter runs");
        let out = common::read_all_in_thread(child.stdout.take());
        let err = common::read_all_in_thread(child.stderr.take());
        let status = common::wait_timeout(&mut child, Duration::from_secs(300));
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Output {
            status: status.unwrap_or_else(|| panic!("{script}: timed out")),
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory with the shim (our binaries under the reference tools' names).
fn workdir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("clients-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("shim")).expect("shim dir");
    fs::create_dir_all(dir.join("ansible")).expect("ansible dir");
    for (name, ours) in [
        ("netstat", env!("CARGO_BIN_EXE_rnetstat")),
        ("ss", env!("CARGO_BIN_EXE_rss")),
        ("lsof", env!("CARGO_BIN_EXE_rlsof")),
    ] {
        symlink(ours, dir.join("shim").join(name)).expect("shim link");
    }
    dir
}

fn ready(test: &str, tools: &[&str]) -> bool {
    if !nix::unistd::geteuid().is_root() {
        common::skip(test, "needs root for namespaces");
        return false;
    }
    for tool in [
        "unshare", "nsenter", "ip", "python3", "netstat", "ss", "lsof",
    ]
    .iter()
    .chain(tools)
    {
        if common::find_program(tool).is_none() {
            common::skip(test, &format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The header and the holder's rows of lsof's listing (PID 1 in the pod).
fn holder_rows(listing: &str) -> String {
    let mut lines = listing.lines();
    let mut kept: Vec<&str> = lines.next().into_iter().collect();
    kept.extend(lines.filter(|l| l.split_whitespace().nth(1) == Some("1")));
    kept.join("\n")
}

fn facts(ansible_json: &[u8]) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(ansible_json)
        .unwrap_or_else(|e| panic!("ansible's json callback: {e}\n{}", text(ansible_json)));
    let result = &doc["plays"][0]["tasks"][0]["hosts"]["localhost"];
    assert!(
        result["failed"] != serde_json::Value::Bool(true),
        "the module failed: {result}"
    );
    result["ansible_facts"].clone()
}

#[test]
fn ansible_listen_ports_facts() {
    if !ready("ansible_listen_ports_facts", &["ansible", "ps"]) {
        return;
    }
    let pod = Pod::start(&workdir("ansible"));
    let mut problems = String::new();
    for command in ["ss", "netstat"] {
        for non_listening in ["no", "yes"] {
            let script = format!(
                "exec ansible localhost -c local -m community.general.listen_ports_facts \
                 -a 'command={command} include_non_listening={non_listening}'"
            );
            let reference = facts(&pod.run(&script, false).stdout);
            let ours = facts(&pod.run(&script, true).stdout);
            let listed = reference["tcp_listen"].as_array().map_or(0, Vec::len);
            assert!(
                listed >= 2,
                "{command}: the holder's listeners: {reference}"
            );
            if reference != ours {
                problems.push_str(&format!(
                    "command={command} include_non_listening={non_listening}\n\
                     reference: {reference}\nours:      {ours}\n"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "listen_ports_facts differ:\n{problems}"
    );
}

/// Which of jc's records a comparison keeps.
#[derive(Clone, Copy)]
enum Keep {
    All,
    /// lsof's: the holder's (PID 1); lsof's own rows differ by nature.
    Holder,
    /// `netstat -i`'s: loopback, whose counters stand still (the veth pair sends IPv6
    /// router solicitations of its own while the two runs take turns).
    Loopback,
}

#[test]
fn jc_parsers() {
    if !ready("jc_parsers", &["jc"]) {
        return;
    }
    let pod = Pod::start(&workdir("jc"));
    let mut problems = String::new();
    for (script, keep) in [
        // Not -anp: jc 1.22 cannot parse netstat's unix rows with -p once socket inodes
        // reach nine digits (the reference's output, not ours, is what it trips on).
        ("netstat -tuanp | jc --netstat", Keep::All),
        ("netstat -xa | jc --netstat", Keep::All),
        ("netstat -lntu | jc --netstat", Keep::All),
        ("netstat -rn | jc --netstat", Keep::All),
        ("netstat -i | jc --netstat", Keep::Loopback),
        ("ss -tuanp | jc --ss", Keep::All),
        ("ss -xa | jc --ss", Keep::All),
        ("lsof -nP | jc --lsof", Keep::Holder),
        ("lsof -nP -i | jc --lsof", Keep::Holder),
    ] {
        let reference = pod.run(script, false);
        let ours = pod.run(script, true);
        let parse = |o: &Output| -> serde_json::Value {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("{script}: jc's output: {e}: {}", text(&o.stderr)));
            let kept = |r: &serde_json::Value| match keep {
                Keep::All => true,
                Keep::Holder => r["pid"] == 1,
                Keep::Loopback => r["iface"] == "lo",
            };
            match v {
                serde_json::Value::Array(rows) => {
                    serde_json::Value::Array(rows.into_iter().filter(kept).collect())
                }
                v => v,
            }
        };
        let (reference, ours) = (parse(&reference), parse(&ours));
        let rows = reference.as_array().map_or(0, Vec::len);
        assert!(rows > 0, "{script}: jc parsed nothing: {reference}");
        if reference != ours {
            problems.push_str(&format!(
                "{script}\nreference: {reference}\nours:      {ours}\n"
            ));
        }
    }
    assert!(problems.is_empty(), "jc's parse differs:\n{problems}");
}

/// salt-call: on PATH, else where .ci/run installs it.
fn salt_call() -> Option<PathBuf> {
    common::find_program("salt-call").or_else(|| {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/salt-venv/bin/salt-call");
        venv.exists().then_some(venv)
    })
}

#[test]
fn salt_network_and_ps_modules() {
    if !ready("salt_network_and_ps_modules", &[]) {
        return;
    }
    let Some(salt) = salt_call() else {
        common::skip(
            "salt_network_and_ps_modules",
            "salt-call is not installed (see .ci/run: target/salt-venv)",
        );
        return;
    };
    let dir = workdir("salt");
    let conf = dir.join("salt");
    fs::create_dir_all(&conf).expect("salt config dir");
    fs::write(
        conf.join("minion"),
        format!("file_client: local\nroot_dir: {}\n", conf.display()),
    )
    .expect("minion config");
    // network.netstat runs ss only where it finds no netstat, and salt looks in the
    // system directories whatever PATH says: inside the pod's own mount namespace,
    // netstat is covered by /dev/null (not executable), and `ss` is the reference's or
    // ours by PATH.
    let netstat = common::find_program("netstat").expect("netstat");
    let hide_netstat = format!("mount --bind /dev/null {} && ", netstat.display());
    let pod = Pod::start(&dir);
    let call = |function: &str| {
        format!(
            "exec {} --local -c {} --out json {function}",
            salt.display(),
            conf.display()
        )
    };
    let returned = |o: &Output, what: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "{what}: salt's output: {e}: {}{}",
                text(&o.stdout),
                text(&o.stderr)
            )
        });
        v["local"].clone()
    };
    let mut problems = String::new();
    for function in ["network.netstat", "network.routes", "ps.lsof python3"] {
        let reference = returned(&pod.run(&call(function), false), function);
        let ours = returned(&pod.run(&call(function), true), function);
        let size = reference.as_array().map_or(0, Vec::len);
        assert!(size > 0, "{function}: nothing returned: {reference}");
        if reference != ours {
            problems.push_str(&format!(
                "{function}\nreference: {reference}\nours:      {ours}\n"
            ));
        }
    }
    let through_ss = format!("{hide_netstat}{}", call("network.netstat"));
    let ss_alone = dir.join("shim-ss");
    fs::create_dir_all(&ss_alone).expect("shim dir");
    symlink(env!("CARGO_BIN_EXE_rss"), ss_alone.join("ss")).expect("shim link");
    let reference = returned(&pod.run(&through_ss, false), "ss");
    let ours = returned(&pod.run_with_shim(&through_ss, Some(ss_alone)), "ss");
    // Through ss, a record's program is the name alone (netstat's is PID/name).
    let through_ss_indeed = reference.as_array().is_some_and(|records| {
        !records.is_empty() && records.iter().all(|r| r["program"] == "python3")
    });
    assert!(through_ss_indeed, "network.netstat through ss: {reference}");
    if reference != ours {
        problems.push_str(&format!(
            "network.netstat through ss\nreference: {reference}\nours:      {ours}\n"
        ));
    }
    assert!(problems.is_empty(), "salt's modules differ:\n{problems}");
}

#[test]
fn sosreport_command_lines() {
    if !ready("sosreport_command_lines", &[]) {
        return;
    }
    let pod = Pod::start(&workdir("sos"));
    let mut problems = String::new();
    for (command, lsof) in [
        ("netstat -W -neopa", false),
        ("netstat -s", false),
        ("netstat -W -agn", false),
        ("lsof -b +M -n -l -c ''", true),
        ("lsof -b +M -n -l", true),
    ] {
        let script = format!("exec {command}");
        let reference = pod.run(&script, false);
        let ours = pod.run(&script, true);
        let (mut want, mut got) = (text(&reference.stdout), text(&ours.stdout));
        if lsof {
            want = holder_rows(&want);
            got = holder_rows(&got);
            assert!(want.lines().count() > 10, "{command}: holder rows: {want}");
        }
        let checks = [
            ("stdout", want, got),
            ("stderr", text(&reference.stderr), text(&ours.stderr)),
            (
                "status",
                format!("{:?}", reference.status.code()),
                format!("{:?}", ours.status.code()),
            ),
        ];
        for (what, want, got) in checks {
            if want != got {
                problems.push_str(&format!(
                    "{command}: {what}\n--- reference\n{want}\n--- ours\n{got}\n"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "sosreport's commands differ:\n{problems}"
    );
}
