//! The /proc readers parser_props.rs does not cover (net/dev, if_inet6, igmp, igmp6,
//! PID/maps, PID/fdinfo/FD, /proc/locks, PID/stat, PID/comm, PID/cmdline) over arbitrary
//! bytes and mutated real files: no panic, every line accounted for, no raw control
//! character in what the renderers print from the records, and linear work on huge input.

use proptest::prelude::*;
use rnetstat::proc::{dev, files, igmp, process, ProcRoot};
use rnetstat::render::{groups, iface};
use rnetstat::resolve::HostNames;
use std::time::Instant;

mod props_support;

/// A real file with some bytes replaced, inserted or removed; inserted bytes favour the
/// ones parsers split on and the ones a terminal would obey.
fn mutated(seed_file: &str) -> BoxedStrategy<Vec<u8>> {
    let byte = prop_oneof![
        any::<u8>(),
        Just(0x1b),
        Just(b'\n'),
        Just(b'\t'),
        Just(b' '),
        Just(b':'),
        Just(b'('),
        Just(b')'),
        Just(0xff),
    ];
    props_support::mutated_with(seed_file, byte.boxed())
}

fn line_count(data: &[u8]) -> usize {
    rnetstat::proc::numbered_lines(data).count()
}

/// Text a renderer printed: newlines end lines, nothing else below 0x20 and no DEL.
fn assert_no_control(out: &[u8]) {
    assert!(
        !out.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
        "raw control byte in {:?}",
        String::from_utf8_lossy(out)
    );
}

fn check_dev(data: &[u8]) {
    let t = dev::parse_dev(data, "fuzz");
    assert!(t.rows.len() + t.warnings.len() <= line_count(data));
    let link = dev::Link::default();
    let mut out = Vec::new();
    for row in &t.rows {
        let i = iface::Interface {
            name: &row.name,
            counters: Some(&row.counters),
            link: &link,
        };
        iface::write_table_row(&mut out, &i).unwrap();
        iface::write_block(&mut out, &i, &[]).unwrap();
    }
    assert_no_control(&out);
}

fn check_if_inet6(data: &[u8]) {
    let t = dev::parse_if_inet6(data, "fuzz");
    assert!(t.rows.len() + t.warnings.len() <= line_count(data));
    let link = dev::Link::default();
    let mut out = Vec::new();
    for row in &t.rows {
        let i = iface::Interface {
            name: &row.name,
            counters: None,
            link: &link,
        };
        iface::write_block(&mut out, &i, std::slice::from_ref(row)).unwrap();
    }
    assert_no_control(&out);
}

fn check_groups(data: &[u8]) {
    let hosts = HostNames::default();
    for t in [
        igmp::parse_igmp(data, "fuzz"),
        igmp::parse_igmp6(data, "fuzz"),
    ] {
        assert!(t.warnings.len() <= line_count(data));
        let mut out = Vec::new();
        for m in &t.rows {
            groups::write_row(&mut out, m, true, &hosts).unwrap();
        }
        assert_no_control(&out);
    }
}

fn check_files(data: &[u8]) {
    let maps = files::parse_maps(data);
    assert!(maps.len() <= line_count(data));
    assert!(files::parse_locks(data).len() <= line_count(data));
    let _ = files::parse_fdinfo(data);
    if let Some(stat) = files::parse_stat(data) {
        assert!(stat.comm.len() <= data.len());
    }
}

/// comm and cmdline are read through a ProcRoot, so the bytes go through a file.
fn check_process_files(data: &[u8]) {
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("77")).unwrap();
    std::fs::write(dir.join("77/comm"), data).unwrap();
    std::fs::write(dir.join("77/cmdline"), data).unwrap();
    std::fs::write(dir.join("77/stat"), data).unwrap();
    let root = ProcRoot::new(&dir);
    let comm = process::comm(&root, 77).unwrap();
    assert!(comm.len() <= data.len());
    let argv0 = process::argv0(&root, 77, 511).unwrap();
    assert!(argv0.len() <= 511 && !argv0.contains(&0));
    let name = rnetstat::render::netstat::program_name(&argv0);
    assert_no_control(rnetstat::escape::escape(name).as_bytes());
    if let Some(args) = process::cmdline_args(&root, 77, 4096) {
        assert!(args.iter().all(|a| !a.contains(&0)));
    }
    let _ = files::read_stat(&root, 77);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rnt-more-props-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn all_arbitrary(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_dev(&data);
        check_if_inet6(&data);
        check_groups(&data);
        check_files(&data);
    }

    #[test]
    fn dev_mutated(data in mutated("iface/quiet/proc/net/dev")) {
        check_dev(&data);
    }

    #[test]
    fn if_inet6_mutated(data in mutated("iface/quiet/proc/net/if_inet6")) {
        check_if_inet6(&data);
    }

    #[test]
    fn igmp_mutated(data in mutated("iface/quiet/proc/net/igmp")) {
        check_groups(&data);
    }

    #[test]
    fn igmp6_mutated(data in mutated("iface/quiet/proc/net/igmp6")) {
        check_groups(&data);
    }

    #[test]
    fn maps_mutated(data in mutated("lsof/maps")) {
        check_files(&data);
    }

    #[test]
    fn locks_mutated(data in mutated("lsof/locks")) {
        check_files(&data);
    }

    #[test]
    fn fdinfo_mutated(data in mutated("lsof/fdinfo-regular")) {
        check_files(&data);
    }

    #[test]
    fn stat_mutated(data in mutated("lsof/stat")) {
        check_files(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..config() })]

    #[test]
    fn process_files_arbitrary(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        check_process_files(&data);
    }

    #[test]
    fn process_files_mutated(data in mutated("lsof/stat")) {
        check_process_files(&data);
    }
}

/// Lines that are all different, so a parser that compares each new record with every
/// earlier one (or rescans the buffer per line) does quadratic work.
fn huge(lines: usize, line: impl Fn(usize) -> String) -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..lines {
        data.extend_from_slice(line(i).as_bytes());
        data.push(b'\n');
    }
    data
}

/// 100 000 lines each: linear parsers take about a second in a debug build,
/// a quadratic one (5·10⁹ comparisons) took minutes (maps and locks did, before).
#[test]
fn huge_inputs_are_linear() {
    const N: usize = 100_000;
    let started = Instant::now();
    let maps = huge(N, |i| {
        format!(
            "7f0000000000-7f0000001000 r--p 00000000 fe:00 {} /usr/lib/x{i}.so",
            i + 1
        )
    });
    assert_eq!(files::parse_maps(&maps).len(), N);
    let locks = huge(N, |i| {
        format!(
            "{i}: POSIX  ADVISORY  WRITE {} fe:00:{} 0 EOF",
            i + 1,
            i + 1
        )
    });
    assert_eq!(files::parse_locks(&locks).len(), N);
    let mut dev = b"Inter-|\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n".to_vec();
    dev.extend(huge(N, |i| {
        format!("e{i}: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")
    }));
    assert_eq!(dev::parse_dev(&dev, "huge").rows.len(), N);
    let inet6 = huge(N, |i| {
        format!("20010db8000000000000000000{i:06x} 02 40 00 80 e{i}")
    });
    assert_eq!(dev::parse_if_inet6(&inet6, "huge").rows.len(), N);
    let mut igmp = b"Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n".to_vec();
    igmp.extend(huge(N, |i| {
        if i % 2 == 0 {
            format!("{i}\te{i}      :     1      V3")
        } else {
            "\t\t\t\t010000E0     1 0:00000000\t\t0".to_string()
        }
    }));
    assert_eq!(igmp::parse_igmp(&igmp, "huge").rows.len(), N / 2);
    let igmp6 = huge(N, |i| {
        format!("{i} e{i} ff020000000000000000000000000001     1 0000000C 0")
    });
    assert_eq!(igmp::parse_igmp6(&igmp6, "huge").rows.len(), N);
    let fdinfo = huge(N, |i| format!("pos:\t{i}"));
    assert_eq!(files::parse_fdinfo(&fdinfo).pos, Some(N as u64 - 1));
    // One giant line: a command name of 8 MiB of parentheses.
    let mut stat = b"1 (".to_vec();
    stat.extend(std::iter::repeat_n(b")(", 4 << 20).flatten());
    stat.extend_from_slice(b") S 0 1 1");
    assert!(files::parse_stat(&stat).is_some());
    // No timing assertion (the machine is shared); the cost is visible in the output.
    eprintln!("huge inputs parsed in {:?}", started.elapsed());
}
