//! Memory-mapped files (lsof's `mem` and `DEL` rows) against the real lsof 4.95. A
//! python holder (tests/fixtures/lsof/maps_holder.py) maps files in a directory of
//! this test's own: one mapped twice, one unlinked, one renamed over, one inode by
//! two names, names with blanks and a newline, a memfd, and many small files between
//! anonymous maps; and FIFOs (whose offset rlsof takes as 0 without reading fdinfo).
//! Restricted to the holder (`-p PID`), both tools' output must be
//! identical byte for byte. rlsof reads a live process's maps through the
//! PROCMAP_QUERY ioctl where the kernel has it (src/proc/procmap.rs), so this is
//! where that walk is held to what lsof makes of the text.

mod common;
mod lsof_support;

use lsof_support::Holder;
use std::process::Command;

const RLSOF: &str = env!("CARGO_BIN_EXE_rlsof");

fn skipped(test: &str, tools: &[&str]) -> bool {
    for tool in tools {
        if common::find_program(tool).is_none() {
            common::skip(test, &format!("{tool} is not installed"));
            return true;
        }
    }
    false
}

/// stdout and exit status of `program args`.
fn run(program: &str, args: &[&str]) -> (String, Option<i32>) {
    run_in(&[], program, args)
}

/// stdout and exit status of `PREFIX... program args`.
fn run_in(prefix: &[&str], program: &str, args: &[&str]) -> (String, Option<i32>) {
    let mut command = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    };
    let out = command.args(args).current_dir("/").output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

/// The first lines where two runs differ, and their statuses.
fn first_difference(want: &(String, Option<i32>), got: &(String, Option<i32>)) -> String {
    let (w, g): (Vec<_>, Vec<_>) = (want.0.lines().collect(), got.0.lines().collect());
    let at = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let show = |l: &[&str]| {
        l.iter()
            .skip(at)
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "line {}: lsof ({} lines, status {:?}):\n{}\nrlsof ({} lines, status {:?}):\n{}",
        at + 1,
        w.len(),
        want.1,
        show(&w),
        g.len(),
        got.1,
        show(&g)
    )
}

/// The holder's rows whose NAME (the last column) ends with `tail`.
fn rows_ending<'a>(out: &'a str, tail: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.ends_with(tail)).collect()
}

#[test]
fn mapped_files_as_lsof() {
    if skipped("mapped_files_as_lsof", &["lsof", "python3"]) {
        return;
    }
    let h = Holder::start(&[], "maps_holder.py", &["300"]);
    let dir = h.dir.display().to_string();
    let pid = h.get("pid");
    for args in [
        vec!["-p", pid],
        vec!["-p", pid, "-nP"],
        vec!["-p", pid, "-F"],
        vec!["-a", "-K", "-p", pid],
        vec!["-a", "-p", pid, "-d", "mem,DEL"],
    ] {
        // The holder's maps do not change once it has printed: one run each.
        let (want, got) = (run("lsof", &args), run(RLSOF, &args));
        if got != want {
            panic!(
                "rlsof {args:?} against lsof:\n{}",
                first_difference(&want, &got)
            );
        }
    }
    // What the comparison covered (so it cannot pass on two empty listings).
    let (out, _) = run("lsof", &["-p", pid]);
    // The FD column of the mem and DEL rows of a file (its descriptors aside).
    let fd_of = |name: &str| -> Vec<String> {
        rows_ending(&out, &format!("{dir}/{name}"))
            .iter()
            .map(|l| l.split_whitespace().nth(3).unwrap_or("").to_string())
            .filter(|fd| fd == "mem" || fd == "DEL")
            .collect()
    };
    assert_eq!(fd_of("twice.bin"), ["mem"], "{out}");
    assert_eq!(fd_of("deleted.bin"), ["DEL"], "{out}");
    assert_eq!(fd_of("replaced.bin"), ["DEL"], "{out}");
    // One row for the inode, by the name of its lowest mapping.
    assert_eq!(
        [fd_of("link-a.bin"), fd_of("link-b.bin")].concat(),
        ["mem"],
        "{out}"
    );
    // maps writes the newline as \012, lsof prints that backslash as \\, and a stat
    // of the path as maps wrote it fails.
    let odd = format!("{dir}/new\\\\012line (stat: No such file or directory)");
    assert_eq!(rows_ending(&out, &odd).len(), 1, "{out}");
    let many = out
        .lines()
        .filter(|l| l.contains(&format!("{dir}/many-")) && l.contains(" mem "))
        .count();
    assert_eq!(many, 300, "{out}");
    // The FIFOs, as lsof has them (offset 0t0, access from the open mode).
    let fifo_rows: Vec<_> = out.lines().filter(|l| l.contains(" FIFO ")).collect();
    assert!(fifo_rows.len() >= 4, "{out}");
    assert_eq!(rows_ending(&out, &format!("{dir}/fifo")).len(), 2, "{out}");
}

/// Mapped paths a mount covers later, in a mount namespace the holder makes for
/// itself: the path stats to another inode of the same file system, to a file of
/// another one, or to nothing. lsof says so in NAME; with -w it says nothing.
#[test]
fn mapped_files_under_mounts_as_lsof() {
    let test = "mapped_files_under_mounts_as_lsof";
    if skipped(test, &["lsof", "python3", "unshare", "nsenter", "mount"]) {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        common::skip(test, "needs root (mount namespaces)");
        return;
    }
    let h = Holder::start(
        &["unshare", "--mount", "--propagation", "private"],
        "maps_holder.py",
        &["3", "mounts"],
    );
    let dir = h.dir.display().to_string();
    let pid = h.get("pid");
    let inside = ["nsenter", "-t", pid, "-m"];
    for args in [
        vec!["-p", pid],
        vec!["-p", pid, "-F"],
        vec!["-p", pid, "-w"],
    ] {
        let (want, got) = (
            run_in(&inside, "lsof", &args),
            run_in(&inside, RLSOF, &args),
        );
        if got != want {
            panic!(
                "rlsof {args:?} against lsof:\n{}",
                first_difference(&want, &got)
            );
        }
    }
    let (out, _) = run_in(&inside, "lsof", &["-p", pid]);
    let note = |name: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.split_whitespace().nth(3) == Some("mem"))
            .filter_map(|l| l.split_once(&format!("{dir}/{name} ")))
            .map(|(_, note)| note.to_string())
            .collect()
    };
    assert_eq!(note("bound.bin").len(), 1, "{out}");
    assert!(note("bound.bin")[0].starts_with("(path inode="), "{out}");
    assert_eq!(note("sub/file.bin").len(), 1, "{out}");
    assert!(note("sub/file.bin")[0].starts_with("(path dev=0,"), "{out}");
    assert!(note("sub/file.bin")[0].contains(", inode="), "{out}");
    assert_eq!(
        note("sub2/file.bin"),
        ["(stat: No such file or directory)"],
        "{out}"
    );
}
