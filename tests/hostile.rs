//! Hostile names: a process whose comm and argv[0] hold ESC, a newline, a tab and an
//! invalid UTF-8 byte, holding TCP, UDP and unix sockets (the unix path holds the same
//! bytes) and a file with such a name. Every text view must print no raw control byte
//! (a newline only as the line end), keep each socket or file on one line with its
//! columns where they belong, and JSON must parse and carry the names as docs/json.md
//! says (UTF-8, invalid bytes as `\xNN`). Interface and group names the kernel would
//! refuse come from a --proc-root copy of the interface fixtures.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const RNETSTAT: &str = env!("CARGO_BIN_EXE_rnetstat");
const RLSOF: &str = env!("CARGO_BIN_EXE_rlsof");

/// ESC starting a colour sequence, a newline, a tab, an invalid byte (9 bytes: fits comm).
const BAD: &[u8] = b"h\x1b[31m\n\t\xff";
/// argv[0] as the process is started: absolute, so netstat's name is after the last `/`.
const ARGV0: &[u8] = b"/x/hostile\x1b[2J\n\t\xfe";
const PROGRAM: &[u8] = b"hostile\x1b[2J\n\t\xfe";

const HOLDER: &str = r#"
import ctypes, os, socket, sys
bad = b"h\x1b[31m\n\t\xff"
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(bad), 0, 0, 0)
d = sys.argv[1].encode()
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
x = socket.socket(socket.AF_UNIX); x.bind(os.path.join(d, bad)); x.listen()
f = open(os.path.join(d, bad + b".file"), "wb")
print(t.getsockname()[1], u.getsockname()[1], os.fstat(x.fileno()).st_ino, flush=True)
sys.stdin.read()
"#;

struct Holder {
    child: Child,
    dir: PathBuf,
    pid: u32,
    tcp_port: u16,
    udp_port: u16,
    unix_inode: u64,
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The interpreter itself: a wrapper (a pyenv shim) would exec it with its own argv[0].
fn real_python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn start_holder() -> Holder {
    let dir = std::env::temp_dir().join(format!("rnt-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(real_python())
        .arg0(OsStr::from_bytes(ARGV0))
        .args(["-c", HOLDER])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f.len(), 3, "holder said {line:?}");
    Holder {
        pid: child.id(),
        tcp_port: f[0].parse().unwrap(),
        udp_port: f[1].parse().unwrap(),
        unix_inode: f[2].parse().unwrap(),
        child,
        dir,
    }
}

fn run(exe: &str, args: &[&str]) -> Output {
    let out = Command::new(exe).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{exe} {args:?}: {stderr}");
    // JSON may carry DEL raw (it is no control character to JSON); text may not.
    let del_ok = args.contains(&"--json");
    assert_clean(&out.stdout, del_ok, &format!("{exe} {args:?} stdout"));
    assert_clean(&out.stderr, false, &format!("{exe} {args:?} stderr"));
    out
}

/// No C0 control byte except the newline ending a line, and no DEL unless `del_ok`.
fn assert_clean(out: &[u8], del_ok: bool, what: &str) {
    if let Some(i) = out
        .iter()
        .position(|&b| (b < 0x20 && b != b'\n') || (b == 0x7f && !del_ok))
    {
        let from = i.saturating_sub(60);
        panic!(
            "{what}: raw byte {:#04x} in {:?}",
            out[i],
            String::from_utf8_lossy(&out[from..(i + 20).min(out.len())])
        );
    }
}

/// [`run`], again (3 attempts at most) while `has_ours` does not hold: /proc/net tables
/// read while other processes open and close sockets can miss a row of ours or repeat
/// one. A forged or split line shows on every attempt and still fails the checks.
fn run_until(exe: &str, args: &[&str], has_ours: impl Fn(&Output) -> bool) -> Output {
    let mut out = run(exe, args);
    for _ in 1..3 {
        if has_ours(&out) {
            break;
        }
        out = run(exe, args);
    }
    out
}

/// The deduplicated lines of `out` that `select` picks.
fn picked(out: &Output, select: impl Fn(&str) -> bool) -> Vec<String> {
    let mut hits: Vec<String> = lines(out).into_iter().filter(|l| select(l)).collect();
    hits.dedup();
    hits
}

/// Is `line` a `proto` line whose Local Address column is `local`?
fn is_line_of(line: &str, proto: &str, local: &str) -> bool {
    let mut cols = line.split_whitespace();
    cols.next() == Some(proto) && cols.nth(2) == Some(local)
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The one line holding `needle`; a name that forged a line would make two or split it.
fn only_line(out: &Output, needle: &str, what: &str) -> Vec<String> {
    let mut hits: Vec<String> = lines(out)
        .into_iter()
        .filter(|l| l.contains(needle))
        .collect();
    hits.dedup();
    assert_eq!(hits.len(), 1, "{what}: lines with {needle:?}: {hits:#?}");
    hits[0].split_whitespace().map(str::to_string).collect()
}

/// The one `proto` line whose Local Address column is `local`. Matching the column, not
/// a substring, keeps out other tests' connections whose foreign port happens to be ours.
fn only_line_of(out: &Output, proto: &str, local: &str, what: &str) -> Vec<String> {
    // A /proc/net table read while other tests churn sockets can repeat a row whole;
    // that is the kernel's doing, not a forged line (which would differ).
    let hits = picked(out, |l| is_line_of(l, proto, local));
    assert_eq!(hits.len(), 1, "{what}: lines with {local:?}: {hits:#?}");
    hits[0].split_whitespace().map(str::to_string).collect()
}

/// The JSON form docs/json.md specifies for untrusted bytes: valid UTF-8 as it is, a
/// backslash doubled, each byte of an invalid sequence as `\xNN`.
fn lossy(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

fn json(out: &Output, what: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut strings = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {line}"));
        json_strings(&v, &mut strings);
    }
    strings
}

#[test]
fn hostile_process_and_socket_names() {
    let h = start_holder();
    let pid = h.pid.to_string();
    let owner = format!("{pid}/");
    let unix_path = [h.dir.as_os_str().as_bytes(), b"/", BAD].concat();
    let file_path = [&unix_path[..], b".file"].concat();
    let tcp = format!("127.0.0.1:{}", h.tcp_port);
    let udp = format!("127.0.0.1:{}", h.udp_port);

    // netstat columns: Proto Recv-Q Send-Q Local Foreign [State] PID/Program, -e adds
    // User and Inode before the owner.
    let both = |out: &Output| {
        picked(out, |l| is_line_of(l, "tcp", &tcp)).len() == 1
            && picked(out, |l| is_line_of(l, "udp", &udp)).len() == 1
    };
    let out = run_until(RNETSTAT, &["-anp"], both);
    let f = only_line_of(&out, "tcp", &tcp, "-anp tcp");
    assert_eq!(f.len(), 7, "-anp tcp: {f:?}");
    assert!(f[6].starts_with(&owner), "-anp tcp: {f:?}");
    let f = only_line_of(&out, "udp", &udp, "-anp udp");
    assert_eq!(f.len(), 6, "-anp udp: {f:?}");
    assert!(f[5].starts_with(&owner), "-anp udp: {f:?}");

    let out = run_until(RNETSTAT, &["-anpe"], both);
    let f = only_line_of(&out, "tcp", &tcp, "-anpe tcp");
    assert_eq!(f.len(), 9, "-anpe tcp: {f:?}");
    assert!(f[8].starts_with(&owner), "-anpe tcp: {f:?}");
    let f = only_line_of(&out, "udp", &udp, "-anpe udp");
    assert_eq!(f.len(), 8, "-anpe udp: {f:?}");

    // Unix: ... I-Node PID/Program Path: the path is one column, the last.
    let inode = h.unix_inode.to_string();
    let needle = format!(" {inode} ");
    let out = run_until(RNETSTAT, &["-xap"], |o| {
        picked(o, |l| l.contains(&needle)).len() == 1
    });
    let f = only_line(&out, &needle, "-xap");
    let at = f.iter().position(|c| *c == inode).unwrap();
    assert_eq!(f.len(), at + 3, "-xap: {f:?}");
    assert!(f[at + 1].starts_with(&owner), "-xap: {f:?}");

    // netstat reads /proc/net/unix by lines: the part of our path after its newline is
    // a line of its own, which netstat warns about; rnetstat warns alike.
    let bogus = |out: &Output| {
        lossy(&out.stderr)
            .lines()
            .filter(|l| *l == "warning, got bogus unix line.")
            .count()
    };
    let ours = bogus(&run(RNETSTAT, &["-xa"]));
    assert!(ours >= 1, "no warning for the broken line of our unix path");
    if let Ok(theirs) = Command::new("netstat").arg("-xa").output() {
        assert_eq!(ours, bogus(&theirs), "netstat -xa warns as often");
    }

    let out = run(RNETSTAT, &["--json", "-anp"]);
    let strings = json(&out, "--json -anp");
    assert!(strings.contains(&lossy(&unix_path)), "unix path in JSON");
    assert!(
        strings.contains(&lossy(PROGRAM)),
        "program in JSON: {:?}",
        strings
            .iter()
            .filter(|s| s.contains("hostile"))
            .collect::<Vec<_>>()
    );

    // lsof columns: COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME: a command name
    // that forged a column would move PID.
    let out = run(RLSOF, &["-p", &pid]);
    let all = lines(&out);
    assert!(all.len() > 5, "rlsof -p: {all:#?}");
    for l in &all[1..] {
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(f.get(1), Some(&pid.as_str()), "rlsof -p: {l:?}");
    }
    let file_name = rnetstat::escape::escape_lsof(&file_path, false).into_owned();
    let f = only_line(&out, &file_name, "rlsof -p file");
    assert_eq!(f.last(), Some(&file_name), "rlsof -p file: {f:?}");

    let out = run(RLSOF, &["-nP", "-i"]);
    let ours: Vec<String> = lines(&out)
        .into_iter()
        .filter(|l| l.split_whitespace().nth(1) == Some(pid.as_str()))
        .collect();
    assert_eq!(ours.len(), 2, "rlsof -nP -i: {ours:#?}");
    for l in lines(&out).iter().skip(1) {
        assert!(
            l.split_whitespace()
                .nth(1)
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())),
            "rlsof -nP -i: {l:?}"
        );
    }

    // -F: every line is one field, its first character the field letter.
    let out = run(RLSOF, &["-F", "-p", &pid]);
    let all = lines(&out);
    assert!(all
        .iter()
        .all(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())));
    assert_eq!(all.iter().filter(|l| l.starts_with('p')).count(), 1);
    assert_eq!(
        all.iter().filter(|l| l.starts_with('c')).count(),
        1,
        "{all:#?}"
    );

    let out = run(RLSOF, &["--json", "-p", &pid]);
    let strings = json(&out, "rlsof --json");
    assert!(strings.contains(&lossy(BAD)), "comm in rlsof JSON");
    assert!(
        strings.contains(&lossy(&file_path)),
        "file name in rlsof JSON"
    );
    // `name` is NAME as lsof prints it: lsof reads /proc/net/unix by lines, so a path
    // with a newline ends there (rnetstat's JSON keeps the whole path: its reader joins
    // the line the kernel broke).
    let cut = unix_path.split(|&b| b == b'\n').next().unwrap_or_default();
    let unix_name = format!("{} type=STREAM", lossy(cut));
    assert!(
        strings.contains(&unix_name),
        "unix name {unix_name:?} in rlsof JSON: {:?}",
        strings
            .iter()
            .filter(|s| s.contains("type=STREAM"))
            .collect::<Vec<_>>()
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Interface and group names with ESC, DEL and an invalid byte (the kernel refuses them,
/// a forged or damaged /proc need not): -i, -ie, -g, text and JSON.
#[test]
fn hostile_interface_names_from_proc_root() {
    let dir = TempDir(std::env::temp_dir().join(format!("rnt-hostile-if-{}", std::process::id())));
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iface/quiet"),
        &dir.0,
    );
    let net = dir.0.join("proc/net");
    let name: &[u8] = b"e\x1b[2J\x7f\xff";
    append(
        &net.join("dev"),
        &[
            b"  ",
            name,
            b":       1       1    0    0    0     0          0         0        1       1    0    0    0     0       0          0\n",
        ]
        .concat(),
    );
    append(
        &net.join("igmp"),
        &[
            b"9\t",
            name,
            b"     :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n",
        ]
        .concat(),
    );
    append(
        &net.join("igmp6"),
        &[
            b"9    ",
            name,
            b"            ff020000000000000000000000000001     1 0000000C 0\n",
        ]
        .concat(),
    );
    append(
        &net.join("if_inet6"),
        &[
            b"20010db8000000000000000000000001 09 40 00 80 ",
            name,
            b"\n",
        ]
        .concat(),
    );
    let sys = dir.0.join("sys/class/net").join(OsStr::from_bytes(name));
    copy_tree(&dir.0.join("sys/class/net/rnt2"), &sys);
    let root = dir.0.join("proc");
    let root = root.to_str().unwrap();
    for args in [
        &["-i"][..],
        &["-ia"],
        &["-iea"],
        &["-g"],
        &["-gn"],
        &["--json", "-ia"],
        &["--json", "-gn"],
    ] {
        let all: Vec<&str> = [&["--proc-root", root][..], args].concat();
        let out = run(RNETSTAT, &all);
        if args.contains(&"--json") {
            let strings = json(&out, &format!("{args:?}"));
            assert!(strings.contains(&lossy(name)), "{args:?}: {strings:?}");
        } else {
            let shown = rnetstat::escape::escape(name).into_owned();
            assert!(
                String::from_utf8_lossy(&out.stdout).contains(&shown),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A network namespace whose /run/netns name holds ESC, a tab and 0xff, deleted on drop.
struct Netns(Vec<u8>);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del"])
            .arg(OsStr::from_bytes(&self.0))
            .status();
    }
}

fn ip(args: &[&[u8]]) {
    let status = Command::new("ip")
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .status()
        .unwrap();
    assert!(status.success(), "ip {args:?}");
}

/// Real hostile names: interface names may hold ESC, DEL and 0xff (the kernel only
/// refuses `/`, `:` and white space), netns names anything but `/`. Every view of such
/// a namespace, text and JSON, and the audit report.
#[test]
fn hostile_netns_and_interface_names() {
    if !is_root() {
        eprintln!("SKIPPED: needs root for ip netns");
        return;
    }
    let ns = Netns(format!("rnt-h\x1b[31m\t-{}", std::process::id()).into_bytes());
    let mut ns_name = ns.0.clone();
    ns_name.push(0xff);
    let ns = Netns(ns_name);
    let n: &[u8] = &ns.0;
    ip(&[b"netns", b"add", n]);
    let dev: &[u8] = b"d\x1b[1m\x7f\xff";
    let peer: &[u8] = b"p\"'$;|&*";
    ip(&[
        b"-n", n, b"link", b"add", dev, b"type", b"veth", b"peer", b"name", peer,
    ]);
    ip(&[b"-n", n, b"link", b"set", dev, b"up"]);
    ip(&[b"-n", n, b"link", b"set", b"lo", b"up"]);
    ip(&[b"-n", n, b"addr", b"add", b"192.0.2.1/24", b"dev", dev]);
    ip(&[
        b"-n",
        n,
        b"neigh",
        b"add",
        b"192.0.2.9",
        b"lladdr",
        b"02:00:00:00:00:09",
        b"dev",
        dev,
    ]);
    ip(&[
        b"-n",
        n,
        b"addr",
        b"add",
        b"2001:db8::1/64",
        b"dev",
        dev,
        b"nodad",
    ]);
    let mut listener = Command::new("ip")
        .args(["netns", "exec"])
        .arg(OsStr::from_bytes(n))
        .args([
            "python3",
            "-c",
            "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); \
             print(s.getsockname()[1], flush=True); sys.stdin.read()",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(listener.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();

    let in_ns = |args: &[&str]| -> Output {
        let mut all: Vec<&[u8]> = vec![b"netns", b"exec", n, RNETSTAT.as_bytes()];
        all.extend(args.iter().map(|a| a.as_bytes()));
        let out = Command::new("ip")
            .args(all.iter().map(|a| OsStr::from_bytes(a)))
            .output()
            .unwrap();
        let what = format!("rnetstat {args:?} in the namespace");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert_clean(&out.stdout, args.contains(&"--json"), &what);
        assert_clean(&out.stderr, false, &what);
        out
    };
    let shown = rnetstat::escape::escape(dev).into_owned();
    // -i: Iface MTU RX-OK RX-ERR RX-DRP RX-OVR TX-OK TX-ERR TX-DRP TX-OVR Flg.
    let f = only_line(&in_ns(&["-ia"]), &shown, "-ia");
    assert_eq!(f.len(), 11, "-ia: {f:?}");
    for args in [
        &["-iea"][..],
        &["-rn"],
        &["-r"],
        &["-rn6"],
        &["--arp"],
        &["-gn"],
    ] {
        let out = in_ns(args);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&shown),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    for args in [
        &["--json", "-ia"][..],
        &["--json", "-rn"],
        &["--json", "--arp"],
    ] {
        let strings = json(&in_ns(args), &format!("{args:?}"));
        assert!(strings.contains(&lossy(dev)), "{args:?}: {strings:?}");
    }

    // The netns name, from outside: every namespace's sockets and the audit.
    let name = lossy(n);
    for args in [
        &["--all-netns", "-anp"][..],
        &["--all-netns", "-ia"],
        &["--audit", "--all-netns", "--no-probe"],
    ] {
        let out = run(RNETSTAT, args);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {out:?}"
        );
    }
    for args in [
        &["--json", "--all-netns", "-anp"][..],
        &["--json", "--all-netns", "-ia"],
        &["--json", "--audit", "--all-netns", "--no-probe"],
    ] {
        let strings = json(&run(RNETSTAT, args), &format!("{args:?}"));
        assert!(strings.contains(&name), "{args:?}: netns name not in JSON");
    }
    // rlsof marks the listener's socket with its namespace: text, -F and JSON.
    let label = rnetstat::escape::escape(name.as_bytes()).into_owned();
    let out = run(RLSOF, &["--all-netns", "-nP", "-i"]);
    let port = port.trim();
    // The listener's own row: its pid and its address. Any other process listening on
    // the same port number (another namespace, another test) would also hold
    // ":PORT (LISTEN)".
    let (pid, name_col) = (listener.id().to_string(), format!("127.0.0.1:{port}"));
    let mut rows: Vec<Vec<String>> = lines(&out)
        .iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|f| {
            f.get(1) == Some(&pid) && f.windows(2).any(|w| w[0] == name_col && w[1] == "(LISTEN)")
        })
        .collect();
    rows.dedup();
    assert_eq!(
        rows.len(),
        1,
        "rlsof -nP -i: rows of {pid} for {name_col}: {rows:#?}"
    );
    let f = &rows[0];
    assert_eq!(
        f.last(),
        Some(&format!("[netns:{label}]")),
        "rlsof -nP -i: {f:?}"
    );
    run(RLSOF, &["--all-netns", "-F", "-nP", "-i"]);
    let strings = json(
        &run(RLSOF, &["--all-netns", "--json", "-nP", "-i"]),
        "rlsof --json -i",
    );
    assert!(strings.contains(&name), "netns name not in rlsof JSON");
    let _ = listener.kill();
    let _ = listener.wait();
}
