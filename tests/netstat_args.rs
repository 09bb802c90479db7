//! rnetstat reads its command line as netstat 2.10's getopt_long does: every option
//! netstat accepts, abbreviations of long options, getopt's messages with argv[0] as
//! invoked, netstat's usage text, ignored operands, and each address-family name.
//! Both tools run with the same arguments and the same argv[0]; stderr and the exit
//! status are compared whole, stdout whole where it is deterministic, else its first
//! two lines (the headers; the rows are covered by the listing tests).

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// What of stdout is compared.
#[derive(Clone, Copy, Debug)]
enum Stdout {
    /// All of it (errors: netstat prints nothing, or only its own fixed lines).
    Whole,
    /// The first two lines (listings whose rows change under other tests' churn).
    Head,
}

use Stdout::{Head, Whole};

const CASES: &[(&[&str], Stdout)] = &[
    // getopt's complaints, then netstat's usage (status 3).
    (&["-Q"], Whole),
    (&["-tQ"], Whole),
    (&["-t", "-Q"], Whole),
    (&["operand", "-Q"], Whole),
    (&["--bogus"], Whole),
    (&["--bogus=1"], Whole),
    (&["-A"], Whole),
    (&["-tnA"], Whole),
    (&["--protocol"], Whole),
    (&["--prot"], Whole),
    (&["--tcp=1"], Whole),
    (&["--tc=1"], Whole),
    (&["--help=1"], Whole),
    (&["--inet=x"], Whole),
    (&["-?"], Whole),
    (&["-t?"], Whole),
    // Ambiguous abbreviations (getopt names them in table order).
    (&["--num"], Whole),
    (&["--numeric-"], Whole),
    (&["--n"], Whole),
    (&["--s"], Whole),
    (&["--in"], Whole),
    (&["--i"], Whole),
    (&["--u"], Whole),
    (&["--r"], Whole),
    (&["--c"], Whole),
    (&["--co"], Whole),
    (&["--con"], Whole),
    (&["--v"], Whole),
    (&["--a"], Whole),
    (&["--t"], Whole),
    (&["--e", "-tn"], Head),
    // Stopped while reading the options.
    (&["-A", "bogus"], Whole),
    (&["-A", "inet,bogus"], Whole),
    (&["-A", ""], Whole),
    (&["-A", "inet,"], Whole),
    (&["--protocol=bogus"], Whole),
    (&["--proto", "unix,nope"], Whole),
    (&["-A", "bogus", "-Q"], Whole),
    (&["-Q", "-A", "bogus"], Whole),
    (&["-Z"], Whole),
    (&["-Z", "-Q"], Whole),
    (&["-Q", "-Z"], Whole),
    (&["--cont", "-Z"], Whole),
    (&["--tcpip", "-Q"], Whole),
    (&["--tcpip", "-A", "bogus"], Whole),
    // Families netstat knows but this system lacks.
    (&["--ax25"], Whole),
    (&["--x25"], Whole),
    (&["--x"], Whole),
    (&["--ipx"], Whole),
    (&["--netrom"], Whole),
    (&["--net"], Whole),
    (&["--rose"], Whole),
    (&["--ro"], Whole),
    (&["--bluetooth"], Whole),
    (&["--blue"], Whole),
    (&["-A", "ax25"], Whole),
    (&["-A", "x25"], Whole),
    (&["-A", "ipx"], Whole),
    (&["-A", "netrom"], Whole),
    (&["-A", "rose"], Whole),
    (&["-A", "bluetooth"], Whole),
    (&["-A", "ax25,ipx"], Whole),
    (&["--ax25", "--ipx"], Whole),
    (&["--rose", "--bluetooth"], Whole),
    (&["-2"], Whole),
    (&["-f"], Whole),
    (&["-2f"], Whole),
    (&["--l2cap"], Whole),
    (&["--rfc"], Whole),
    (&["-S"], Whole),
    (&["--sctp"], Whole),
    (&["--sc", "-l"], Whole),
    (&["-Sa"], Whole),
    (&["-c", "--ax25"], Whole),
    (&["--continuous", "-2"], Whole),
    (&["-M"], Whole),
    (&["--masq"], Whole),
    (&["-iM"], Whole),
    (&["-s", "-A", "ddp"], Whole),
    (&["-s", "--appletalk"], Whole),
    (&["-s", "-A", "econet"], Whole),
    (&["-s", "-A", "ash"], Whole),
    (&["-s", "-A", "inet,unix"], Whole),
    (&["-s", "-x"], Whole),
    (&["-s", "--inet6", "-4", "-A", "ip6,unix", "-x"], Whole),
    // Listings: the headers, stderr and status.
    (&["-tn"], Head),
    (&["--listen", "-tn"], Head),
    (&["--list", "-tn"], Head),
    (&["--prog", "-tn"], Head),
    (&["--wid", "-tn"], Head),
    (&["--wide", "--tcp", "--numeric"], Head),
    (&["--tim", "-tn"], Head),
    (&["--ext", "-tn"], Head),
    (&["--extend", "--extend", "-tn"], Head),
    (&["--all", "-tn"], Head),
    (&["--udp", "-n"], Head),
    (&["--udpl", "-n"], Head),
    (&["--ra", "-n"], Head),
    (&["--unix", "-n"], Head),
    (&["--un", "-n"], Head),
    (&["--numeric-h", "--numeric-p", "--numeric-u", "-t"], Head),
    (&["--sym", "-tn"], Head),
    (&["--verb", "-tn"], Head),
    (&["-tn", "operand", "another"], Head),
    (&["operand", "-tn", "another"], Head),
    (&["-tn", "--", "-x"], Head),
    (&["-d", "-tn"], Head),
    (&["-tnd"], Head),
    (&["--inet", "-n"], Head),
    (&["--inet6", "-n"], Head),
    (&["--ip", "-n"], Head),
    (&["--tcpip", "-tn"], Head),
    (&["-A", "ip", "-n"], Head),
    (&["-A", "ip6", "-tn"], Head),
    (&["-A", "tcpip", "-un"], Head),
    (&["-A", "ddp", "-n"], Head),
    (&["--appletalk", "-n"], Head),
    (&["--ddp", "-tn"], Head),
    (&["-A", "econet", "-n"], Head),
    (&["-A", "ash", "-tn"], Head),
    (&["--protocol=inet6", "-n"], Head),
    (&["-St"], Head),
    (&["-tSn"], Head),
    (&["-S", "-x"], Head),
    (&["-tn", "--ax25"], Head),
    (&["-tn", "--bluetooth"], Head),
    (&["-gn", "--rose"], Head),
    (&["-xn", "--ipx"], Head),
    (&["-tn", "-2"], Head),
    // Every other short letter.
    (&["-Cn"], Head),
    (&["-Fn"], Head),
    (&["-an"], Head),
    (&["-en"], Head),
    (&["-gn"], Head),
    (&["-in"], Head),
    (&["-ln"], Head),
    (&["-n"], Head),
    (&["-Nn"], Head),
    (&["-on"], Head),
    (&["-pn"], Head),
    (&["-rn"], Head),
    (&["-sn"], Head),
    (&["-un"], Head),
    (&["-Un"], Head),
    (&["-vn"], Head),
    (&["-Wn"], Head),
    (&["-wn"], Head),
    (&["-xn"], Head),
    (&["-6n"], Head),
    (&["-4n"], Head),
    (&["-tn", "-A", "inet"], Head),
    // Views through long options and their abbreviations.
    (&["--route", "--numeric"], Head),
    (&["--rou", "-n"], Head),
    (&["--fib", "-rn"], Head),
    (&["--cac", "-rn"], Head),
    (&["-rn", "--ip"], Head),
    (&["-rn", "--inet6"], Head),
    // -r for families without a routing table here (netstat's messages, both streams).
    (&["-rn", "-A", "ddp"], Whole),
    (&["-rn", "--appletalk"], Whole),
    (&["-rn", "-A", "ax25"], Whole),
    (&["-rn", "-A", "x25"], Whole),
    (&["-rn", "-A", "ipx"], Whole),
    (&["-rn", "-A", "rose"], Whole),
    (&["-rn", "-A", "econet"], Whole),
    (&["-rn", "-A", "ash"], Whole),
    (&["-rn", "-A", "bluetooth"], Whole),
    (&["-rn", "-x"], Whole),
    (&["-rn", "-A", "ax25,inet"], Whole),
    (&["--interf"], Head),
    (&["--interfaces", "--all"], Head),
    (&["--gr", "-n"], Head),
    (&["--stat"], Head),
    (&["-s", "-S"], Head),
    (&["-s", "--tcpip"], Head),
    (&["-s", "-A", "ip"], Head),
    (&["-s", "--inet6"], Head),
];

/// Runs `program` with argv[0] `name` (getopt prints it verbatim).
fn run(program: &Path, name: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(program)
        .arg0(name)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let out = common::read_all_in_thread(child.stdout.take());
    let err = common::read_all_in_thread(child.stderr.take());
    let status = common::wait_timeout(&mut child, common::RUN_TIMEOUT);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let text = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
    let stderr = text(err.join().unwrap_or_default())
        .lines()
        // Other tests' unix sockets with a newline in their path come and go.
        .filter(|l| *l != "warning, got bogus unix line.")
        .map(|l| format!("{l}\n"))
        .collect();
    (
        status.and_then(|s| s.code()),
        text(out.join().unwrap_or_default()),
        stderr,
    )
}

#[test]
fn command_line_is_netstats() {
    let Some(netstat) = common::reference_netstat("command_line_is_netstats") else {
        common::skip("command_line_is_netstats", "netstat is not installed");
        return;
    };
    let ours = common::under_test();
    let mut failures = Vec::new();
    // A path, so the test sees getopt's argv[0] printed as invoked, while the
    // tools' own messages say `netstat'.
    let name = "/opt/rnt-args/netstat";
    for (args, compare) in CASES {
        let theirs = run(&netstat, name, args);
        let mine = run(&ours, name, args);
        let head = |s: &str| s.lines().take(2).collect::<Vec<_>>().join("\n");
        let same_stdout = match compare {
            Whole => theirs.1 == mine.1,
            Head => head(&theirs.1) == head(&mine.1),
        };
        if theirs.0 != mine.0 || theirs.2 != mine.2 || !same_stdout {
            failures.push(format!(
                "{args:?}:\n  netstat: {:?} stderr {:?} stdout {:?}\n  ours:    {:?} stderr {:?} stdout {:?}",
                theirs.0,
                theirs.2,
                head(&theirs.1),
                mine.0,
                mine.2,
                head(&mine.1),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Our own long options stay reachable by full name and by abbreviations netstat has
/// no option for; netstat's abbreviations keep their meaning (`--net` is --netrom).
#[test]
fn our_long_options_beside_netstats() {
    let ours = common::under_test();
    let ok = |args: &[&str]| {
        let (status, _, stderr) = run(&ours, "rnetstat", args);
        (status, stderr)
    };
    assert_eq!(ok(&["--json", "-tn"]).0, Some(0));
    assert_eq!(ok(&["--js", "-tn"]).0, Some(0));
    assert_eq!(ok(&["--color=never", "-tn"]).0, Some(0));
    assert_eq!(ok(&["--color", "never", "-tn"]).0, Some(0));
    assert_eq!(ok(&["--all-netns", "-tn"]).0, Some(0));
    // netstat's own --net (netrom) wins over our --netns.
    let (status, stderr) = ok(&["--net", "x"]);
    assert_eq!(status, Some(1));
    assert_eq!(
        stderr,
        "rnetstat: no support for `AF NETROM' on this system.\n"
    );
    let (status, stderr) = ok(&["--netns", "rnt-no-such-ns-args", "-tn"]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("rnt-no-such-ns-args"), "{stderr}");
    let (status, stderr) = ok(&["--proc-root=/nonexistent-rnt-args"]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("not a proc tree"), "{stderr}");
    // -c's delay operand is ours (netstat ignores operands); without -c none is read.
    let (status, stderr) = ok(&["-c", "soon"]);
    assert_eq!(status, Some(3), "{stderr}");
    assert_eq!(ok(&["-tn", "soon"]).0, Some(0));
    // -h is our help (longer than netstat's usage), on stdout.
    let (status, stdout, _) = run(&ours, "rnetstat", &["-h"]);
    assert_eq!(status, Some(0));
    assert!(stdout.contains("--all-netns"), "{stdout}");
}
