//! `--color`: colour adds escapes and nothing else (stripped, the bytes are those of the
//! uncoloured run, so no column moves); `never`, NO_COLOR and pipes give netstat's bytes.

mod netns_support;

use netns_support::*;
use rnetstat::color::strip;
use std::path::Path;
use std::process::Command;

fn crafted() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/proc/crafted")
        .display()
        .to_string()
}

fn run_env(args: &[&str], no_color: Option<&str>) -> Vec<u8> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rnetstat"));
    cmd.args(args).env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().expect("rnetstat runs");
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    out.stdout
}

const ARG_SETS: &[&[&str]] = &[
    &["-an"],
    &["-anpeo"],
    &["-a"],
    &["-tlp"],
    &["-xanp"],
    &["-anpW", "--all-netns"],
];

#[test]
fn always_adds_escapes_and_strips_back_to_the_plain_bytes() {
    let root = crafted();
    for args in ARG_SETS {
        let mut plain_args = vec!["--proc-root", root.as_str()];
        plain_args.extend_from_slice(args);
        let plain = String::from_utf8(run_env(&plain_args, None)).unwrap();
        let mut coloured_args = plain_args.clone();
        coloured_args.extend_from_slice(&["--color", "always"]);
        // An explicit --color always wins over NO_COLOR (no-color.org).
        let coloured = String::from_utf8(run_env(&coloured_args, Some("1"))).unwrap();
        assert!(coloured.contains('\x1b'), "{args:?}: no colour");
        assert_eq!(strip(&coloured), plain, "{args:?}: colour moved bytes");
        // Same number of lines, and every escape is a complete SGR sequence.
        assert_eq!(coloured.lines().count(), plain.lines().count());
        assert!(!strip(&coloured).contains('\x1b'));
    }
    // States, listening addresses and unknown owners stand out.
    let mut args = vec!["--proc-root", root.as_str(), "-anp", "--color", "always"];
    let coloured = String::from_utf8(run_env(&args, None)).unwrap();
    assert!(coloured.contains("\x1b[32;1mLISTEN\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[36mESTABLISHED\x1b[0m"));
    assert!(coloured.contains("\x1b[31;1m-\x1b[0m"));
    args.truncate(3);
    args.push("-x");
    let unix = String::from_utf8(run_env(&args, None)).unwrap();
    assert!(!unix.contains('\x1b'));
}

#[test]
fn never_no_color_and_pipes_are_uncoloured() {
    let root = crafted();
    for args in ARG_SETS {
        let mut base = vec!["--proc-root", root.as_str()];
        base.extend_from_slice(args);
        let piped = run_env(&base, None);
        assert!(!piped.contains(&0x1b), "{args:?}: colour on a pipe");
        let mut never = base.clone();
        never.extend_from_slice(&["--color", "never"]);
        assert_eq!(run_env(&never, None), piped);
        let mut auto = base.clone();
        auto.extend_from_slice(&["--color", "auto"]);
        assert_eq!(run_env(&auto, Some("1")), piped);
    }
}

/// The live system: our own sockets' lines are netstat's bytes in every uncoloured mode.
#[test]
fn uncoloured_lines_are_netstats() {
    if !have("netstat") {
        eprintln!("SKIPPED: netstat missing");
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _server = listener.accept().unwrap();
    let local = format!("127.0.0.1:{port}");
    let ours_for = |bytes: Vec<u8>| {
        let text = String::from_utf8(bytes).unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.split_whitespace().nth(3) == Some(&local) || l.starts_with("Proto"))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let compare = || {
        let netstat = Command::new("netstat").arg("-tlnp").output().unwrap();
        let want = ours_for(netstat.stdout);
        let got = [
            ours_for(run_env(&["-tlnp"], None)),
            ours_for(run_env(&["-tlnp", "--color", "never"], None)),
            ours_for(run_env(&["-tlnp"], Some("1"))),
        ];
        (want, got)
    };
    // Looked at again (3 attempts) on a difference: /proc/net/tcp read while other
    // processes open and close listeners can miss or repeat our listener's row.
    let (mut want, mut got) = compare();
    for _ in 1..3 {
        if want.len() == 2 && got.iter().all(|g| *g == want) {
            break;
        }
        (want, got) = compare();
    }
    assert_eq!(want.len(), 2, "{want:?}");
    for g in got {
        assert_eq!(g, want);
    }
}

/// `auto` on a terminal colours unless NO_COLOR is set (a pty from script(1)).
#[test]
fn auto_colours_a_terminal_unless_no_color() {
    if !have("script") {
        eprintln!("SKIPPED: script(1) missing");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_rnetstat");
    let root = crafted();
    let on_tty = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qec",
            &format!("{bin} --proc-root {root} -anp"),
            "/dev/null",
        ])
        .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().expect("script runs");
        String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n")
    };
    let plain = String::from_utf8(run_env(&["--proc-root", &root, "-anp"], None)).unwrap();
    let coloured = on_tty(None);
    assert!(coloured.contains('\x1b'), "no colour on a terminal");
    assert_eq!(strip(&coloured), plain);
    assert_eq!(on_tty(Some("1")), plain);
    // An empty NO_COLOR does not count (no-color.org).
    assert!(on_tty(Some("")).contains('\x1b'));
}
