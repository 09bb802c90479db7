//! Bad arguments: a clear message on stderr, a non-zero exit status, never a panic.
//! netstat's statuses are kept (3 for a bad option, 1 for an unknown family).

use std::process::Command;

struct Case {
    args: &'static [&'static str],
    status: i32,
    message: &'static str,
}

const RNETSTAT: &[Case] = &[
    Case {
        args: &["-Q"],
        status: 3,
        message: ": invalid option -- 'Q'\nusage: netstat [-vWeenNcCF]",
    },
    Case {
        args: &["--bogus"],
        status: 3,
        message: ": unrecognized option '--bogus'\nusage: netstat [-vWeenNcCF]",
    },
    Case {
        args: &["-A", "bogus"],
        status: 1,
        message: "Unknown address family `bogus'.",
    },
    Case {
        args: &["-A"],
        status: 3,
        message: ": option requires an argument -- 'A'\nusage: netstat",
    },
    Case {
        args: &["-c", "soon"],
        status: 3,
        message: "invalid value 'soon'",
    },
    Case {
        args: &["-c", "0"],
        status: 3,
        message: "invalid delay",
    },
    Case {
        args: &["--proc-root", "/nonexistent-rnt"],
        status: 1,
        message: "not a proc tree",
    },
    Case {
        args: &["--capture", "/proc/rnt-cannot-write"],
        status: 1,
        message: "capture to /proc/rnt-cannot-write",
    },
    Case {
        args: &["--generate", "pdf"],
        status: 2,
        message: "--generate takes",
    },
];

/// View combinations: netstat's views exclude each other (its usage text, status 3;
/// with our --arp our own message); --audit reads every table itself and takes no view beside it.
const RNETSTAT_VIEWS: &[Case] = &[
    Case {
        args: &["-r", "-i"],
        status: 3,
        message: "usage: netstat [-vWeenNcCF]",
    },
    Case {
        args: &["-i", "-s"],
        status: 3,
        message: "usage: netstat [-vWeenNcCF]",
    },
    Case {
        args: &["--arp", "-r"],
        status: 3,
        message: "only one of -r, -i, -M, -s and --arp can be given",
    },
    Case {
        args: &["--audit", "-r"],
        status: 3,
        message: "--audit cannot be combined with -r, -i, -s or --arp",
    },
    Case {
        args: &["--audit", "-i"],
        status: 3,
        message: "--audit cannot be combined with -r, -i, -s or --arp",
    },
    Case {
        args: &["--netns", "rnt-no-such-ns"],
        status: 1,
        message: "no network namespace named `rnt-no-such-ns' in /run/netns",
    },
    Case {
        args: &["--color", "bogus"],
        status: 3,
        message: "invalid value 'bogus' for '--color <WHEN>'",
    },
    Case {
        args: &["--all-netns", "--netns", "x"],
        status: 3,
        message: "cannot be used with",
    },
];

/// rlsof: lsof's message and status 1 (lsof rejects each of these the same way).
const RLSOF: &[Case] = &[
    Case {
        args: &["-i", "TCP@[::1"],
        status: 1,
        message: "unacceptable Internet address in: -i TCP@[::1",
    },
    Case {
        args: &["-i", "bogus:x"],
        status: 1,
        message: "unknown protocol name (bogus) in: -i bogus:x",
    },
    Case {
        args: &["-p", "notapid"],
        status: 1,
        message: "illegal process ID: notapid",
    },
    Case {
        args: &["-p"],
        status: 1,
        message: "no process ID specified",
    },
    Case {
        args: &["-u", "rnt-no-such-user"],
        status: 1,
        message: "can't get UID for rnt-no-such-user",
    },
    Case {
        args: &["-u"],
        status: 1,
        message: "no UIDs specified",
    },
    Case {
        args: &["-d"],
        status: 1,
        message: "no file descriptor specified",
    },
    Case {
        args: &["-c", "0123456789abcdefg"],
        status: 1,
        message: "\"-c 0123456789abcdefg\" length (17) > what system provides (15)",
    },
    Case {
        args: &["-c"],
        status: 1,
        message: "missing -c option value",
    },
    Case {
        args: &["+c", "x"],
        status: 1,
        message: "+c not followed by width number",
    },
    Case {
        args: &["+c", "-1"],
        status: 1,
        message: "+c not followed by width number",
    },
    Case {
        args: &["+c", "16"],
        status: 1,
        message: "+c 16 > what system provides (15)",
    },
    Case {
        args: &["-Y"],
        status: 1,
        message: "illegal option character: Y",
    },
    Case {
        args: &["-s", "UDP:x"],
        status: 1,
        message: "no UDP state names available: UDP:x",
    },
    // -r's value is optional and must start with a digit: `x` is a name to look for.
    Case {
        args: &["-r", "x"],
        status: 1,
        message: "status error on x: No such file or directory",
    },
];

/// Rejected by rlsof with its own words (docs/rlsof.md); lsof 4.95 wraps the port,
/// finds nothing and exits 1 silently.
const RLSOF_OWN: &[Case] = &[Case {
    args: &["-i", ":99999"],
    status: 1,
    message: "unacceptable port specification in: -i :99999",
}];

fn check(exe: &str, cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let out = Command::new(exe).args(case.args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(case.status)
            || !stderr.contains(case.message)
            || stderr.contains("panicked")
        {
            failures.push(format!(
                "{:?}: exit {:?} (want {}), stderr: {stderr}",
                case.args,
                out.status.code(),
                case.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rnetstat_bad_arguments() {
    check(env!("CARGO_BIN_EXE_rnetstat"), RNETSTAT);
}

#[test]
fn rnetstat_view_combinations() {
    check(env!("CARGO_BIN_EXE_rnetstat"), RNETSTAT_VIEWS);
}

#[test]
fn rlsof_bad_arguments() {
    check(env!("CARGO_BIN_EXE_rlsof"), RLSOF);
    check(env!("CARGO_BIN_EXE_rlsof"), RLSOF_OWN);
}

/// The messages of the RLSOF table are lsof's own (first line of its stderr).
#[test]
fn rlsof_messages_are_lsofs() {
    if Command::new("lsof").arg("-v").output().is_err() {
        eprintln!("SKIPPED: lsof is not installed");
        return;
    }
    let mut failures = Vec::new();
    for case in RLSOF {
        let out = Command::new("lsof").args(case.args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(case.status) || !stderr.contains(case.message) {
            failures.push(format!(
                "lsof {:?}: exit {:?}, stderr: {stderr}",
                case.args,
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn netstat_statuses_are_the_ones_we_copy() {
    if Command::new("netstat").arg("-V").output().is_err() {
        eprintln!("SKIPPED: netstat is not installed");
        return;
    }
    for (args, status) in [(&["-Q"][..], 3), (&["-A", "bogus"], 1)] {
        let out = Command::new("netstat").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(status), "netstat {args:?}");
    }
}

/// `-M` and `-Z` answer as netstat 2.10 does here: its message on stderr (with our
/// program name for -M's), nothing on stdout, its exit status; combined with another
/// view -M is a usage error (3), and -Z stops the run before any other check.
#[test]
fn masquerade_and_context_as_netstat() {
    if Command::new("netstat").arg("-V").output().is_err() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("netstat is not installed (CI=true: a skip is a failure)");
        }
        eprintln!("SKIPPED: netstat is not installed");
        return;
    }
    let mut failures = Vec::new();
    for args in [
        &["-M"][..],
        &["--masquerade"],
        &["-tlnM"],
        &["-M", "-c"],
        &["-Z"],
        &["--context"],
        &["-rZ"],
        &["-tlpZ"],
        &["-iM"],
        &["-MM"],
    ] {
        let theirs = Command::new("netstat").args(args).output().unwrap();
        let ours = Command::new(env!("CARGO_BIN_EXE_rnetstat"))
            .args(args)
            .output()
            .unwrap();
        let (t_err, o_err) = (
            String::from_utf8_lossy(&theirs.stderr),
            String::from_utf8_lossy(&ours.stderr),
        );
        let same_text = theirs.status.code() == Some(3) // usage texts differ by design
            || o_err == t_err.replace("netstat: ", "rnetstat: ");
        if ours.status.code() != theirs.status.code() || ours.stdout != theirs.stdout || !same_text
        {
            failures.push(format!(
                "{args:?}: netstat {:?} {t_err:?}; rnetstat {:?} {o_err:?} {}",
                theirs.status.code(),
                ours.status.code(),
                String::from_utf8_lossy(&ours.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
