//! The socket owners from the BPF task_file iterator (src/ebpf/) against the /proc
//! walk (`RNETSTAT_OWNERS=proc`) and against the reference tools, in a private
//! net+pid+mount namespace whose processes the test makes (tests/support/
//! owners_scene.py): shared sockets, a renamed process, a nested pid namespace, a
//! process whose leader thread exited, a thread with its own fd table.

mod common;
mod lsof_support;

use common::Output;
use lsof_support::Holder;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
        == 0
        && std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn have(tool: &str) -> bool {
    common::find_program(tool).is_some()
}

/// Why the namespace tests cannot run here, if they cannot.
fn skip_reason() -> Option<&'static str> {
    if !is_root() {
        return Some("needs root for namespaces and BPF");
    }
    for tool in [
        "unshare", "nsenter", "setpriv", "python3", "netstat", "ss", "ip", "lsof",
    ] {
        if !have(tool) {
            return Some("unshare, nsenter, setpriv, python3, netstat, ss, ip or lsof missing");
        }
    }
    None
}

/// The scene's PID 1 and its holders; the namespace dies with it on drop.
struct Scene {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The scene's PID 1 as our namespace numbers it.
    init: u32,
    /// The scene's first port (its holders listen on it and the ports after it).
    port: u16,
}

impl Scene {
    fn start() -> Scene {
        Scene::start_with(&[])
    }

    /// The scene with owners_scene.py's optional holders (`argv`).
    fn start_with(extra: &[&str]) -> Scene {
        let port = 20000 + (std::process::id() % 20000) as u16;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/owners_scene.py");
        let mut child = Command::new("unshare")
            .args(["--net", "--pid", "--fork", "--kill-child", "--mount-proc"])
            .args(["--propagation", "private", "--", "python3"])
            .arg(&script)
            .arg(port.to_string())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare runs");
        let stdin = child.stdin.take();
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout piped");
        let _ = BufReader::new(out).read_line(&mut line);
        let mut scene = Scene {
            stdin,
            init: 0,
            port,
            child,
        };
        if line.trim() != "ready" {
            let _ = scene.child.kill();
            let mut err = String::new();
            if let Some(mut e) = scene.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("scene did not start: {line:?}\n{err}");
        }
        let unshare = scene.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).unwrap();
        scene.init = children.split_whitespace().next().unwrap().parse().unwrap();
        scene
    }

    /// Runs `program args` inside the scene's namespaces (`pid`: its pid namespace
    /// too, else ours with the scene's /proc), with RNETSTAT_OWNERS set to `owners`
    /// (or unset) and `prefix` (setpriv) before the program.
    /// `nsenter` into the scene's namespaces, pid namespace included: a prefix that
    /// starts a process there.
    fn enter(&self) -> Vec<String> {
        let init = self.init.to_string();
        ["nsenter", "-t", &init, "-n", "-m", "-p", "--"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn run(
        &self,
        pid: bool,
        prefix: &[&str],
        owners: Option<&str>,
        program: &str,
        args: &[&str],
    ) -> Output {
        let init = self.init.to_string();
        let mut all: Vec<String> = vec!["-t".into(), init, "-n".into(), "-m".into()];
        if pid {
            // nsenter forks, so the program is in the scene's pid namespace.
            all.push("-p".into());
        }
        all.push("--".into());
        all.extend(prefix.iter().map(|s| s.to_string()));
        all.push("env".into());
        match owners {
            Some(v) => all.push(format!("RNETSTAT_OWNERS={v}")),
            None => all.extend(["-u".into(), "RNETSTAT_OWNERS".into()]),
        }
        all.push(bin(program));
        all.extend(args.iter().map(|s| s.to_string()));
        let nsenter = common::find_program("nsenter").expect("nsenter");
        common::run_with_timeout(&nsenter, &all, std::time::Duration::from_secs(60))
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(o: &Output) -> String {
    o.stdout_str()
}

fn ok(o: &Output) -> bool {
    o.status.is_some_and(|s| s.success())
}

fn code(o: &Output) -> Option<i32> {
    o.status.and_then(|s| s.code())
}

fn bin(name: &str) -> String {
    match name {
        "rnetstat" => env!("CARGO_BIN_EXE_rnetstat").to_string(),
        "rss" => env!("CARGO_BIN_EXE_rss").to_string(),
        "rlsof" => env!("CARGO_BIN_EXE_rlsof").to_string(),
        other => other.to_string(),
    }
}

/// Every view that takes owners: the iterator's answer equals the walk's and the
/// reference tool's, byte for byte, status included.
#[test]
fn iterator_and_walk_and_reference_agree_in_a_private_namespace() {
    if let Some(why) = skip_reason() {
        return common::skip("iterator_and_walk_and_reference_agree", why);
    }
    let scene = Scene::start();
    let views: &[(&str, &str, &[&str])] = &[
        ("rnetstat", "netstat", &["-anp"]),
        ("rnetstat", "netstat", &["-tulpn"]),
        ("rnetstat", "netstat", &["-xp"]),
        ("rss", "ss", &["-xap"]),
        ("rss", "ss", &["-tanp"]),
        ("rss", "ss", &["-uanp"]),
        ("rss", "ss", &["-tlnpe"]),
    ];
    let mut problems = Vec::new();
    for &(ours, reference, args) in views {
        let bpf = scene.run(true, &[], Some("bpf"), ours, args);
        let walk = scene.run(true, &[], Some("proc"), ours, args);
        let auto = scene.run(true, &[], None, ours, args);
        let refr = scene.run(true, &[], None, reference, args);
        let what = format!("{ours} {}", args.join(" "));
        assert!(
            ok(&bpf),
            "{what} with the iterator: {}",
            String::from_utf8_lossy(&bpf.stderr)
        );
        for (name, other) in [("walk", &walk), ("default", &auto), (reference, &refr)] {
            if text(&bpf) != text(other) || code(&bpf) != code(other) {
                problems.push(format!(
                    "{what}: iterator and {name} differ\n--- iterator\n{}--- {name}\n{}",
                    text(&bpf),
                    text(other)
                ));
            }
        }
        // The scene's holders are there: a program name on some line.
        assert!(
            text(&bpf).contains("python3"),
            "{what}: no owner shown:\n{}",
            text(&bpf)
        );
    }
    // The renamed child, the nested namespace's and the leader-less process's rows.
    let ss = text(&scene.run(true, &[], Some("bpf"), "rss", &["-tlnp"]));
    assert!(ss.contains("\"rnt owner kid\""), "{ss}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// rlsof's Internet listings take every process's sockets from the iterator: in the
/// scene (shared sockets, a renamed process, a nested pid namespace, a leader-less
/// process, a thread with its own fd table) plus holder.py's every kind of file (non-
/// socket descriptors between the sockets, TCP/UDP over v4, v6 and v4-mapped), a
/// non-dumpable process of another uid (USER is /proc/PID's owner, which for the
/// directory itself stays the euid: task_dump_owner) and a process
/// without sockets named by -c, the output, stderr and status equal the walk's and
/// lsof's, whole (only the test's processes are in the namespace).
#[test]
fn rlsof_inet_views_agree_with_the_walk_and_lsof() {
    if let Some(why) = skip_reason() {
        return common::skip("rlsof_inet_views_agree_with_the_walk_and_lsof", why);
    }
    let scene = Scene::start();
    let enter = scene.enter();
    let prefix: Vec<&str> = enter.iter().map(String::as_str).collect();
    let kinds = Holder::start(&prefix, "holder.py", &[]);
    let nondumpable = Holder::start(&prefix, "owner_kinds.py", &["nondumpable"]);
    let nosock = Holder::start(&prefix, "owner_kinds.py", &["nosock"]);
    let port = (20000 + (std::process::id() % 20000)).to_string();
    let subst = |a: &str| {
        a.replace("{port}", &port)
            .replace(
                "{kid}",
                &(20000 + (std::process::id() % 20000) + 1).to_string(),
            )
            .replace("{tcp4}", kinds.get("tcp4"))
            .replace("{udp6}", kinds.get("udp6"))
            .replace("{nd}", nondumpable.get("pid"))
            .replace("{ndtcp}", nondumpable.get("tcp"))
            .replace("{nosock}", nosock.get("pid"))
    };
    let views: &[&str] = &[
        "-i",
        "-i -nP",
        "-i -n",
        "-i -P",
        "-i -t",
        "-i -nP -F pcfn",
        "-i -nP -F",
        "-i 4 -nP",
        "-i 6 -nP",
        "-i TCP -nP",
        "-i UDP -P",
        "-i :{port} -nP",
        "-i TCP:{tcp4} -nP",
        "-i @127.0.0.1 -nP",
        "-i UDP:{udp6} -i TCP:{ndtcp} -nP",
        "-i TCP -s TCP:LISTEN -nP",
        "-i -s TCP:ESTABLISHED -nP",
        "-i -nP +c 0",
        "-i -nP -c 4",
        "-i -nP -R",
        "-i -nP -l",
        "-i -nP -o",
        "-i -nP -T",
        "-i -nP -Tqs",
        "-a -i -nP -c python",
        "-a -i -nP -c /^rnt/",
        "-a -i -nP -c ^python",
        "-a -i -nP -u 0",
        "-a -i -nP -u 65534",
        "-a -i -nP -u ^0",
        "-a -i -nP -p {nd}",
        "-a -i -nP -p ^{nd}",
        "-a -i -c rnt-nosock",
        "-a -i -V -c rnt-nosock",
        "-a -i -V -c rnt-nosock -c python",
        "-a -i :{kid} -nP",
        "-a -i TCP:1 -V -nP",
        "-i -t -a -p {nosock}",
    ];
    let mut problems = Vec::new();
    // -V's messages and the warnings name the program.
    let normal = |s: String| s.replace("rlsof: ", "lsof: ");
    for view in views {
        let view = subst(view);
        let args: Vec<&str> = view.split_whitespace().collect();
        // The scene's mount table is a copy of the host's, which other tests change
        // (`ip netns add`/`del`): a mount going away between two runs changes one
        // run's warnings, so a difference is tried again; a real one shows every time.
        let mut differences = Vec::new();
        for _ in 0..common::ATTEMPTS {
            let bpf = scene.run(true, &[], Some("bpf"), "rlsof", &args);
            let walk = scene.run(true, &[], Some("proc"), "rlsof", &args);
            let auto = scene.run(true, &[], None, "rlsof", &args);
            let lsof = scene.run(true, &[], None, "lsof", &args);
            assert!(
                bpf.status.is_some_and(|s| s.code().is_some_and(|c| c <= 1)),
                "rlsof {view} with the iterator: {} {}",
                bpf.status_str(),
                bpf.stderr_str()
            );
            differences.clear();
            for (name, other) in [("walk", &walk), ("default", &auto), ("lsof", &lsof)] {
                let same = normal(text(&bpf)) == normal(text(other))
                    && normal(bpf.stderr_str()) == normal(other.stderr_str());
                if !same || code(&bpf) != code(other) {
                    differences.push(format!(
                        "rlsof {view}: iterator and {name} differ\n--- iterator ({})\n{}{}--- {name} ({})\n{}{}",
                        bpf.status_str(),
                        text(&bpf),
                        bpf.stderr_str(),
                        other.status_str(),
                        text(other),
                        other.stderr_str()
                    ));
                }
            }
            if differences.is_empty() {
                break;
            }
        }
        problems.append(&mut differences);
    }
    // The rows are there: every holder's sockets, the renamed child's full name, the
    // non-dumpable process as nobody's, and no socket only a thread's own table holds.
    let all = text(&scene.run(true, &[], Some("bpf"), "rlsof", &["-i", "-nP", "+c", "0"]));
    let has = |pid: &str, what: &str| {
        all.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(1) == Some(&pid) && l.contains(what)
        })
    };
    assert!(
        has(
            kinds.get("pid"),
            &format!("127.0.0.1:{}", kinds.get("tcp4"))
        ),
        "{all}"
    );
    assert!(
        all.lines().any(|l| l.starts_with("rnt\\x20owner\\x20kid ")),
        "{all}"
    );
    assert!(
        all.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(1) == Some(&nondumpable.get("pid")) && cols.get(2) == Some(&"nobody")
        }),
        "{all}"
    );
    let private = (20000 + (std::process::id() % 20000) + 5).to_string();
    assert!(!all.contains(&format!(":{private} ")), "{all}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    drop((kinds, nondumpable, nosock));
}

/// Where the walk would not see what the iterator sees, the iterator is not used:
/// with /proc of another pid namespace (`unshare --pid` without a new /proc), and
/// without the capabilities that let root read every fd directory (nobody). The
/// default answer is the walk's there, and RNETSTAT_OWNERS=bpf is an error.
#[test]
fn the_walk_answers_where_the_iterator_would_differ() {
    if let Some(why) = skip_reason() {
        return common::skip("the_walk_answers_where_the_iterator_would_differ", why);
    }
    let scene = Scene::start();
    let nobody: &[&str] = &[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
    ];
    for (pid, prefix, what) in [
        (false, &[][..], "our pid namespace, the scene's /proc"),
        (true, nobody, "as nobody"),
    ] {
        for (program, args) in [
            ("rnetstat", &["-anp"][..]),
            ("rss", &["-xap"][..]),
            ("rss", &["-tanp"][..]),
            ("rlsof", &["-i", "-nP"][..]),
        ] {
            let auto = scene.run(pid, prefix, None, program, args);
            let walk = scene.run(pid, prefix, Some("proc"), program, args);
            let bpf = scene.run(pid, prefix, Some("bpf"), program, args);
            let line = format!("{program} {} ({what})", args.join(" "));
            assert_eq!(text(&auto), text(&walk), "{line}");
            assert_eq!(code(&auto), code(&walk), "{line}");
            assert_eq!(auto.stderr, walk.stderr, "{line}");
            assert!(
                !ok(&bpf) && bpf.status.is_some(),
                "{line}: RNETSTAT_OWNERS=bpf should fail"
            );
            let err = String::from_utf8_lossy(&bpf.stderr);
            assert!(err.contains("RNETSTAT_OWNERS=bpf"), "{line}: {err}");
        }
    }
}

/// The iterator run from this process lists its own listening socket with its fd,
/// inode and comm, but not an O_PATH descriptor of a socket file, and the BTF members
/// it reads are in the running kernel's BTF.
#[test]
fn iterator_lists_our_socket() {
    if !is_root() {
        return common::skip("iterator_lists_our_socket", "needs root to load BPF");
    }
    let btf = rnetstat::btf::Btf::vmlinux().expect("the kernel's BTF");
    let offsets = rnetstat::ebpf::task_files::Offsets::from_btf(&btf).expect("members");
    assert!(
        offsets.task_comm > 0 && offsets.upid_size >= 8,
        "{offsets:?}"
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let fd = listener.as_raw_fd() as u32;
    let inode = std::fs::metadata(format!("/proc/self/fd/{fd}"))
        .unwrap()
        .ino();
    // An O_PATH descriptor of a bound unix socket's path: an S_IFSOCK inode, but the
    // file system's, not a socket (its /proc/PID/fd link is the path).
    let dir = std::env::temp_dir().join(format!("rnt-opath-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bound.sock");
    let bound = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let o_path = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(&path)
        .unwrap();
    let o_path_fd = o_path.as_raw_fd() as u32;
    let records = rnetstat::ebpf::task_files::socket_fds().expect("the iterator runs");
    let pid = std::process::id();
    let ours: Vec<_> = records.iter().filter(|r| r.pid == pid).collect();
    assert!(
        ours.iter().any(|r| r.fd == fd && r.inode == inode),
        "fd {fd} inode {inode} not among {ours:?}"
    );
    let bound_fd = bound.as_raw_fd() as u32;
    assert!(ours.iter().any(|r| r.fd == bound_fd), "{ours:?}");
    assert!(
        !ours.iter().any(|r| r.fd == o_path_fd),
        "the O_PATH descriptor {o_path_fd} listed as a socket: {ours:?}"
    );
    drop((o_path, bound));
    let _ = std::fs::remove_dir_all(&dir);
    let comm = std::fs::read("/proc/self/comm").unwrap();
    assert_eq!(ours[0].comm(), comm.strip_suffix(b"\n").unwrap());
    drop(listener);
}

/// A file the test writes (strace's log), removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(what: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(format!("rnt-{what}-{}", std::process::id())))
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }

    fn read(&self) -> String {
        std::fs::read_to_string(&self.0).unwrap_or_default()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The row of netstat's table whose Local Address is exactly `127.0.0.1:PORT`.
fn row_of(text: &str, port: u16) -> Option<&str> {
    let local = format!("127.0.0.1:{port}");
    text.lines()
        .find(|l| l.split_whitespace().nth(3) == Some(local.as_str()))
}

/// The row's "PID/Program name" split in two (a listener's: after LISTEN).
fn program_of(row: &str) -> Option<(&str, &str)> {
    let (_, rest) = row.split_once(" LISTEN ")?;
    rest.trim().split_once('/')
}

/// The text without the row of `port`.
fn without_row(text: &str, port: u16) -> String {
    let skip = row_of(text, port);
    text.lines()
        .filter(|l| Some(*l) != skip)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// netstat's program names from the argv iterator: the holders of
/// owners_scene.py's ARGV_HOLDERS (names around netstat's 511-byte read of cmdline, an
/// empty one, control bytes, a rename, setproctitle-style titles running into the
/// environment, argument areas /proc cannot read) give the same rows with the
/// iterator, with the walk and with netstat; /proc/PID/cmdline is opened only for the
/// processes whose arguments the program could not copy.
#[test]
fn argv0_from_the_iterator_is_what_cmdline_gives() {
    if let Some(why) = skip_reason() {
        return common::skip("argv0_from_the_iterator_is_what_cmdline_gives", why);
    }
    if !have("strace") {
        return common::skip("argv0_from_the_iterator_is_what_cmdline_gives", "no strace");
    }
    let scene = Scene::start_with(&["argv"]);
    let first = scene.port + 10;
    // The one name ours prints escaped (README: deliberate differences).
    let escaped = first + 6;
    let mut problems = Vec::new();
    for args in [&["-anp"][..], &["-tlnp"][..], &["-tlnpe"][..]] {
        let bpf = scene.run(true, &[], Some("bpf"), "rnetstat", args);
        let walk = scene.run(true, &[], Some("proc"), "rnetstat", args);
        let auto = scene.run(true, &[], None, "rnetstat", args);
        let refr = scene.run(true, &[], None, "netstat", args);
        let what = format!("rnetstat {}", args.join(" "));
        assert!(
            ok(&bpf),
            "{what} with the iterator: {}",
            String::from_utf8_lossy(&bpf.stderr)
        );
        for (name, other) in [("walk", &walk), ("default", &auto)] {
            if text(&bpf) != text(other) || code(&bpf) != code(other) {
                problems.push(format!(
                    "{what}: iterator and {name} differ\n--- iterator\n{}--- {name}\n{}",
                    text(&bpf),
                    text(other)
                ));
            }
        }
        let (ours, theirs) = (text(&bpf), text(&refr));
        if without_row(&ours, escaped) != without_row(&theirs, escaped) || code(&bpf) != code(&refr)
        {
            problems.push(format!(
                "{what}: iterator and netstat differ\n--- iterator\n{ours}--- netstat\n{theirs}"
            ));
        }
        assert!(
            row_of(&theirs, escaped).is_some_and(|r| r.contains("\u{1b}[2J\u{7}ctl\tname")),
            "{what}: netstat's raw name\n{theirs}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The names themselves, as netstat cuts them (the basename of the first 511 bytes,
    // 19 bytes of "PID/name").
    let trace = TempFile::new("argv0-openat");
    let traced = scene.run(
        true,
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=openat",
            "-o",
            trace.path(),
        ],
        Some("bpf"),
        "rnetstat",
        &["-tlnp"],
    );
    let out = text(&traced);
    let expected: &[(u16, &str)] = &[
        (0, "abcd"),
        (1, "name511"),
        (2, "name51"),
        (3, "name510"),
        (5, ""),
        (7, "ctlpath"),
        (8, "renamed"),
        (9, "titled: wwwwwww"),
        (10, "xxxxxxxxxxxxxxx"),
        (11, "no-nul-at"),
        (12, ""),
        (13, ""),
    ];
    for &(i, name) in expected {
        let row = row_of(&out, first + i).unwrap_or_else(|| panic!("no row {i}:\n{out}"));
        let (_, got) = program_of(row).unwrap_or_else(|| panic!("no program: {row}"));
        assert!(
            got.starts_with(name),
            "holder {i}: {got:?}, expected {name:?}"
        );
    }
    // cmdline was read only for the holders whose argument area the program may not
    // copy: unreadable memory, and a file mapping (/proc reads only anonymous memory).
    let cmdline = |i: u16| {
        row_of(&out, first + i)
            .and_then(program_of)
            .map(|(pid, _)| format!("/proc/{pid}/cmdline"))
            .unwrap_or_else(|| panic!("no row {i}:\n{out}"))
    };
    let mut expected = vec![cmdline(12), cmdline(13)];
    expected.sort();
    let log = trace.read();
    let mut opened: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split('"').nth(1))
        .filter(|p| p.ends_with("/cmdline"))
        .collect();
    opened.sort();
    assert_eq!(opened, expected, "{log}");
}

/// `rnetstat -c` loads and verifies the BPF programs once, then runs the iterators
/// again each interval (BPF_ITER_CREATE from the same links).
#[test]
fn rnetstat_c_loads_the_programs_once() {
    if let Some(why) = skip_reason() {
        return common::skip("rnetstat_c_loads_the_programs_once", why);
    }
    if !have("strace") {
        return common::skip("rnetstat_c_loads_the_programs_once", "no strace");
    }
    let scene = Scene::start();
    let trace = TempFile::new("c-bpf");
    let mut child = Command::new(common::find_program("nsenter").expect("nsenter"))
        .args(["-t", &scene.init.to_string(), "-n", "-m", "-p", "--"])
        .args(["strace", "-f", "-qq", "-e", "trace=bpf", "-o", trace.path()])
        .args([
            "env",
            "RNETSTAT_OWNERS=bpf",
            &bin("rnetstat"),
            "-tlnpc",
            "0.05",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("nsenter runs");
    const INTERVALS: usize = 4;
    let mut seen = 0;
    {
        // Reading stops after four listings; closing the pipe ends rnetstat (EPIPE).
        let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
        while seen < INTERVALS {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("Active Internet connections") => seen += 1,
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen, INTERVALS, "rnetstat -c stopped early");
    let log = trace.read();
    let count = |cmd: &str| log.matches(&format!("bpf({cmd},")).count();
    // The task_file program and the argv[0] program, once each.
    assert_eq!(count("BPF_PROG_LOAD"), 2, "{log}");
    assert_eq!(count("BPF_LINK_CREATE"), 2, "{log}");
    assert!(count("BPF_ITER_CREATE") >= 2 * INTERVALS, "{log}");
}

/// The argv iterator run from this process gives its argv[0] as /proc/self/cmdline
/// does, and the members it reads are in the running kernel's BTF.
#[test]
fn argv_iterator_reads_our_argv0() {
    if !is_root() {
        return common::skip("argv_iterator_reads_our_argv0", "needs root to load BPF");
    }
    let btf = rnetstat::btf::Btf::vmlinux().expect("the kernel's BTF");
    let task = rnetstat::ebpf::task_files::Offsets::from_btf(&btf).expect("task members");
    let offsets = rnetstat::ebpf::task_argv::ArgvOffsets::from_btf(&btf, task).expect("members");
    assert!(offsets.mm_arg_end > offsets.mm_arg_start, "{offsets:?}");
    let iterator = rnetstat::ebpf::task_argv::ArgvIterator::load(&offsets).expect("loads");
    let argv0s = iterator.argv0s().expect("the iterator runs");
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
    let ours = &cmdline[..cmdline
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(cmdline.len())];
    assert_eq!(
        argv0s.get(std::process::id()),
        Some(&ours[..ours.len().min(511)])
    );
    // Run again from the same link: the same answer.
    let again = iterator.argv0s().expect("runs again");
    assert_eq!(
        again.get(std::process::id()),
        argv0s.get(std::process::id())
    );
}

/// `rlsof -i -r` (and `+r`) loads and verifies the task_file program once for all its
/// passes, then runs the iterator again each pass (BPF_ITER_CREATE from the same
/// link); every pass lists what the walk (`RNETSTAT_OWNERS=proc`) and lsof list, byte
/// for byte, markers, stderr and status included (three passes: `c3`).
#[test]
fn rlsof_r_loads_the_program_once() {
    if let Some(why) = skip_reason() {
        return common::skip("rlsof_r_loads_the_program_once", why);
    }
    if !have("strace") {
        return common::skip("rlsof_r_loads_the_program_once", "no strace");
    }
    let scene = Scene::start();
    const PASSES: usize = 3;
    let normal = |s: String| s.replace("rlsof: ", "lsof: ");
    let listener = format!("127.0.0.1:{} (LISTEN)", scene.port);
    // With a marker: lsof 4.95 reads a bare `-r1c3`'s `c3` again as `-c 3`.
    for repeat in ["-r1c3mPASS", "+r1c3mPASS"] {
        let args = ["-i", "-nP", repeat];
        let what = format!("rlsof {}", args.join(" "));
        let trace = TempFile::new("r-bpf");
        let strace = ["strace", "-f", "-qq", "-e", "trace=bpf", "-o", trace.path()];
        // The scene's mount table is a copy of the host's, which other tests change:
        // a difference is tried again (see rlsof_inet_views_agree_with_the_walk_and_lsof).
        let mut differences = Vec::new();
        let mut bpf = None;
        for _ in 0..common::ATTEMPTS {
            let traced = scene.run(true, &strace, Some("bpf"), "rlsof", &args);
            let walk = scene.run(true, &[], Some("proc"), "rlsof", &args);
            let lsof = scene.run(true, &[], None, "lsof", &args);
            differences.clear();
            for (name, other) in [("walk", &walk), ("lsof", &lsof)] {
                if normal(text(&traced)) != normal(text(other))
                    || normal(traced.stderr_str()) != normal(other.stderr_str())
                    || code(&traced) != code(other)
                {
                    differences.push(format!(
                        "{what}: iterator and {name} differ\n--- iterator ({})\n{}{}--- {name} ({})\n{}{}",
                        traced.status_str(),
                        text(&traced),
                        traced.stderr_str(),
                        other.status_str(),
                        text(other),
                        other.stderr_str()
                    ));
                }
            }
            bpf = Some(traced);
            if differences.is_empty() {
                break;
            }
        }
        assert!(differences.is_empty(), "{}", differences.join("\n"));
        let bpf = bpf.expect("one attempt ran");
        // Three passes, each the same listing, the scene's listener (its PID 1's) among
        // its rows.
        let out = text(&bpf);
        let passes: Vec<&str> = out.split_inclusive("PASS\n").collect();
        assert_eq!(passes.len(), PASSES, "{what}:\n{out}");
        for pass in &passes {
            assert_eq!(*pass, passes[0], "{what}: the passes differ:\n{out}");
            assert!(
                pass.lines().any(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    cols.first() == Some(&"python3")
                        && cols.get(1) == Some(&"1")
                        && l.ends_with(&listener)
                }),
                "{what}: no row of the scene's listener {listener}:\n{pass}"
            );
        }
        let log = trace.read();
        let count = |cmd: &str| log.matches(&format!("bpf({cmd},")).count();
        assert_eq!(count("BPF_PROG_LOAD"), 1, "{what}: {log}");
        assert_eq!(count("BPF_LINK_CREATE"), 1, "{what}: {log}");
        assert_eq!(count("BPF_ITER_CREATE"), PASSES, "{what}: {log}");
    }
}

/// tests/support/zombie_leader.c, compiled into a fresh directory and run in the
/// scene's namespaces: its leader exited, its other thread holds sockets. Stdin
/// closing ends it; the directory goes on drop.
struct ZombieLeader {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: std::path::PathBuf,
    /// The process and its living thread, as the scene's pid namespace numbers them.
    pid: String,
    tid: String,
    /// The child sharing the listener on the first port.
    kid: String,
}

impl ZombieLeader {
    fn start(scene: &Scene, port: u16) -> ZombieLeader {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("rnt-zombie-leader-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("zombie_leader");
        let built = Command::new("cc")
            .args(["-O2", "-Wall", "-pthread", "-o"])
            .arg(&binary)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/zombie_leader.c"
            ))
            .output()
            .expect("cc runs");
        assert!(built.status.success(), "cc: {built:?}");
        let enter = scene.enter();
        let mut child = Command::new(&enter[0])
            .args(&enter[1..])
            .arg(&binary)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nsenter runs");
        let stdin = child.stdin.take();
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("stdout piped")).read_line(&mut line);
        let mut zombie = ZombieLeader {
            child,
            stdin,
            dir,
            pid: String::new(),
            tid: String::new(),
            kid: String::new(),
        };
        let ids: Vec<&str> = line.split_whitespace().collect();
        assert!(ids.len() == 3, "zombie_leader did not start: {line:?}");
        (zombie.pid, zombie.tid, zombie.kid) = (ids[0].into(), ids[1].into(), ids[2].into());
        zombie
    }
}

impl Drop for ZombieLeader {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The row of `text` whose columns `cols` are `want` (column index, text), exactly.
fn row_with<'t>(text: &'t str, want: &[(usize, &str)]) -> Option<Vec<&'t str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| want.iter().all(|&(i, w)| cols.get(i) == Some(&w)))
}

/// A process whose thread-group leader exited (a zombie) while another thread holds
/// its sockets: /proc/PID/fd, the leader's table, is empty, so netstat, ss and lsof
/// name no owner for the sockets only it holds, and name the child for the listener it
/// shares with one. rnetstat -anp's program column, rss -anp's users:(...) (and -T's,
/// which walks the thread's table and names it) and rlsof -i give the same, from the
/// iterator (whose program keeps leaders only) and from the walk.
#[test]
fn a_zombie_leaders_sockets_are_named_as_the_reference_names_them() {
    if let Some(why) = skip_reason() {
        return common::skip("a_zombie_leaders_sockets_are_named", why);
    }
    if !have("cc") {
        return common::skip("a_zombie_leaders_sockets_are_named", "no cc");
    }
    let scene = Scene::start();
    // Past the scene's own holders (port..port+5).
    let port = scene.port + 6;
    let zombie = ZombieLeader::start(&scene, port);
    let shared = format!("127.0.0.1:{port}");
    let own = format!("127.0.0.1:{}", port + 1);
    let views: &[(&str, &str, &[&str])] = &[
        ("rnetstat", "netstat", &["-anp"]),
        ("rss", "ss", &["-anp"]),
        ("rss", "ss", &["-tanpT"]),
        ("rlsof", "lsof", &["-i", "-nP"]),
    ];
    let mut problems = Vec::new();
    for &(ours, reference, args) in views {
        let refr = scene.run(true, &[], None, reference, args);
        let theirs = text(&refr);
        // The reference's rows of the zombie's sockets, found by exact columns.
        let rows: Vec<Option<Vec<&str>>> = match reference {
            "netstat" => vec![
                row_with(&theirs, &[(0, "tcp"), (3, &shared), (5, "LISTEN")]),
                row_with(&theirs, &[(0, "tcp"), (3, &own), (5, "LISTEN")]),
                row_with(&theirs, &[(0, "udp"), (3, &own)]),
            ],
            "ss" if args == ["-tanpT"] => vec![
                row_with(&theirs, &[(0, "LISTEN"), (3, &shared)]),
                row_with(&theirs, &[(0, "LISTEN"), (3, &own)]),
            ],
            "ss" => vec![
                row_with(&theirs, &[(0, "tcp"), (1, "LISTEN"), (4, &shared)]),
                row_with(&theirs, &[(0, "tcp"), (1, "LISTEN"), (4, &own)]),
                row_with(&theirs, &[(0, "udp"), (4, &own)]),
            ],
            _ => vec![
                row_with(&theirs, &[(1, &zombie.kid), (7, "TCP"), (8, &shared)]),
                row_with(&theirs, &[(1, &zombie.pid)]),
            ],
        };
        let what = format!("{reference} {}", args.join(" "));
        // What the reference says of them, so the comparison covers the case.
        let holder = |row: &Option<Vec<&str>>| row.as_ref().map(|r| r[r.len() - 1].to_string());
        match (reference, args) {
            ("netstat", _) => {
                assert_eq!(
                    holder(&rows[0]).map(|h| h.starts_with(&format!("{}/", zombie.kid))),
                    Some(true),
                    "{what}: {theirs}"
                );
                assert_eq!(holder(&rows[1]).as_deref(), Some("-"), "{what}: {theirs}");
                assert_eq!(holder(&rows[2]).as_deref(), Some("-"), "{what}: {theirs}");
            }
            ("ss", ["-tanpT"]) => {
                let thread = format!("pid={},tid={},", zombie.pid, zombie.tid);
                assert!(
                    holder(&rows[1]).is_some_and(|h| h.contains(&thread)),
                    "{what}: {theirs}"
                );
            }
            ("ss", _) => {
                let kid = format!("((\"rnt-zl-kid\",pid={},fd=", zombie.kid);
                assert!(
                    holder(&rows[0]).is_some_and(|h| h.contains(&kid)),
                    "{what}: {theirs}"
                );
                assert_eq!(rows[1].as_ref().map(Vec::len), Some(6), "{what}: {theirs}");
                assert_eq!(rows[2].as_ref().map(Vec::len), Some(6), "{what}: {theirs}");
            }
            _ => {
                assert!(rows[0].is_some(), "{what}: {theirs}");
                assert!(rows[1].is_none(), "{what}: {theirs}");
            }
        }
        for owners in ["bpf", "proc"] {
            let got = scene.run(true, &[], Some(owners), ours, args);
            let mine = text(&got);
            let what = format!("RNETSTAT_OWNERS={owners} {ours} {}", args.join(" "));
            for reference_row in rows.iter().flatten() {
                let keys: Vec<(usize, &str)> = reference_row
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (i, *c))
                    .collect();
                let same = row_with(&mine, &keys).is_some_and(|r| r.len() == reference_row.len());
                if !same {
                    problems.push(format!("{what}: no row {reference_row:?}:\n{mine}"));
                }
            }
            // Each ss lists its own sock_diag socket (netlink, port id its pid): the
            // netlink rows are not the same from one run to the next.
            let stable = |t: &str| -> String {
                t.lines()
                    .filter(|l| !(reference == "ss" && l.starts_with("nl ")))
                    .map(|l| format!("{l}\n"))
                    .collect()
            };
            if stable(&mine) != stable(&theirs) || code(&got) != code(&refr) {
                problems.push(format!(
                    "{what} and {reference} differ\n--- ours ({})\n{mine}--- {reference} ({})\n{theirs}",
                    got.status_str(),
                    refr.status_str()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    drop(zombie);
}

/// lsof leaves a zombie out, but not the living threads of a process whose leader
/// exited: wherever it lists tasks (no selection at all, or -K) it lists theirs, under
/// the process's pid with their TID, the sockets only they hold among them. rlsof
/// lists the same, byte for byte, status included.
#[test]
fn rlsof_lists_a_zombie_leaders_threads_as_lsof_does() {
    if let Some(why) = skip_reason() {
        return common::skip("rlsof_lists_a_zombie_leaders_threads_as_lsof_does", why);
    }
    if !have("cc") {
        return common::skip("rlsof_lists_a_zombie_leaders_threads_as_lsof_does", "no cc");
    }
    let scene = Scene::start();
    let port = scene.port + 6;
    let zombie = ZombieLeader::start(&scene, port);
    let own = format!("127.0.0.1:{}", port + 1);
    let normal = |s: String| s.replace("rlsof: ", "lsof: ");
    let mut problems = Vec::new();
    for args in [
        vec!["-nP"],
        vec!["-K", "-a", "-i", "-nP"],
        vec!["-K", "-a", "-p", &zombie.pid, "-nP"],
        vec!["-K", "-a", "-p", &zombie.pid, "-i", "-nP", "-t"],
        vec!["-a", "-p", &zombie.pid, "-nP"],
    ] {
        let what = format!("rlsof {}", args.join(" "));
        // The scene's mount table is a copy of the host's, which other tests change
        // (see rlsof_inet_views_agree_with_the_walk_and_lsof): tried again on a
        // difference.
        let mut differences = Vec::new();
        for _ in 0..common::ATTEMPTS {
            let lsof = scene.run(true, &[], None, "lsof", &args);
            let ours = scene.run(true, &[], None, "rlsof", &args);
            differences.clear();
            // Without a selection each tool lists itself too (and its columns' widths
            // count its own rows): there the rows of the others are compared, as words.
            let others = |t: String| -> String {
                if args != ["-nP"] {
                    return t;
                }
                t.lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>())
                    .filter(|cols| !matches!(cols.first(), Some(&"lsof") | Some(&"rlsof")))
                    .map(|cols| cols.join(" ") + "\n")
                    .collect()
            };
            if others(normal(text(&ours))) != others(normal(text(&lsof)))
                || normal(ours.stderr_str()) != normal(lsof.stderr_str())
                || code(&ours) != code(&lsof)
            {
                differences.push(format!(
                    "{what} and lsof differ\n--- rlsof ({})\n{}{}--- lsof ({})\n{}{}",
                    ours.status_str(),
                    text(&ours),
                    ours.stderr_str(),
                    lsof.status_str(),
                    text(&lsof),
                    lsof.stderr_str()
                ));
            }
            // What lsof says, so that the comparison covers the case: the thread's
            // listener under the process's pid and the thread's TID; with -t the pid;
            // without -K nothing of the process.
            let theirs = text(&lsof);
            let listed = match args.as_slice() {
                [.., "-t"] => theirs.lines().any(|l| l == zombie.pid),
                ["-a", ..] => theirs.is_empty(),
                _ => row_with(
                    &theirs,
                    &[(1, &zombie.pid), (2, &zombie.tid), (9, "TCP"), (10, &own)],
                )
                .is_some(),
            };
            assert!(listed, "{what}: lsof's listing is not the case's\n{theirs}");
            if differences.is_empty() {
                break;
            }
        }
        problems.append(&mut differences);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    drop(zombie);
}
