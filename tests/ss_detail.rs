//! rss's per-socket details (-o -e -m -i --tos --cgroup --inet-sockopt -b -O) against
//! the installed ss (iproute2 6.1), whole output byte for byte:
//! - live, in the private namespace of tests/ss_support whose every socket is known
//!   (unix, packet, netlink, UDP, raw and TCP), for what does not move while the two
//!   tools run one after the other, and the TIME-WAIT row's timer (-e), which counts
//!   down between them, compared as tests/ss_support's `timers_agree` says (checked
//!   here on wrong values);
//! - on recorded and crafted TCP dumps (tests/fixtures/ss/*.bin: `ss -D`, craft.py)
//!   through TCPDIAG_FILE,
//!   which both tools honour, for tcp_info (-i), whose clocks (lastsnd, lastrcv,
//!   lastack) move between two live runs; a live -i run is compared with those
//!   three fields and the timers' remaining time normalised.

mod ss_support;

use ss_support::{compare_all, ms_text, rss, skip, timer_ms, timers_agree, Scene};
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn details_match_ss_live() {
    if skip("details_match_ss_live") {
        return;
    }
    let scene = Scene::start();
    compare_all(
        &scene,
        &[
            &["-xae"],
            &["-xam"],
            &["-xaem"],
            &["-xaOem"],
            &["-0ae"],
            &["-0am"],
            &["-0ab"],
            &["-0aeb"],
            &["-0aOebm"],
            &["-uae"],
            &["-uaem"],
            &["-uai"],
            &["-waem"],
            &["-wai"],
            &["-tane"],
            &["-tae"],
            &["-taem"],
            &["-4tanm"],
            &["-6tane"],
            &["-tan", "--tos"],
            &["-tan", "--cgroup"],
            &["-tan", "--inet-sockopt"],
            &["-tanO", "--inet-sockopt", "-e"],
            &["-tan", "-e", "--tos", "--cgroup"],
            &["-an", "-f", "netlink", "-e"],
            &["-an", "-f", "netlink", "-em"],
            &["-ae"],
            &["-anem"],
        ],
    );
}

/// The live comparison lets a timer count down between the two runs and nothing
/// else: a wrong name, retransmit count, text, or a value ss could not have printed
/// then is still a difference.
#[test]
fn timer_countdown_is_the_only_allowed_difference() {
    use std::time::Duration;
    let row = |v: &str| {
        format!(
            "tcp   TIME-WAIT 0 0  192.0.2.1:46732  192.0.2.1:2300  timer:(timewait,{v},0) ino:0 sk:1a  \n\
             tcp   LISTEN    0 16 192.0.2.1:2300   0.0.0.0:*       ino:7 sk:1b v6only:1   \n"
        )
    };
    let ms = Duration::from_millis;
    let ok = |t: &str, o: &str, e: u64| timers_agree(t, o, ms(e));
    // Counted down by at most the time between the runs.
    assert_eq!(ok(&row("58sec"), &row("58sec"), 0), Ok(()));
    assert_eq!(ok(&row("58sec"), &row("57sec"), 5), Ok(()));
    assert_eq!(ok(&row("58sec"), &row("55sec"), 2500), Ok(()));
    assert_eq!(ok(&row("1min"), &row("59sec"), 5), Ok(()));
    assert_eq!(ok(&row("1.005ms"), &row("998ms"), 5), Ok(()));
    assert_eq!(ok(&row("050ms"), &row(""), 60), Ok(()));
    // A width change (10sec -> 9.998ms) moves only trailing padding.
    let padded = row("10sec").replace("sk:1a  ", "sk:1a");
    assert_eq!(ok(&padded, &row("9.998ms"), 5), Ok(()));
    // Wrong values: further down than the runs' distance, up, another name, another
    // retransmit count, a text ss does not print, other text around the timer.
    assert!(ok(&row("58sec"), &row("55sec"), 1500).is_err());
    assert!(ok(&row("58sec"), &row("1min"), 5).is_err());
    assert!(ok(&row("9.500ms"), &row("9.600ms"), 5).is_err());
    assert!(ok(
        &row("58sec"),
        &row("58sec").replace("timewait", "keepalive"),
        5
    )
    .is_err());
    assert!(ok(&row("58sec"), &row("58sec").replace(",0)", ",1)"), 5).is_err());
    for bad in [
        "58s",
        "58",
        "58.000ms",
        "90sec",
        "5.5ms",
        "50ms",
        "1min5.000ms",
        "-1sec",
    ] {
        assert!(ok(&row("58sec"), &row(bad), 1000).is_err(), "{bad}");
    }
    assert!(ok(&row("58sec"), &row("57sec").replace("ino:0", "ino:1"), 5).is_err());
    assert!(ok(
        &row("10sec"),
        &row("9.998ms").replace("v6only:1", "v6only:0"),
        5
    )
    .is_err());
    assert!(ok(&row("10sec"), &row("9.998ms").replace("  1", " 1"), 5).is_err());
    assert!(ok(&row("58sec"), &row("58sec").replace(" ino", "  ino"), 5).is_err());
    assert!(ok(
        &row("58sec"),
        &row("58sec").replace("timer:(timewait,58sec,0) ", ""),
        5
    )
    .is_err());
    // The reader and ss's printing rule agree on every form.
    for n in (0..700_000)
        .step_by(7)
        .chain([0, 1, 999, 1000, 9999, 10_000, 60_000, 600_000])
    {
        let (lo, hi) = timer_ms(&ms_text(n)).unwrap_or_else(|| panic!("{n}: {}", ms_text(n)));
        assert!(lo <= n && n <= hi, "{n}: {} {lo} {hi}", ms_text(n));
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ss")
        .join(name)
}

/// (stdout, stderr, status) of `tool args` with TCPDIAG_FILE=file.
fn with_file(tool: &str, file: &Path, args: &[&str]) -> (String, String, Option<i32>) {
    let out = Command::new(tool)
        .args(args)
        .env("TCPDIAG_FILE", file)
        .output()
        .expect("tool runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

const FILE_CASES: &[&[&str]] = &[
    &["-t"],
    &["-tn"],
    &["-to"],
    &["-te"],
    &["-tm"],
    &["-ti"],
    &["-tni"],
    &["-toi"],
    &["-tnoemi"],
    &["-toemi", "--tos", "--cgroup"],
    &["-tnO", "-emi", "--tos", "--inet-sockopt"],
    &["-tnH", "-mi"],
    &["-t", "--tos"],
    &["-t", "--cgroup"],
    &["-4t", "-e"],
    &["-6tni"],
    &["-tn", "--cgroup", "--inet-sockopt"],
];

#[test]
fn tcp_details_match_ss_on_recorded_dumps() {
    if skip("tcp_details_match_ss_on_recorded_dumps") {
        return;
    }
    let mut failures = Vec::new();
    for file in ["v4.bin", "v6.bin", "crafted.bin"] {
        let path = fixture(file);
        for args in FILE_CASES {
            let theirs = with_file("ss", &path, args);
            let ours = with_file(rss(), &path, args);
            assert!(theirs.0.lines().count() > 2, "{file} {args:?}: {theirs:?}");
            if theirs != ours {
                failures.push(format!(
                    "{file} {args:?}\n--- ss\n{}{}--- rss\n{}{}",
                    theirs.0, theirs.1, ours.0, ours.1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// ss's complaints about a TCPDIAG_FILE it cannot use, word for word.
#[test]
fn bad_tcpdiag_files_give_ss_messages() {
    if skip("bad_tcpdiag_files_give_ss_messages") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rss-detail-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let recorded = std::fs::read(fixture("v4.bin")).expect("fixture");
    let nlmsg = |kind: u16, payload: &[u8], len: u32| {
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(payload);
        m
    };
    let mut error = nlmsg(2, &(-libc::EPERM).to_ne_bytes(), 36);
    error.extend_from_slice(&[0; 16]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut", recorded[..recorded.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("error", [&recorded[..0], &error].concat()),
        ("short-error", nlmsg(2, &[], 16)),
    ];
    let mut paths: Vec<PathBuf> = vec![dir.join("missing"), dir.clone()];
    for (name, bytes) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        paths.push(p);
    }
    for path in &paths {
        let theirs = with_file("ss", path, &["-tn"]);
        let ours = with_file(rss(), path, &["-tn"]);
        assert_eq!(ours, theirs, "TCPDIAG_FILE={}", path.display());
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// Replaces the value after each of `keys` with `#` and squeezes runs of spaces (the
/// values' widths move the columns).
fn normalise(text: &str) -> String {
    let mut s = text.to_string();
    for key in [
        "lastsnd:",
        "lastrcv:",
        "lastack:",
        "timewait,",
        "keepalive,",
        "on,",
    ] {
        let mut from = 0;
        while let Some(i) = s[from..].find(key) {
            let start = from + i + key.len();
            let end = s[start..]
                .find([' ', ',', ')', '\n'])
                .map_or(s.len(), |e| start + e);
            s.replace_range(start..end, "#");
            from = start + 1;
        }
    }
    s.lines()
        .map(|l| {
            l.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn tcp_info_matches_ss_live() {
    if skip("tcp_info_matches_ss_live") {
        return;
    }
    let scene = Scene::start();
    for args in [&["-tanoi"][..], &["-taoemi", "--tos"], &["-tanOi"]] {
        let mut last = String::new();
        // A difference is looked at again: the two tools run one after the other.
        let same = (0..3).any(|_| {
            scene.quiesce();
            let theirs = scene.run("ss", args);
            scene.quiesce();
            let ours = scene.run(rss(), args);
            let (a, b) = (normalise(&theirs.stdout), normalise(&ours.stdout));
            last = format!("--- ss\n{a}\n--- rss\n{b}");
            a == b && theirs.stderr == ours.stderr && theirs.status == ours.status
        });
        assert!(same, "rss {args:?} differs from ss\n{last}");
        assert!(last.contains(" rtt:") && last.contains(" cwnd:"), "{last}");
    }
}
