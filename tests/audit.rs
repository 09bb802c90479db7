//! `rnetstat --audit` against real conditions the test makes inside a private network
//! namespace: a promiscuous interface, two neighbours sharing one MAC, a packet
//! socket, a listener whose executable was deleted, and a listener whose only
//! descriptor is in flight in a unix socket. A namespace with none of them must audit
//! clean. Cross-view logic is tested on recorded views (tests/fixtures/audit).

use rnetstat::audit::crossview;
use rnetstat::audit::finding::Check;
use rnetstat::audit::probe::{self, BindResult, Space};
use rnetstat::audit::views::Views;
use rnetstat::proc::inet::Proto;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

mod audit_support;
use audit_support::{findings, python, python_binary, Lab};

const LISTENER: &str = r#"
import os, socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
print(os.getpid(), l.getsockname()[1], os.fstat(l.fileno()).st_ino, flush=True)
time.sleep(300)
"#;

const PACKET: &str = r#"
import os, socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
print(os.getpid(), os.fstat(s.fileno()).st_ino, flush=True)
time.sleep(300)
"#;

/// The listener's descriptor goes into a unix socket that nobody reads; the
/// process then closes its own copy.
const IN_FLIGHT: &str = r#"
import array, os, socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
port, ino = l.getsockname()[1], os.fstat(l.fileno()).st_ino
a, b = socket.socketpair()
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [l.fileno()]))])
l.close()
print(os.getpid(), port, ino, flush=True)
time.sleep(300)
"#;

#[test]
fn real_conditions_are_reported_with_their_evidence() {
    if audit_support::cannot_run("real_conditions_are_reported_with_their_evidence", &[]) {
        return;
    }
    let mut lab = Lab::new("dirty");
    lab.ip("link add v0 type veth peer name v1");
    lab.ip("link set v0 up");
    lab.ip("link set v1 up");
    lab.ip("addr add 192.0.2.10/24 dev v0");
    lab.ip("link set v0 promisc on");
    lab.ip("route add default via 192.0.2.1");
    lab.ip("neigh add 192.0.2.1 lladdr 02:00:00:00:00:01 dev v0 nud permanent");
    lab.ip("neigh add 192.0.2.2 lladdr 02:00:00:00:00:01 dev v0 nud permanent");

    let packet = lab.start(&python(), PACKET, &[]);
    let copy = lab.dir.join("listener");
    std::fs::copy(python_binary(), &copy).unwrap();
    let deleted = lab.start(&copy, LISTENER, &[]);
    std::fs::remove_file(&copy).unwrap();
    let flight = lab.start(&python(), IN_FLIGHT, &[]);
    let netns = lab.inode();

    let (status, json, stderr) = lab.audit(true, &[]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 1, "{report}\n{stderr}");
    assert_eq!(json["clean"], false);
    assert_eq!(json["namespaces"][0]["inode"], netns, "{report}");

    // Promiscuous interface, from both sources.
    let promisc = findings(&json, "promiscuous");
    assert!(
        promisc.iter().any(|f| f["evidence"]["interface"] == "v0"
            && f["evidence"]["namespace"] == netns
            && f["summary"].as_str().unwrap().contains("agree")),
        "{report}"
    );

    // One MAC for two neighbours, one of them the default gateway.
    let arp = findings(&json, "arp");
    assert!(
        arp.iter()
            .any(|f| f["evidence"]["mac"] == "02:00:00:00:00:01"
                && f["evidence"]["addresses"] == serde_json::json!(["192.0.2.1", "192.0.2.2"])
                && f["evidence"]["interface"] == "v0"
                && f["severity"] == "high"),
        "{report}"
    );

    // The packet socket with its process.
    let sniff = findings(&json, "sniffer");
    assert!(
        sniff.iter().any(|f| f["evidence"]["pid"] == packet[0]
            && f["evidence"]["inode"] == packet[1]
            && f["evidence"]["protocol"] == "packet"
            && f["evidence"]["program"] == "python3"),
        "{report}"
    );

    // The listener whose executable is gone.
    let procs = findings(&json, "process");
    assert!(
        procs.iter().any(|f| f["evidence"]["pid"] == deleted[0]
            && f["summary"].as_str().unwrap().contains("deleted")
            && f["evidence"]["exe"]
                .as_str()
                .unwrap()
                .ends_with("/listener (deleted)")),
        "{report}"
    );

    // The listener held only by a descriptor in flight.
    let unowned = findings(&json, "unowned-socket");
    assert!(
        unowned.iter().any(|f| f["evidence"]["port"] == flight[1]
            && f["evidence"]["inode"] == flight[2]
            && f["evidence"]["state"] == "LISTEN"
            && f["evidence"]["address"] == "127.0.0.1"),
        "{report}"
    );
    // Nothing is hidden here: no cross-view or probe finding, and the listener that
    // does have a process is not called unowned.
    assert!(findings(&json, "cross-view").is_empty(), "{report}");
    assert!(findings(&json, "port-probe").is_empty(), "{report}");
    assert!(
        !unowned.iter().any(|f| f["evidence"]["port"] == deleted[1]),
        "{report}"
    );

    // The same namespace seen from the host with --all-netns: entered with setns, its
    // own sysfs mounted for the flags.
    let (status, json, stderr) = lab.audit(false, &["--all-netns", "--no-probe"]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 1, "{stderr}");
    assert!(
        json["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["inode"] == netns && n["name"] == lab.ns.as_str()),
        "{report}"
    );
    let promisc = findings(&json, "promiscuous");
    assert!(
        promisc.iter().any(|f| f["evidence"]["interface"] == "v0"
            && f["evidence"]["namespace"] == netns
            && f["summary"].as_str().unwrap().contains("agree")),
        "{report}"
    );
    assert!(
        findings(&json, "sniffer")
            .iter()
            .any(|f| f["evidence"]["pid"] == packet[0] && f["evidence"]["namespace"] == netns),
        "{report}"
    );
    // --netns NAME audits that one namespace from outside.
    let (status, json, stderr) = lab.audit(false, &["--netns", &lab.ns, "--no-probe"]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(json["namespaces"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(json["namespaces"][0]["inode"], netns, "{report}");
    assert!(
        findings(&json, "arp")
            .iter()
            .any(|f| f["evidence"]["namespace"] == netns),
        "{report}"
    );
}

#[test]
fn a_namespace_without_them_audits_clean() {
    if audit_support::cannot_run("a_namespace_without_them_audits_clean", &[]) {
        return;
    }
    let mut lab = Lab::new("clean");
    lab.ip("link add v0 type veth peer name v1");
    lab.ip("link set v0 up");
    lab.ip("addr add 198.51.100.10/24 dev v0");
    // An ordinary server: a listener held by a program that is where it should be.
    let _server = lab.start(&python(), LISTENER, &[]);
    let (status, json, stderr) = lab.audit(true, &[]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 0, "{report}\n{stderr}");
    assert_eq!(json["clean"], true);
    assert!(json["findings"].as_array().unwrap().is_empty(), "{report}");
    assert!(json["not_done"].as_array().unwrap().is_empty(), "{report}");

    // The text report says the same.
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns,
            env!("CARGO_BIN_EXE_rnetstat"),
            "--audit",
            "--no-probe",
        ])
        .env_remove("LD_PRELOAD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("rnetstat audit: 0 findings in 1 network namespace"),
        "{text}"
    );

    // Without root the audit says which checks it could not do.
    if Command::new("setpriv").arg("--version").output().is_ok() {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &lab.ns,
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
            ])
            .args([
                "--clear-groups",
                env!("CARGO_BIN_EXE_rnetstat"),
                "--audit",
                "--json",
            ])
            .arg("--no-probe")
            .env_remove("LD_PRELOAD")
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["root"], false);
        let skipped: Vec<&str> = json["not_done"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["check"].as_str())
            .collect();
        assert!(skipped.contains(&"unowned-socket"), "{json}");
        assert!(skipped.contains(&"ghost-socket"), "{json}");
        // Another namespace cannot be entered without root: nothing to audit, status 2.
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args([
                env!("CARGO_BIN_EXE_rnetstat"),
                "--audit",
                "--no-probe",
                "--netns",
                &lab.ns,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
    }
}

#[test]
fn an_audit_that_cannot_run_exits_2() {
    let dir = std::env::temp_dir().join(format!("rnt-audit-noproc-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("net")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rnetstat"))
        .args(["--audit", "--proc-root"])
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("live system"));
}

/// Records the views of the namespace it runs in (how the fixtures were made):
/// `RNT_AUDIT_RECORD=DIR ip netns exec NS <this test binary> --ignored record_views`.
#[test]
#[ignore]
fn record_views() {
    if let Some(dir) = std::env::var_os("RNT_AUDIT_RECORD") {
        Views::record(Path::new(&dir)).unwrap();
    }
}

fn recorded(look: &str) -> Views {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit");
    Views::load_recorded(&dir.join(look)).unwrap()
}

/// (protocol, inode, the view it is missing from) of each cross-view finding.
fn hidden(findings: &[rnetstat::audit::finding::Finding]) -> Vec<(String, u64, &'static str)> {
    let mut v: Vec<_> = findings
        .iter()
        .map(|f| {
            assert_eq!(f.check, Check::CrossView);
            let from = if f.summary.contains("/proc/net") {
                "proc"
            } else {
                "netlink"
            };
            (
                f.evidence.protocol.clone().unwrap_or_default(),
                f.evidence.inode.unwrap_or(0),
                from,
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn cross_view_reports_differences_that_last() {
    let (first, second) = (recorded("look1"), recorded("look2"));
    let findings = crossview::compare(&first, &second, 4026532000).unwrap();
    assert_eq!(
        hidden(&findings),
        vec![
            ("tcp".to_string(), 2198250, "proc"),
            ("udp6".to_string(), 2198255, "netlink"),
            ("unix".to_string(), 2198256, "proc"),
        ]
    );
    let tcp = findings
        .iter()
        .find(|f| f.evidence.inode == Some(2198250))
        .unwrap();
    assert_eq!(tcp.evidence.address.as_deref(), Some("127.0.0.1"));
    assert_eq!(tcp.evidence.port, Some(5001));
    assert_eq!(tcp.evidence.state.as_deref(), Some("LISTEN"));
    assert_eq!(tcp.evidence.namespace, Some(4026532000));
    let unix = findings
        .iter()
        .find(|f| f.evidence.inode == Some(2198256))
        .unwrap();
    assert!(unix
        .evidence
        .address
        .as_deref()
        .unwrap()
        .ends_with("/srv.sock"));
    let udp6 = findings
        .iter()
        .find(|f| f.evidence.inode == Some(2198255))
        .unwrap();
    assert_eq!(
        (udp6.evidence.address.as_deref(), udp6.evidence.port),
        (Some("::1"), Some(5004))
    );
}

#[test]
fn transient_differences_are_not_reported() {
    let (first, second) = (recorded("look1"), recorded("look2"));
    // Each look alone does show its transient difference...
    let once = hidden(&crossview::compare(&first, &first, 1).unwrap());
    assert!(
        once.contains(&("udp".to_string(), 2198254, "proc")),
        "{once:?}"
    );
    let once = hidden(&crossview::compare(&second, &second, 1).unwrap());
    assert!(
        once.contains(&("tcp".to_string(), 2198251, "netlink")),
        "{once:?}"
    );
    assert!(
        once.contains(&("unix".to_string(), 2198257, "netlink")),
        "{once:?}"
    );
    // ...and the two looks together do not.
    let both = hidden(&crossview::compare(&first, &second, 1).unwrap());
    for inode in [2198254, 2198251, 2198257] {
        assert!(!both.iter().any(|h| h.1 == inode), "{both:?}");
    }
    // A third look that does show the listener in /proc clears it.
    let mut third = second.clone();
    let listener = third
        .diag_inet
        .iter()
        .flatten()
        .find(|s| s.inode == 2198250)
        .cloned()
        .unwrap();
    third.proc_inet.push(listener);
    let three = hidden(&crossview::compare_looks(&[&first, &second, &third], 1).unwrap());
    assert!(!three.iter().any(|h| h.1 == 2198250), "{three:?}");
    assert_eq!(three.len(), 2, "{three:?}");
    // Without a netlink view there is no comparison to make.
    let mut blind = second.clone();
    blind.diag_inet = None;
    assert!(crossview::compare(&first, &blind, 1).is_none());
}

#[test]
fn a_socket_from_another_namespace_is_not_hidden() {
    if audit_support::cannot_run("a_socket_from_another_namespace_is_not_hidden", &[]) {
        return;
    }
    // The listener is made in `origin` and passed to a process of `holder` over a
    // path-named unix socket (those reach across network namespaces); its maker exits.
    let mut holder = Lab::new("holder");
    let mut origin = Lab::new("origin");
    let path = holder.dir.join("pass.sock");
    let path = path.to_str().unwrap();
    let sender = format!(
        r#"
import os, socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
print(os.getpid(), l.getsockname()[1], os.fstat(l.fileno()).st_ino, flush=True)
for _ in range(400):
    try:
        u = socket.socket(socket.AF_UNIX); u.connect("{path}"); break
    except OSError:
        time.sleep(0.05)
socket.send_fds(u, [b"x"], [l.fileno()])
u.recv(1)
"#
    );
    let receiver = format!(
        r#"
import os, socket, time
srv = socket.socket(socket.AF_UNIX); srv.bind("{path}"); srv.listen(1)
c, _ = srv.accept()
msg, fds, flags, addr = socket.recv_fds(c, 16, 4)
c.close()
print(os.getpid(), os.fstat(fds[0]).st_ino, flush=True)
time.sleep(300)
"#
    );
    let made = origin.start(&python(), &sender, &[]);
    let held = holder.start(&python(), &receiver, &[]);
    assert_eq!(made[2], held[1], "the listener was passed");
    // The sender has exited: the holder namespace's process is the only holder.
    let _ = origin.children[0].wait();

    let (status, json, stderr) = holder.audit(true, &["--no-probe"]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert!(findings(&json, "ghost-socket").is_empty(), "{report}");
    assert_eq!(status, 0, "{report}\n{stderr}");

    let (status, json, stderr) = origin.audit(true, &["--no-probe"]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert!(findings(&json, "unowned-socket").is_empty(), "{report}");
    assert_eq!(status, 0, "{report}\n{stderr}");
}

/// Every port either recorded view of `look` gives a socket.
fn held(look: &Views) -> std::collections::HashSet<(Proto, u16)> {
    probe::held_ports(look.proc_inet.iter().chain(look.diag_inet.iter().flatten()))
}

#[test]
fn probe_hits_are_judged_against_both_recorded_views() {
    let (first, second) = (recorded("look1"), recorded("look2"));
    let tcp = Space {
        proto: Proto::Tcp,
        v6: false,
    };
    let udp6 = Space {
        proto: Proto::Udp,
        v6: true,
    };
    let udp = Space {
        proto: Proto::Udp,
        v6: false,
    };
    // Ports a sweep found in use. 5001 is missing from /proc but sock_diag has it,
    // 5004 the other way round: a socket in either view explains the port. 5003 is
    // missing from look1's /proc only. 6000 and 6001 are in no view.
    assert_eq!(
        probe::unexplained(tcp, &[5001, 6000], &held(&first)),
        vec![6000]
    );
    assert_eq!(
        probe::unexplained(udp6, &[5004, 6001], &held(&first)),
        vec![6001]
    );
    assert!(
        held(&first).contains(&(Proto::Udp, 5003)),
        "udp 5003 is in sock_diag"
    );

    // Confirmation against the second look: 6001 stopped being in use (a socket that
    // was closing), 6000 stays in use with no socket anywhere: that is the finding.
    let looks = [held(&second), held(&second)];
    let mut next = looks.iter();
    let confirmed = probe::confirm(
        vec![(tcp, 6000), (udp6, 6001), (udp, 5003)],
        2,
        || Ok::<_, ()>(next.next().unwrap().clone()),
        |_, port| {
            Some(if port == 6001 {
                BindResult::Free
            } else {
                BindResult::InUse
            })
        },
    )
    .unwrap();
    assert_eq!(confirmed, vec![(tcp, 6000)]);
}

/// Sockets opening and closing by the hundred while the audit looks. Connections
/// end with a reset (SO_LINGER 0): no TIME_WAIT pile-up to slow every reader down.
const CHURN: &str = r#"
import os, socket, struct, time
print(os.getpid(), flush=True)
reset = struct.pack("ii", 1, 0)
end = time.time() + 120
while time.time() < end:
    held = []
    for _ in range(20):
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
        c = socket.socket(); c.connect(l.getsockname()); s, _ = l.accept()
        for x in (c, s):
            x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0))
        held += [l, c, s, u] + list(socket.socketpair())
    for x in held:
        x.close()
    time.sleep(0.01)
"#;

#[test]
fn sockets_that_come_and_go_are_not_reported() {
    if audit_support::cannot_run("sockets_that_come_and_go_are_not_reported", &[]) {
        return;
    }
    let mut lab = Lab::new("churn");
    lab.start(&python(), CHURN, &[]);
    let (status, json, stderr) = lab.audit(true, &[]);
    let report = serde_json::to_string_pretty(&json).unwrap();
    assert_eq!(status, 0, "{report}\n{stderr}");
    assert!(json["findings"].as_array().unwrap().is_empty(), "{report}");
}
