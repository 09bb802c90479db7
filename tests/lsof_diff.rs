//! Differential tests: rlsof and the real lsof 4.95 run with the same arguments on a
//! python3 process this test starts (tests/fixtures/lsof/holder.py), which holds one
//! of each kind of socket and file. Restricted to that process with `-a -p PID`, the
//! outputs must be identical byte for byte (widths included); otherwise only the
//! lines of that process are compared, with runs of spaces folded, since lsof pads
//! columns to the widest entry of every process it lists.

mod lsof_support;

use lsof_support::Holder;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const RLSOF: &str = env!("CARGO_BIN_EXE_rlsof");

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn skip_reason() -> Option<&'static str> {
    if !have("lsof") {
        return Some("lsof is not installed");
    }
    if !have("python3") {
        return Some("python3 is not installed");
    }
    None
}

impl Holder {
    fn pid(&self) -> &str {
        self.get("pid")
    }

    /// `{pid}`, `{tcp4}`, `{dir}`... replaced by what the holder opened.
    fn expand(&self, args: &str) -> Vec<String> {
        args.split_whitespace()
            .map(|a| {
                let mut a = a.replace("{dir}", &self.dir.display().to_string());
                for (k, v) in &self.info {
                    a = a.replace(&format!("{{{k}}}"), v);
                }
                a
            })
            .collect()
    }
}

struct Run {
    stdout: String,
    stderr: String,
    status: i32,
}

fn run(bin: &str, args: &[String]) -> Run {
    let out = Command::new(bin)
        .args(args)
        .current_dir("/")
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status.code().unwrap_or(-1),
    }
}

/// How often a differing comparison is run again before it counts. /proc/net/{tcp,udp,
/// unix} are not read atomically: while other processes open and close sockets, a read
/// (lsof's as much as ours) can miss or repeat a row, even one of the holder's static
/// sockets. A real difference shows on every attempt.
const ATTEMPTS: usize = 3;

/// Both tools restricted to the holder: identical output and status.
fn exact(h: &Holder, args: &str) {
    let args = h.expand(args);
    let (mut want, mut got) = (run("lsof", &args), run(RLSOF, &args));
    for _ in 1..ATTEMPTS {
        if (&got.stdout, got.status) == (&want.stdout, want.status) {
            break;
        }
        (want, got) = (run("lsof", &args), run(RLSOF, &args));
    }
    assert_eq!(got.stdout, want.stdout, "rlsof {args:?}");
    assert_eq!(got.status, want.status, "exit status of rlsof {args:?}");
}

/// The holder's lines only, spaces folded (lsof pads to other processes' widths).
fn folded_lines(out: &str, pid: &str, terse: bool) -> Vec<String> {
    out.lines()
        .filter(|l| {
            if terse {
                l.trim() == pid
            } else {
                l.split_whitespace().nth(1) == Some(pid)
            }
        })
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn folded(h: &Holder, args: &str) {
    let args = h.expand(args);
    let terse = args.iter().any(|a| a == "-t");
    let (mut want, mut got) = (run("lsof", &args), run(RLSOF, &args));
    // Retried: see ATTEMPTS.
    for _ in 1..ATTEMPTS {
        let same = folded_lines(&got.stdout, h.pid(), terse)
            == folded_lines(&want.stdout, h.pid(), terse)
            && got.status == want.status;
        if same {
            break;
        }
        (want, got) = (run("lsof", &args), run(RLSOF, &args));
    }
    let want_lines = folded_lines(&want.stdout, h.pid(), terse);
    assert!(
        !want_lines.is_empty(),
        "lsof {args:?} listed nothing of ours"
    );
    assert_eq!(
        folded_lines(&got.stdout, h.pid(), terse),
        want_lines,
        "rlsof {args:?}"
    );
    assert_eq!(got.status, want.status, "exit status of rlsof {args:?}");
}

/// `-i` in every form, alone and with -a, with and without -n/-P, and -s.
#[test]
fn inet_selections() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let h = Holder::start(&[], "holder.py", &[]);
    for args in [
        "-a -p {pid} -i",
        "-a -p {pid} -i -n",
        "-a -p {pid} -i -P",
        "-a -p {pid} -i -nP",
        "-a -p {pid} -i4",
        "-a -p {pid} -i6",
        "-a -p {pid} -i 4 -i 6",
        "-a -p {pid} -iTCP",
        "-a -p {pid} -iudp",
        "-a -p {pid} -i 4TCP",
        "-a -p {pid} -i 6TCP",
        "-a -p {pid} -i :{tcp4}",
        "-a -p {pid} -i TCP:{tcp6}",
        "-a -p {pid} -i UDP:{udp4}",
        "-a -p {pid} -i :{tcp4},{udp6} -nP",
        "-a -p {pid} -i :1-65535 -P",
        "-a -p {pid} -i @127.0.0.1",
        "-a -p {pid} -i @127.0.0.1:{tcpmapped}",
        "-a -p {pid} -i TCP@[::1]",
        "-a -p {pid} -i 6@[::1]:{tcp6}",
        "-a -p {pid} -i @localhost",
        "-a -p {pid} -i @[::ffff:127.0.0.1]",
        "-a -p {pid} -i :{tcp4} -i :{udp4}",
        "-a -p {pid} -iTCP -sTCP:LISTEN",
        "-a -p {pid} -i -s TCP:^LISTEN",
        "-a -p {pid} -i4 -s tcp:established,listen",
        "-a -p {pid} -s TCP:LISTEN",
        "-a -c python -u root -i TCP:{tcp4}",
        "-a -p {pid} -c /^pyth/ -i :{tcp4}",
        "-a -p {pid} -i :{tcp4} -t",
        // Nothing found: exit status 1.
        "-a -p {pid} -i :1",
        "-a -p {pid} -i :{tcp4} -i :1",
        "-a -p {pid} -i UDP:{tcp4}",
        "-a -p ^{pid} -i :{tcp4}",
    ] {
        exact(&h, args);
    }
    for args in [
        "-i :{tcp4}",
        "-i TCP:{tcp6} -n",
        "-p {pid} -i :{udp6}",
        "-i @127.0.0.1:{tcpmapped} -P",
        "-t -i :{tcp4}",
    ] {
        folded(&h, args);
    }
    // Only the holder has these ports: whole outputs compare.
    exact(&h, "-i :{tcp4} -F pcfn");
    exact(&h, "-i UDP:{udp4_connected} -nP");
}

/// Unix sockets, field output, +c, -l, -t, and endpoint information.
#[test]
fn unix_fields_and_modifiers() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let h = Holder::start(&[], "holder.py", &[]);
    for args in [
        "-a -p {pid} -U",
        "-a -p {pid} -U -F",
        "-a -p {pid} -U -F pcfn",
        "-a -p {pid} -U +E",
        "-a -p {pid} -U -E",
        "-a -p {pid} -i -F",
        "-a -p {pid} -i -F 0",
        "-a -p {pid} -i -F pcuLftn",
        "-a -p {pid} -i +c 0",
        "-a -p {pid} -i +c 3",
        "-a -p {pid} -i +c 15",
        "-a -p {pid} -i -l",
        "-a -p {pid} -i -w",
        // +f prints sockets' file flags (from fdinfo) in the table too, not only in -F.
        "-a -p {pid} -i +fg",
        "-a -p {pid} -i +fG",
        "-a -p {pid} -U +fg",
        "-a -p {pid} -t",
        "-a -p {pid} -U -t",
        "-a -c python3 -p {pid} -U",
        "-a -p {pid} -d 0-2",
        "-a -p {pid} -d ^0,^1,^2,^cwd,^mem",
        "-a -p {pid} -d cwd,txt,{eventfd}",
        "-a -p {pid} -d {pipe_r},{pipe_w} -E",
        "-a -p {pid} -d {pipe_r} +E",
        "-a -p {pid} -i -E",
        "-a -p {pid} -i :{tcp4} +E",
        // Not `-a -p {pid} -E` alone: its stdio pipes' endpoints include the tools.
        "-a -p {pid} -T -i",
        "-a -p {pid} -Tqs -i",
        "-a -p {pid} -Tq -U",
        "-a -p {pid} -Ts -i UDP",
        "-a -p {pid} -c ^sleep -U",
    ] {
        exact(&h, args);
    }
    folded(&h, "-U");
    folded(&h, "-U -p {pid}");
}

/// The full listing of the process, no arguments at all, and file-name arguments.
#[test]
fn full_listing_and_names() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let h = Holder::start(&[], "holder.py", &[]);
    for args in [
        "-p {pid}",
        "-p {pid} -nP",
        "-p {pid} -F",
        "-p {pid} -F pfatn",
        "-p {pid} -F so",
        "-p {pid} -s",
        "{regular}",
        "{dir}",
        // With -a -p: other processes' sockets whose paths lsof cannot stat() may be
        // selected too, by a table order that changes between the two runs (see
        // unix_names_as_lsof_cuts_and_stats_them, which tests that in a namespace).
        "-a -p {pid} {dir}/ustream.sock",
        "-a -p {pid} {regular}",
        "-t {regular}",
    ] {
        exact(&h, args);
    }
    folded(&h, "");
    folded(&h, "-c python3");
    folded(&h, "-u root");
    folded(&h, "-p {pid} -i :1");
}

/// Unix sockets named as lsof 4.95 matches them: by the path cut at the first blank,
/// tab or colon, and (its inverted stat test) a socket whose absolute path cannot be
/// stat()ed by the device and inode of the last one that could, so a socket bound to
/// `DIR/cut N.sock` whose record follows `listen`'s is listed as `listen`. The holder
/// and both tools run in a network namespace of the holder's own, so the unix table
/// (per namespace) holds its sockets alone, in the order the holder arranged.
#[test]
fn unix_names_as_lsof_cuts_and_stats_them() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: unshare --net needs root");
        return;
    }
    let h = Holder::start(&["unshare", "--net"], "unix_names.py", &[]);
    assert!(
        !h.get("listen").is_empty(),
        "the holder found no place for its listener before a cut socket"
    );
    let netns = format!("--net=/proc/{}/ns/net", h.pid());
    let run_in_netns = |bin: &str, args: &[String]| {
        let mut all = vec![netns.clone(), "--".to_string(), bin.to_string()];
        all.extend_from_slice(args);
        run("nsenter", &all)
    };
    // The holder's rows: table lines by PID, or -F lines of files.
    let rows = |out: &str| {
        out.lines()
            .filter(|l| l.split_whitespace().nth(1) == Some(h.pid()) || l.starts_with('f'))
            .count()
    };
    for (args, least) in [
        // The listener and at least one cut socket.
        ("-a -p {pid} {listen}", 2),
        ("{listen}", 2),
        ("-a -p {pid} -F pfn {listen}", 2),
        // The socket bound to `colon:x.sock`.
        ("-a -p {pid} {colon}", 1),
    ] {
        let args = h.expand(args);
        let (want, got) = (run_in_netns("lsof", &args), run_in_netns(RLSOF, &args));
        assert!(
            rows(&want.stdout) >= least,
            "lsof {args:?}: fewer than {least} rows of the holder:\n{}{}",
            want.stdout,
            want.stderr
        );
        assert_eq!(got.stdout, want.stdout, "rlsof {args:?}");
        assert_eq!(got.status, want.status, "exit status of rlsof {args:?}");
    }
}

/// Exit status when nothing is found, and our deliberately stricter errors.
#[test]
fn status_and_errors() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let h = Holder::start(&[], "holder.py", &[]);
    for args in [
        "-i :1",
        "-p 999999999",
        "-c no-such-command",
        "-i TCP:1 -i UDP:2",
    ] {
        let args = h.expand(args);
        let want = run("lsof", &args);
        let got = run(RLSOF, &args);
        assert_eq!(want.status, 1, "lsof {args:?}");
        assert_eq!(got.status, 1, "rlsof {args:?}");
        assert!(got.stdout.is_empty(), "rlsof {args:?}: {}", got.stdout);
    }
    // Errors lsof also reports, with its messages.
    for (args, msg) in [
        ("-i bogus:x", "unknown protocol name (bogus) in: -i bogus:x"),
        (
            "-i @no-such-host.invalid",
            "unknown host name (no-such-host.invalid) in: -i @no-such-host.invalid",
        ),
        ("-i 4@[::1]", "IPv6 addresses are prohibited: -i 4@[::1]"),
        ("-i :x-y", "unknown service x-y in: -i :x-y"),
        (
            "-i :47001-47000",
            "unacceptable port specification in: -i :47001-47000",
        ),
        (
            "-i TCP@[::1",
            "unacceptable Internet address in: -i TCP@[::1",
        ),
        ("-p notapid", "illegal process ID: notapid"),
        ("-Y", "illegal option character: Y"),
        ("-s UDP:Idle", "no UDP state names available: UDP:Idle"),
        ("-u no-such-user-xyz", "can't get UID for no-such-user-xyz"),
        (
            "/no/such/file",
            "status error on /no/such/file: No such file or directory",
        ),
    ] {
        let args = h.expand(args);
        let want = run("lsof", &args);
        let got = run(RLSOF, &args);
        assert_eq!(want.status, 1, "lsof {args:?}");
        assert_eq!(got.status, 1, "rlsof {args:?}");
        assert!(want.stderr.contains(msg), "lsof {args:?}: {}", want.stderr);
        assert!(got.stderr.contains(msg), "rlsof {args:?}: {}", got.stderr);
    }
    // Deliberately stricter than lsof, which accepts a port above 65535 silently
    // (it wraps): a malformed selection is an error, exit 1.
    let got = run(RLSOF, &h.expand("-i :99999"));
    assert_eq!(got.status, 1);
    assert!(got
        .stderr
        .contains("unacceptable port specification in: -i :99999"));
}

/// As an unprivileged user: the root-owned holder shows `unknown` rows and a NOFD
/// row with the errors in NAME, unless warnings are off (-w, -t).
#[test]
fn without_root() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: dropping to nobody needs root");
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        println!("SKIPPED: setpriv is not installed");
        return;
    }
    let h = Holder::start(&[], "holder.py", &[]);
    // A copy nobody can surely run, whatever the permissions of the build tree.
    let copy = h.dir.join("rlsof");
    std::fs::copy(RLSOF, &copy).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&h.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = copy.display().to_string();
    let as_nobody = |tool: &str, args: &[String]| {
        let mut all = vec![
            "--reuid=nobody".to_string(),
            "--regid=nogroup".to_string(),
            "--clear-groups".to_string(),
            tool.to_string(),
        ];
        all.extend_from_slice(args);
        run("setpriv", &all)
    };
    for args in [
        "-p {pid}",
        "-p {pid} -F",
        "-p {pid} -w",
        "-p {pid} -t",
        "-a -p {pid} -i",
        "-a -p {pid} -U",
    ] {
        let args = h.expand(args);
        let want = as_nobody("lsof", &args);
        let got = as_nobody(&copy, &args);
        assert_eq!(got.stdout, want.stdout, "rlsof {args:?} as nobody");
        assert_eq!(
            got.status, want.status,
            "exit status of rlsof {args:?} as nobody"
        );
    }
}

/// A python3 script started by `argv` (the script is its last argument), whose first
/// line of output says it is ready; killed on drop, even when an assertion fails.
struct Scripted {
    child: Child,
    first_line: String,
}

impl Scripted {
    /// None when `argv[0]` cannot be started.
    fn start(argv: &[&str], script: &str) -> Option<Scripted> {
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        // Held from here on, so a script that fails to speak is killed too.
        let mut holder = Scripted {
            child,
            first_line: String::new(),
        };
        BufReader::new(holder.child.stdout.take()?)
            .read_line(&mut holder.first_line)
            .ok()?;
        Some(holder)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command with a space, a tab and a backslash, cut by the default and by `+c`.
#[test]
fn odd_command_name() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let script = "open('/proc/self/comm','w').write('a b\\tc\\\\long-name'); print(flush=True); import sys; sys.stdin.read()";
    let holder = Scripted::start(&["python3", "-c"], script).expect("python3 runs");
    let pid = holder.pid();
    let comm = std::fs::read(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm, b"a b\tc\\long-name\n");
    for extra in [&[][..], &["+c", "0"], &["+c", "3"], &["-F", "pc"]] {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        args.extend(["-a", "-p", &pid, "-d", "0"].map(String::from));
        let want = run("lsof", &args);
        let got = run(RLSOF, &args);
        assert_eq!(got.stdout, want.stdout, "rlsof {args:?}");
    }
}

/// Sockets of a process in another network namespace (an anonymous one from
/// `unshare --net`, gone with the process) are not in our /proc/net tables: lsof
/// shows them as `sock` with the xattr protocol name and `-i`/`-U` skip them. rlsof
/// decodes the ones that namespace's tables list and marks them; the rest stays as
/// lsof shows it (an unbound UDP socket is in no table).
#[test]
fn other_netns_sockets() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: unshare --net needs root");
        return;
    }
    let script = "import socket, sys\n\
        s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n\
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n\
        x = socket.socket(socket.AF_UNIX)\n\
        print(s.fileno(), x.fileno(), flush=True)\n\
        sys.stdin.read()\n";
    let Some(holder) = Scripted::start(&["unshare", "--net", "python3", "-c"], script) else {
        println!("SKIPPED: unshare is not installed");
        return;
    };
    let mut fds = holder.first_line.split_whitespace();
    let (Some(first), Some(last)) = (fds.next(), fds.next()) else {
        println!("SKIPPED: could not start a process in a new network namespace");
        return;
    };
    let pid = holder.pid();
    let range = format!("{first}-{last}");
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let note = format!(" [netns:{}]", ns.display());
    // By default: lsof's rows, byte for byte; -i and -U find nothing, as in lsof.
    let table = ["-a", "-p", &pid, "-d", &range].map(String::from);
    let (want, got) = (run("lsof", &table), run(RLSOF, &table));
    assert_eq!((want.status, got.status), (0, 0));
    assert_eq!(got.stdout, want.stdout);
    let fields = ["-a", "-p", &pid, "-d", &range, "-F"].map(String::from);
    let (want_f, got_f) = (run("lsof", &fields), run(RLSOF, &fields));
    assert_eq!(got_f.stdout, want_f.stdout);
    for flag in ["-i", "-U"] {
        let args = ["-a", "-p", &pid, flag].map(String::from);
        let (want, got) = (run("lsof", &args), run(RLSOF, &args));
        // lsof exits 1 for an -i that found nothing, 0 for -U.
        assert_eq!(want.stdout, "", "lsof {args:?}");
        assert_eq!(
            (got.status, got.stdout),
            (want.status, want.stdout),
            "rlsof {args:?}"
        );
    }

    // --all-netns: decoded from the namespace's tables and tagged.
    let table = ["--all-netns", "-a", "-p", &pid, "-d", &range].map(String::from);
    let got = run(RLSOF, &table);
    assert_eq!(got.status, 0);
    let want: Vec<&str> = want.stdout.lines().skip(1).collect();
    let got: Vec<&str> = got.stdout.lines().skip(1).collect();
    assert_eq!(want.len(), 3, "{want:?}");
    assert!(want[0].ends_with(" protocol: TCP"), "{want:?}");
    assert!(want[1].ends_with(" protocol: UDPv6"), "{want:?}");
    assert!(want[2].ends_with(" protocol: UNIX-STREAM"), "{want:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].contains(" IPv4 ") && got[0].ends_with(&format!(" (LISTEN){note}")));
    assert!(got[1].ends_with(" protocol: UDPv6"), "{got:?}");
    assert!(got[2].contains(" unix ") && got[2].ends_with(&format!(" (UNCONNECTED){note}")));
    for (w, g) in want.iter().zip(&got) {
        let head = |l: &str| l.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
        assert_eq!(head(w), head(g));
    }

    let fields = run(
        RLSOF,
        &["--all-netns", "-a", "-p", &pid, "-d", &range, "-F"].map(String::from),
    );
    assert!(
        fields
            .stdout
            .contains(&format!("\ne{}\nf3\n", ns.display())),
        "{}",
        fields.stdout
    );

    for (flag, ty) in [("-i", " IPv4 "), ("-U", " unix ")] {
        let args = ["--all-netns", "-a", "-p", &pid, flag].map(String::from);
        let got = run(RLSOF, &args);
        assert_eq!(got.status, 0, "rlsof {args:?}");
        let rows: Vec<&str> = got.stdout.lines().skip(1).collect();
        assert_eq!(rows.len(), 1, "{}", got.stdout);
        assert!(rows[0].contains(ty) && rows[0].ends_with(&note), "{rows:?}");
    }
}

/// `+r`: listings separated by `=======` until a pass lists nothing; exit 1 when
/// the first pass already found nothing.
#[test]
fn repeat_until_empty() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let h = Holder::start(&[], "holder.py", &[]);
    let once = run("lsof", &h.expand("-a -p {pid} -i :1"));
    let got = run(RLSOF, &h.expand("+r 1 -a -p {pid} -i :1"));
    assert_eq!((got.status, once.status), (1, 1));
    assert_eq!(got.stdout, "");

    let args = h.expand("-a -p {pid} -i TCP:{tcp4} -nP");
    let want = run("lsof", &args);
    let mut repeat = vec!["+r".to_string(), "1".to_string()];
    repeat.extend(args);
    let mut child = Command::new(RLSOF)
        .args(&repeat)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The holder goes only once the first pass is out: a fixed sleep is not enough on a
    // loaded machine, where the first pass could then meet the holder exiting.
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.ends_with("=======\n") {
        if reader.read_line(&mut text).unwrap() == 0 {
            break;
        }
    }
    drop(h);
    std::io::Read::read_to_string(&mut reader, &mut text).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    let blocks: Vec<&str> = text.split_terminator("=======\n").collect();
    assert!(!blocks.is_empty(), "{text}");
    // The pass that met the holder while it exited may be partial; the first is not.
    assert_eq!(blocks[0], want.stdout);
    assert!(text.ends_with("=======\n"), "{text}");
}

/// A closed pipe ends rlsof quietly.
#[test]
fn closed_pipe_is_quiet() {
    let mut child = Command::new(RLSOF)
        .arg("-nP")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    // A process of a uid without a passwd entry (tests/lsof_users.rs makes some) has
    // lsof's warnings written before any output: not what this is about.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rest: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("rlsof: no pwd entry for UID "))
        .collect();
    assert!(rest.is_empty(), "{stderr}");
}

/// Ping sockets (SOCK_DGRAM + IPPROTO_ICMP): lsof reads /proc/net/icmp and prints
/// the bound ones as `icmp` with the table's hex endpoints; unbound ones and ICMPv6
/// (no table read) stay `sock ... protocol: PING[v6]`; `-i` lists none of them.
/// Made in a private network namespace, whose ping_group_range the test may open;
/// both tools run inside it (nsenter), where lsof can read its tables.
#[test]
fn ping_sockets() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: unshare --net needs root");
        return;
    }
    let script = "import socket, sys\n\
        open('/proc/sys/net/ipv4/ping_group_range', 'w').write('0 0')\n\
        P = socket.IPPROTO_ICMP\n\
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, P); b.bind(('127.0.0.1', 0))\n\
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, P); c.connect(('127.0.0.1', 0))\n\
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, P)\n\
        v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)\n\
        v.bind(('::1', 0))\n\
        print(b.fileno(), v.fileno(), flush=True)\n\
        sys.stdin.read()\n";
    let enter = [
        "unshare",
        "--net",
        "sh",
        "-c",
        "ip link set lo up && exec python3 -c \"$0\"",
    ];
    let Some(holder) = Scripted::start(&enter, script) else {
        println!("SKIPPED: unshare is not installed");
        return;
    };
    let mut fds = holder.first_line.split_whitespace();
    let (Some(first), Some(last)) = (fds.next(), fds.next()) else {
        println!("SKIPPED: no ping sockets in a new network namespace (ip missing?)");
        return;
    };
    let pid = holder.pid();
    let range = format!("{first}-{last}");
    let mut seen_icmp = false;
    for extra in [
        &[][..],
        &["-nP"],
        &["-F", "pfatDsin"],
        &["+c", "0", "-l"],
        &["-i"],
    ] {
        let mut args: Vec<String> = ["-a", "-p", &pid, "-d", &range].map(String::from).into();
        args.extend(extra.iter().map(|a| a.to_string()));
        let inside = |tool: &str| {
            let mut all: Vec<String> = ["-t", &pid, "-n", tool].map(String::from).into();
            all.extend(args.iter().cloned());
            run("nsenter", &all)
        };
        let (want, got) = (inside("lsof"), inside(RLSOF));
        assert_eq!(got.stdout, want.stdout, "rlsof {args:?}");
        assert_eq!(got.status, want.status, "exit status of rlsof {args:?}");
        seen_icmp |= want.stdout.contains(" icmp ");
    }
    // Guards the comparison: the kernel (or lsof) did show what this test is about.
    assert!(seen_icmp, "lsof printed no icmp row");
}

/// lsof's usage header (its version and addresses; rlsof's own is a documented
/// difference) cut out of standard error.
fn without_usage_header(err: &str) -> String {
    let mut out = Vec::new();
    let mut header = false;
    for line in err.lines() {
        if (line.starts_with("lsof ") && !line.starts_with("lsof: ")) || line.starts_with("rlsof ")
        {
            header = true;
        } else if line.starts_with(" usage: ") {
            header = false;
        }
        if !header {
            out.push(line);
        }
    }
    out.join("\n")
}

/// Both tools restricted to the holder, rlsof run as `lsof` (a symbolic link, for
/// the program name in messages): identical stdout, stderr (but the usage header)
/// and status.
fn exact_with_messages(h: &Holder, args: &str) {
    let link = h.dir.join("bin/lsof");
    if !link.exists() {
        std::fs::create_dir_all(h.dir.join("bin")).unwrap();
        std::os::unix::fs::symlink(RLSOF, &link).unwrap();
    }
    let ours = link.to_str().unwrap();
    let args = h.expand(args);
    let same = |want: &Run, got: &Run| {
        (&got.stdout, got.status, without_usage_header(&got.stderr))
            == (
                &want.stdout,
                want.status,
                without_usage_header(&want.stderr),
            )
    };
    let (mut want, mut got) = (run("lsof", &args), run(ours, &args));
    for _ in 1..ATTEMPTS {
        if same(&want, &got) {
            break;
        }
        (want, got) = (run("lsof", &args), run(ours, &args));
    }
    assert_eq!(got.stdout, want.stdout, "rlsof {args:?}");
    assert_eq!(
        without_usage_header(&got.stderr),
        without_usage_header(&want.stderr),
        "stderr of rlsof {args:?}"
    );
    assert_eq!(got.status, want.status, "exit status of rlsof {args:?}");
}

/// Option forms a sweep of rlsof against lsof 4.95 found different (each fixed):
/// `-F r`, `-T f` and `+T`, options after `+` (lsof reads most as after `-`), `-X`
/// (a toggle; TCP/UDP sockets become unidentified `sock`s), the `-c`, `-d`, `-p`,
/// `-u` and `-s` lists as lsof's enter_*() functions read them, `-V`'s order for
/// `-c`, every bad option said before one usage text, `-F` options adding up.
#[test]
fn option_forms_as_lsof() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let h = Holder::start(&[], "holder.py", &[]);
    for args in [
        // fd 2 is /dev/null: a character device has an `r` field (asked by letter).
        "-a -p {pid} -d 2 -F fr",
        "-a -p {pid} -d 0-2 -F r0",
        "-a -p {pid} -i -F pf -F n",
        "-a -p {pid} -i -Tf",
        "-a -p {pid} -U -Tf",
        "-a -p {pid} -i -Tfs",
        "-a -p {pid} +T -i",
        "-a -p {pid} -T +Tq -i",
        "-a -p {pid} -X",
        "-a -p {pid} -X -X -i",
        "+X -a -p {pid} -U",
        "+a -p {pid} -i",
        "-a -p {pid} -i -n +n",
        "-a -p {pid} -i -P +P",
        "+l -a -p {pid} -d 2",
        "-a +p {pid} -d 2",
        "+g -a -p {pid} -d 2",
        "+R -a -p {pid} -d 2",
        "+t -a -p {pid}",
        "+i -a -p {pid}",
        "-V -a -p {pid} -c /zz/ -c qq -c /yy/ -c ww -d 2",
        "-V -a -p {pid} -c ^py -c ^zz -d 2",
        "-V -a -p {pid} -c py -c pyth -d 2",
        "-V -a -p {pid} -c ^/py/ -d 2",
        "-V -a -p {pid},{pid} -d 2",
        "-V -a -p {pid} -d 2 -u 0,0",
        "-a -p {pid} -d 2 -d cwd",
        "-a -p {pid} -d ^",
        "-a -p {pid} -d ,2",
        "-a -p {pid} -d 2,,cwd",
        "-a -p {pid} -d CWD",
        "-a -p {pid} -d 2x",
        "-a -p {pid} -d 2,2",
        "-a -p {pid} -u ^ -d 2",
        "-a -p {pid} -u , -d 2",
        // Errors: each said, then the usage.
        "-a -p {pid} -d 0-2,^1",
        "-a -p {pid} -d 2 -d ^1",
        "-w -a -p {pid} -d 2 -d ^1",
        "-a -p {pid} -d 3- -d -3 -d 1-2-3",
        "-a -p {pid} -u no-such-rnt,no-such2-rnt",
        "-a -p {pid} -u 0,^0",
        "-a -p {pid},^{pid}",
        "-a -p {pid} -p 1x,2",
        "-a -p {pid} -c /x -c /y",
        "-a -p {pid} -c /a/bb -c /a/q -c /a/bx",
        "-a -p {pid} -o -s",
        "-a -p {pid} -F pxq",
        "-a -p {pid} -i -Txy",
        "-a -p {pid} -i -Tw",
        "-a -p {pid} -X -i",
        "-a -p {pid} -i -s TCP:LISTEN,LISTEN",
        "-a -p {pid} -i -s TCP: -s TCP -s xyz -s TCP:,BOGUS",
        "-a -p {pid} +Z",
        "-a -p {pid} -F -t -o -s",
        // With -h: the messages, then lsof's whole help text.
        "-a -p {pid} -h -Z",
        "-a -p {pid} -Txy -?",
    ] {
        exact_with_messages(&h, args);
    }
}
