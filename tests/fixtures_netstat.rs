//! netstat is the judge on recorded /proc trees (tests/fixtures/proc/*): netstat reads a
//! fixture through a bind mount over /proc in a private mount namespace, rnetstat reads
//! the same files with --proc-root, and their outputs must be identical. Both run with a
//! resolv.conf naming a loopback resolver, so names come from /etc/hosts and /etc/services
//! only and no lookup leaves the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/proc")
        .join(name)
}

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

/// Runs `program args` in a private mount namespace with a dead loopback resolver and,
/// when `proc_dir` is given, the fixture mounted over /proc.
fn isolated(proc_dir: Option<&Path>, program: &str, args: &[&str]) -> Output {
    let resolv = std::env::temp_dir().join(format!("rnt-resolv-{}", std::process::id()));
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .unwrap();
    let mount_proc = match proc_dir {
        Some(_) => "mount --bind \"$1\" /proc || exit 99;",
        None => "",
    };
    let script =
        format!("mount --bind \"$0\" /etc/resolv.conf || exit 98; {mount_proc} shift; exec \"$@\"");
    let dir = proc_dir.map_or(String::new(), |d| d.display().to_string());
    Command::new("unshare")
        .args(["--mount", "sh", "-c", &script])
        .arg(&resolv)
        .arg(&dir)
        .arg(program)
        .args(args)
        .output()
        .expect("unshare runs")
}

fn netstat(dir: &Path, args: &[&str]) -> Output {
    let out = isolated(Some(dir), "netstat", args);
    assert!(
        out.status.code() != Some(98) && out.status.code() != Some(99),
        "could not set up the mount namespace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn rnetstat(dir: &Path, args: &[&str]) -> Output {
    let mut full = vec!["--proc-root", dir.to_str().unwrap()];
    full.extend_from_slice(args);
    isolated(None, env!("CARGO_BIN_EXE_rnetstat"), &full)
}

fn skip_reason() -> Option<&'static str> {
    if !is_root() {
        return Some("needs root for mount namespaces");
    }
    if !have("netstat") || !have("unshare") {
        return Some("netstat or unshare missing");
    }
    None
}

/// netstat writes kernel bytes raw; rnetstat escapes them (deliberately) and pads the
/// escaped text, so its columns stay aligned. A netstat line that carried such bytes is
/// compared after the same escaping with runs of spaces folded; every other line exactly.
fn differences(netstat: &[u8], ours: &[u8]) -> String {
    let theirs: Vec<&[u8]> = netstat.split(|&b| b == b'\n').collect();
    let ours: Vec<&[u8]> = ours.split(|&b| b == b'\n').collect();
    let fold = |s: &str| {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut diff = String::new();
    for i in 0..theirs.len().max(ours.len()) {
        let (a, b) = (theirs.get(i).copied(), ours.get(i).copied());
        let same = match (a, b) {
            (Some(a), Some(b)) if a == b => true,
            (Some(a), Some(b)) => {
                let escaped = rnetstat::escape::escape(a);
                escaped.as_bytes() != a && fold(&escaped) == fold(&String::from_utf8_lossy(b))
            }
            _ => false,
        };
        if !same {
            let show = |l: Option<&[u8]>| l.map(|l| String::from_utf8_lossy(l).into_owned());
            diff += &format!("  netstat : {:?}\n  rnetstat: {:?}\n", show(a), show(b));
        }
    }
    diff
}

fn compare(dir: &Path, arg_sets: &[&[&str]]) {
    let mut failures = Vec::new();
    for args in arg_sets {
        let want = netstat(dir, args);
        let got = rnetstat(dir, args);
        let diff = differences(&want.stdout, &got.stdout);
        if !diff.is_empty() {
            failures.push(format!("{} {:?}:\n{diff}", dir.display(), args));
        }
        if want.status.code() != got.status.code() {
            failures.push(format!(
                "{:?}: exit {:?} vs {:?}",
                args,
                want.status.code(),
                got.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const ARG_SETS: &[&[&str]] = &[
    &["-an"],
    &["-anW"],
    &["-ane"],
    &["-anee"],
    &["-aneo"],
    &["-anp"],
    &["-anpeoW"],
    &["-tlnp"],
    &["-tnp"],
    &["-unap"],
    &["-Uan"],
    &["-wan"],
    &["-xn"],
    &["-xanp"],
    &["-xlp"],
    &["-an4"],
    &["-an6"],
    &["-A", "inet6,unix", "-an"],
    &["-a"],
    &["-aW"],
    &["-ae"],
    &["-l"],
    &["-o"],
    &["--numeric-hosts", "-a"],
    &["--numeric-ports", "-aW"],
    &["--numeric-users", "-ae"],
];

#[test]
fn crafted_states_timers_and_owners() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    compare(&fixture("crafted"), ARG_SETS);
}

#[test]
fn recorded_live_namespace() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    compare(&fixture("live"), ARG_SETS);
}

#[test]
fn large_tables() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    compare(
        &fixture("large"),
        &[&["-an"], &["-tn"], &["-xan"], &["-uanW"]],
    );
}

/// Garbage lines are reported with file and line, and every good line is printed as
/// netstat prints the same table without the garbage.
#[test]
fn broken_lines_warn_and_the_rest_prints() {
    let broken = fixture("broken");
    let got = rnetstat(&broken, &["-anp"]);
    let stderr = String::from_utf8_lossy(&got.stderr);
    for place in [
        "net/tcp:4:",
        "net/tcp:5:",
        "net/tcp:6:",
        "net/tcp6:3:",
        "net/udp:3:",
        "net/unix:2:",
        "net/unix:3:",
    ] {
        assert!(
            stderr.contains(place),
            "no warning for {place} in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains('\x1b'),
        "warnings must not carry raw escapes"
    );
    assert_eq!(got.status.code(), Some(0));
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED (netstat comparison): {why}");
        return;
    }
    let want = netstat(&fixture("crafted"), &["-anp"]);
    let diff = differences(&want.stdout, &got.stdout);
    assert!(diff.is_empty(), "{diff}");
}

#[test]
fn hostile_unix_paths_are_escaped() {
    let got = rnetstat(&fixture("live"), &["-xan"]);
    let out = String::from_utf8(got.stdout).expect("rnetstat prints UTF-8 only");
    assert!(!out.contains('\x1b'));
    assert!(out.contains("/bad\\xff^[utf.sock"), "{out}");
}

/// netstat prints argv[0] raw, so a process can write escape sequences and forge lines
/// on an administrator's terminal; rnetstat escapes them and keeps one line per socket.
#[test]
fn hostile_program_names_are_escaped() {
    let got = rnetstat(&fixture("crafted"), &["-unp"]);
    let out = String::from_utf8(got.stdout).expect("rnetstat prints UTF-8 only");
    assert!(!out.contains('\x1b'));
    let line = out
        .lines()
        .find(|l| l.contains(":68 "))
        .expect("the hostile process's socket is listed");
    assert!(line.contains("600/ev^[[2Jil\\tname "), "{line}");
}
