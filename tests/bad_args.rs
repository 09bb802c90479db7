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
        message: "unexpected argument '-Q'",
    },
    Case {
        args: &["--bogus"],
        status: 3,
        message: "unexpected argument '--bogus'",
    },
    Case {
        args: &["-A", "bogus"],
        status: 1,
        message: "Unknown address family `bogus'.",
    },
    Case {
        args: &["-A"],
        status: 3,
        message: "a value is required",
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
