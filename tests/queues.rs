//! `--queues`: a holder in a private network namespace keeps known unread data on TCP
//! (v4, v6), UDP (datagrams from several senders, one of them empty), unix stream (with
//! a message carrying a descriptor in the middle) and unix datagram sockets, and more
//! than the cap on one more. The dump must equal that data byte for byte (datagrams
//! framed with their sources), the over-cap socket must be cut and marked, the reader
//! (`--proc-root DIR/proc`) must tag exactly those rows, a run as nobody must say what
//! it could not read and exit 1, and afterwards the holder must read every byte itself
//! in the original order and framing: nothing was consumed or reordered.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Reports that the test cannot run here; under `CI=true` it fails instead, so CI
/// never passes on a skipped test.
fn skip(test: &str, why: &str) {
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{test}: cannot run under CI=true: {why}");
    }
    eprintln!("SKIPPED: {test}: {why}");
}

const CAP: usize = 64 << 10;
const BIG: usize = 100_000;

/// Prints one JSON line: its pid, and for each socket its fd and the data queued on
/// it; then, on "drain", reads every socket itself and prints what it read.
const HOLDER: &str = r#"
import array, fcntl, json, os, socket, sys, termios, time
tag = sys.argv[1]
pattern = bytes(range(256)) * 3 + b"\n\r\x00end"
held, info = [], {}

def tcp(family, host, name, data):
    l = socket.socket(family); l.bind((host, 0)); l.listen(4)
    c = socket.socket(family); c.connect(l.getsockname()); s, _ = l.accept()
    c.sendall(data); held.extend([l, c, s])
    # Wait until it is all in the receive queue (loopback: at once in practice).
    for _ in range(2000):
        buf = array.array("i", [0]); fcntl.ioctl(s, termios.FIONREAD, buf)
        if buf[0] == len(data): break
        time.sleep(0.005)
    info[name] = {"fd": s.fileno(), "stream": data.hex()}

tcp(socket.AF_INET, "127.0.0.1", "tcp4", b"tcp4:" + pattern)
try:
    tcp(socket.AF_INET6, "::1", "tcp6", b"tcp6:" + pattern[::-1])
except OSError:
    pass

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); held.append(u)
grams = []
for i, payload in enumerate([b"first datagram", b"", pattern, b"last\n"]):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); held.append(s)
    s.sendto(payload, u.getsockname())
    host, port = s.getsockname()
    grams.append(["%s:%d" % (host, port), payload.hex()])
info["udp4"] = {"fd": u.fileno(), "datagrams": grams}

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM); held += [a, b]
a.sendall(b"unix-stream:" + pattern)
socket.send_fds(a, [b"[with a descriptor]"], [a.fileno()])
a.sendall(b"after the descriptor")
info["unix_stream"] = {"fd": b.fileno(), "stream": (b"unix-stream:" + pattern + b"[with a descriptor]after the descriptor").hex()}

r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind("\0rnt-q-%s-r" % tag); held.append(r)
grams = []
for name, payload in [("a", b"from a"), ("b", pattern), ("a", b"a again")]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try: s.bind("\0rnt-q-%s-%s" % (tag, name))
    except OSError: s = [h for h in held if h.family == socket.AF_UNIX and h.type == socket.SOCK_DGRAM and h.getsockname() == b"\0rnt-q-%s-%s" % (tag.encode(), name.encode())][0]
    held.append(s)
    s.sendto(payload, "\0rnt-q-%s-r" % tag)
    grams.append(["unix:@rnt-q-%s-%s" % (tag, name), payload.hex()])
info["unix_dgram"] = {"fd": r.fileno(), "datagrams": grams}

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM); held += [a, b]
big = (pattern * (%BIG% // len(pattern) + 1))[:%BIG%]
a.sendall(big)
info["big"] = {"fd": b.fileno(), "stream": big.hex()}

print(json.dumps({"pid": os.getpid(), "sockets": info}), flush=True)
sys.stdin.readline()

def source(addr):
    if isinstance(addr, bytes):
        return "unix:@" + addr[1:].decode() if addr[:1] == b"\0" else "unix:" + addr.decode()
    return "%s:%d" % (addr[0], addr[1])

drained = {}
for name, s in info.items():
    sock = socket.socket(fileno=os.dup(s["fd"])); sock.setblocking(False)
    if "stream" in s:
        got = b""
        while True:
            try: chunk = sock.recv(1 << 20)
            except BlockingIOError: break
            if not chunk: break
            got += chunk
        drained[name] = {"fd": s["fd"], "stream": got.hex()}
    else:
        grams = []
        while True:
            try: data, addr = sock.recvfrom(1 << 20)
            except BlockingIOError: break
            grams.append([source(addr), data.hex()])
        drained[name] = {"fd": s["fd"], "datagrams": grams}
    sock.detach()
print(json.dumps(drained), flush=True)
sys.stdin.readline()
"#;

/// The holder in its own network namespace (`unshare --net`, gone with it).
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pid: u32,
    sockets: BTreeMap<String, Value>,
}

impl Holder {
    fn start(script: &str, tag: &str) -> Holder {
        let mut child = Command::new("unshare")
            .args(["--net", "sh", "-c"])
            .arg(r#"ip link set lo up && exec python3 -c "$0" "$1""#)
            .arg(script)
            .arg(tag)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("holder starts");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("ready line");
        let mut holder = Holder {
            child,
            stdin,
            stdout,
            pid: 0,
            sockets: BTreeMap::new(),
        };
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        holder.pid = ready["pid"].as_u64().expect("pid") as u32;
        holder.sockets = ready["sockets"]
            .as_object()
            .expect("sockets")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        holder
    }

    /// Has the holder read all its sockets itself; what it read, by socket name.
    fn drain(&mut self) -> BTreeMap<String, Value> {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(b"drain\n").expect("drain");
        stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("drained line");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        v.as_object()
            .expect("drained")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn fd(&self, name: &str) -> u64 {
        self.sockets[name]["fd"].as_u64().expect("fd")
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory of this test, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A datagram dump as (source, payload) pairs; panics on a malformed frame.
fn frames(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let nl = data.iter().position(|&b| b == b'\n').expect("frame line");
        let header = std::str::from_utf8(&data[..nl]).expect("UTF-8 frame line");
        let mut words = header.splitn(4, ' ');
        assert_eq!(words.next(), Some("datagram"), "{header:?}");
        let len: usize = words.next().and_then(|w| w.parse().ok()).expect("length");
        assert_eq!(words.next(), Some("from"), "{header:?}");
        let from = words.next().expect("source").to_string();
        let payload = data[nl + 1..nl + 1 + len].to_vec();
        assert_eq!(data[nl + 1 + len], b'\n', "frame ends with a newline");
        data = &data[nl + 2 + len..];
        out.push((from, payload));
    }
    out
}

fn expected_frames(v: &Value) -> Vec<(String, Vec<u8>)> {
    v["datagrams"]
        .as_array()
        .expect("datagrams")
        .iter()
        .map(|g| {
            (
                g[0].as_str().unwrap().to_string(),
                hex(g[1].as_str().unwrap()),
            )
        })
        .collect()
}

/// rnetstat as nobody inside the holder's namespace (so only its sockets are in the
/// tables).
fn rnetstat_as_nobody_in(holder: &Holder, bin: &Path, args: &[&str]) -> Output {
    Command::new("nsenter")
        .arg(format!("--net=/proc/{}/ns/net", holder.pid))
        .args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ])
        .arg(bin)
        .args(args)
        .output()
        .expect("rnetstat runs")
}

fn manifest(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("queues/manifest.jsonl")).expect("manifest");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// One raw socket (protocol 253, for experiments) that has received two datagrams.
const RAW_HOLDER: &str = r#"
import json, os, socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253); r.bind(("127.0.0.1", 0))
for payload in [b"one", b"two"]:
    r.sendto(payload, ("127.0.0.1", 0))
print(json.dumps({"pid": os.getpid(), "sockets": {"raw": {"fd": r.fileno()}}}), flush=True)
sys.stdin.readline()
r.setblocking(False)
got = []
while True:
    try: got.append(r.recv(1 << 16).hex())
    except BlockingIOError: break
print(json.dumps({"raw": got}), flush=True)
sys.stdin.readline()
"#;

/// Raw sockets have no SO_PEEK_OFF: only the first datagram can be read without
/// consuming it. The dump holds exactly that one, says it is incomplete, and the run
/// exits 1; the owner still reads both.
#[test]
fn raw_socket_gives_its_first_datagram_only() {
    const TEST: &str = "raw_socket_gives_its_first_datagram_only";
    if !is_root() {
        return skip(
            TEST,
            "needs root for a private network namespace and raw sockets",
        );
    }
    for tool in ["unshare", "python3", "ip"] {
        if !have(tool) {
            return skip(TEST, &format!("{tool} is not installed"));
        }
    }
    let me = std::process::id();
    let tmp = TempDir(std::env::temp_dir().join(format!("rnt-queues-raw-{me}")));
    let _ = std::fs::remove_dir_all(&tmp.0);
    std::fs::create_dir(&tmp.0).unwrap();
    let mut holder = Holder::start(RAW_HOLDER, "raw");
    let dir = tmp.0.join("out");
    let pid_arg = holder.pid.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_rnetstat"))
        .args([
            "--queues",
            dir.to_str().unwrap(),
            "-aw",
            "--netns",
            &pid_arg,
        ])
        .output()
        .expect("rnetstat runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not read in full"), "{stderr}");
    let lines = manifest(&dir);
    let fd = holder.fd("raw");
    let line = lines
        .iter()
        .find(|l| l["pid"].as_u64() == Some(holder.pid as u64) && l["fd"].as_u64() == Some(fd))
        .unwrap_or_else(|| panic!("no manifest line for the raw socket: {lines:?}"));
    assert_eq!(line["protocol"], "raw");
    assert_eq!(line["datagrams"].as_u64(), Some(1), "{line}");
    assert_eq!(line["complete"], false, "{line}");
    assert!(
        line["notes"].to_string().contains("first datagram only"),
        "{line}"
    );
    let dumped = std::fs::read(dir.join(line["file"].as_str().unwrap())).unwrap();
    let dumped = frames(&dumped);
    assert_eq!(dumped.len(), 1);
    assert_eq!(dumped[0].0, "127.0.0.1:0");
    let drained = holder.drain();
    let got: Vec<Vec<u8>> = drained["raw"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex(h.as_str().unwrap()))
        .collect();
    assert_eq!(got.len(), 2, "the owner still has both datagrams");
    assert_eq!(
        dumped[0].1, got[0],
        "the dump is the first datagram, IP header and all"
    );
    assert!(got[0].ends_with(b"one") && got[1].ends_with(b"two"));
}

#[test]
fn queues_are_dumped_exactly_and_left_in_place() {
    const TEST: &str = "queues_are_dumped_exactly_and_left_in_place";
    if !is_root() {
        return skip(
            TEST,
            "needs root for a private network namespace and pidfd_getfd",
        );
    }
    for tool in ["unshare", "nsenter", "setpriv", "python3", "ip"] {
        if !have(tool) {
            return skip(TEST, &format!("{tool} is not installed"));
        }
    }
    let me = std::process::id();
    let tmp = TempDir(std::env::temp_dir().join(format!("rnt-queues-{me}")));
    let _ = std::fs::remove_dir_all(&tmp.0);
    std::fs::create_dir(&tmp.0).unwrap();
    let script = HOLDER.replace("%BIG%", &BIG.to_string());
    let mut holder = Holder::start(&script, &me.to_string());
    let names: Vec<String> = holder.sockets.keys().cloned().collect();
    if !names.iter().any(|n| n == "tcp6") {
        eprintln!("{TEST}: no IPv6 loopback in a new namespace here; tcp6 not covered");
    }

    // 1. As root: capture with queues.
    let bin = env!("CARGO_BIN_EXE_rnetstat");
    let cap_dir = tmp.0.join("cap");
    let cap_arg = CAP.to_string();
    let cap_dir_s = cap_dir.to_str().unwrap();
    // From the host, through --netns: the sockets' namespace is not rnetstat's.
    let pid_arg = holder.pid.to_string();
    let out = Command::new(bin)
        .args(["--capture", cap_dir_s, "--queues", "--queue-cap", &cap_arg])
        .args(["-a", "--netns", &pid_arg])
        .output()
        .expect("rnetstat runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines = manifest(&cap_dir);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cap_dir.join("queues")), 0o700);
    for name in &names {
        let fd = holder.fd(name);
        let line = lines
            .iter()
            .find(|l| l["pid"].as_u64() == Some(holder.pid as u64) && l["fd"].as_u64() == Some(fd))
            .unwrap_or_else(|| panic!("{name}: no manifest line for fd {fd}\n{lines:?}"));
        let file = format!("queues/receive.{}.{fd}", holder.pid);
        assert_eq!(line["file"].as_str(), Some(file.as_str()), "{name}");
        assert_eq!(mode(&cap_dir.join(&file)), 0o600, "{name}");
        let dumped = std::fs::read(cap_dir.join(&file)).unwrap();
        let spec = &holder.sockets[name];
        if let Some(stream) = spec["stream"].as_str() {
            let want = hex(stream);
            if want.len() > CAP {
                assert_eq!(dumped, want[..CAP], "{name}: the first CAP bytes");
                assert_eq!(line["cut"], true, "{name}: {line}");
                assert_eq!(line["complete"], false, "{name}");
                assert_eq!(line["bytes"].as_u64(), Some(CAP as u64));
                assert!(line["notes"].to_string().contains("cut at"), "{line}");
            } else {
                assert_eq!(dumped, want, "{name}: byte for byte");
                assert_eq!(line["complete"], true, "{name}: {line}");
                assert_eq!(line["cut"], false, "{name}");
            }
            assert_eq!(line["framing"], "stream", "{name}");
        } else {
            assert_eq!(frames(&dumped), expected_frames(spec), "{name}: datagrams");
            assert_eq!(line["framing"], "datagram", "{name}");
            assert_eq!(line["complete"], true, "{name}: {line}");
            let count = spec["datagrams"].as_array().unwrap().len() as u64;
            assert_eq!(line["datagrams"].as_u64(), Some(count), "{name}");
        }
        let proto = match name.as_str() {
            "tcp4" => "tcp",
            "tcp6" => "tcp6",
            "udp4" => "udp",
            _ => "unix",
        };
        assert_eq!(line["protocol"], proto, "{name}");
        if proto.starts_with("tcp") {
            let len = hex(spec["stream"].as_str().unwrap()).len() as u64;
            assert_eq!(line["recv_q"].as_u64(), Some(len), "{name}: Recv-Q");
            assert_eq!(line["siocinq"].as_u64(), Some(len), "{name}: SIOCINQ");
        }
    }
    // Only these sockets had data: nothing else of the namespace got a file.
    let written = lines.iter().filter(|l| l["file"].is_string()).count();
    assert_eq!(written, names.len(), "{lines:?}");

    // 2. The reader: the listing of the capture tags exactly those rows.
    let proc_dir = cap_dir.join("proc");
    let listing = Command::new(bin)
        .args([
            "--proc-root",
            proc_dir.to_str().unwrap(),
            "-anp",
            "--netns",
            &pid_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(listing.status.code(), Some(0));
    let text = String::from_utf8_lossy(&listing.stdout);
    let tagged: Vec<&str> = text.lines().filter(|l| l.contains("[queued: ")).collect();
    assert_eq!(tagged.len(), names.len(), "{text}");
    for name in &names {
        let tag = format!(
            "[queued: queues/receive.{}.{}, ",
            holder.pid,
            holder.fd(name)
        );
        assert_eq!(
            tagged.iter().filter(|l| l.contains(&tag)).count(),
            1,
            "{name}: {text}"
        );
    }
    let json = Command::new(bin)
        .args(["--proc-root", proc_dir.to_str().unwrap(), "-an", "--json"])
        .args(["--netns", &pid_arg])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let queued: Vec<&Value> = ["inet", "unix"]
        .iter()
        .flat_map(|k| doc[k].as_array().unwrap())
        .filter(|r| !r["queue"].is_null())
        .collect();
    assert_eq!(queued.len(), names.len(), "{doc}");
    for row in queued {
        let line = lines
            .iter()
            .find(|l| l["inode"] == row["inode"])
            .expect("row of a manifest line");
        assert_eq!(row["queue"]["file"], line["file"]);
        assert_eq!(row["queue"]["bytes"], line["bytes"]);
    }

    // 3. As nobody: nothing can be read; it says so and exits 1.
    let nobody_dir = tmp.0.join("nobody");
    std::fs::create_dir(&nobody_dir).unwrap();
    std::fs::set_permissions(&nobody_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let local_bin = tmp.0.join("rnetstat");
    std::fs::copy(bin, &local_bin).unwrap();
    std::fs::set_permissions(&tmp.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = nobody_dir.join("out");
    let args = ["--queues", out_dir.to_str().unwrap(), "-a"];
    let out = rnetstat_as_nobody_in(&holder, &local_bin, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not be read"), "{stderr}");
    assert!(stderr.contains("needs root"), "{stderr}");
    let lines = manifest(&out_dir);
    assert!(lines.iter().all(|l| l["file"].is_null()), "{lines:?}");
    // The TCP sockets (their Recv-Q is in the table) are named with the reason.
    let tcp_unread = lines
        .iter()
        .filter(|l| l["protocol"].as_str().is_some_and(|p| p.starts_with("tcp")))
        .filter(|l| l["notes"].to_string().contains("needs root"))
        .count();
    let tcp_sockets = names.iter().filter(|n| n.starts_with("tcp")).count();
    assert_eq!(tcp_unread, tcp_sockets, "{lines:?}");

    // 4. The holder reads everything itself: same bytes, same order, same framing.
    let drained = holder.drain();
    for name in &names {
        assert_eq!(
            drained[name], holder.sockets[name],
            "{name}: what the owner reads after the dump"
        );
    }
}
