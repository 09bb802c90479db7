//! `rss -b` and `rss --all-filters` against ss 6.1 in a private namespace the test
//! makes. A holder attaches classic filters (tcpdump's programs, SO_ATTACH_FILTER) to
//! a TCP listener, a UDP socket, a unix socket, a raw socket and a packet socket, and
//! (x86_64) an eBPF program (SO_ATTACH_BPF) to a second UDP socket; a second listener
//! has none. `rss -b` must equal `ss -b` byte for byte; `--all-filters` must print
//! exactly ss's lines plus one continuation line per filtered socket (the bytes the
//! test attached, in ss's packet-filter notation), `=disasm` tcpdump -d's lines too,
//! and --json a `filter` object per socket.

mod audit_support;
use audit_support::{program, python, tcpdump, Lab, FILTER_EXPRS, FILTER_HOLDER};
use serde_json::Value;
use std::process::Output;

/// ss's notation of a packet socket's filter: `\tbpf filter (N):  0x28 0 0 12, ...,`.
fn ss_line(prog: &[[u32; 4]]) -> String {
    let mut s = format!("\tbpf filter ({}): ", prog.len());
    for [code, jt, jf, k] in prog {
        s.push_str(&format!(" 0x{code:02x} {jt} {jf} {k},"));
    }
    s
}

struct Scene {
    lab: Lab,
    /// pid, tcp port, udp port, plain port, inodes (tcp, udp, unix, raw, packet,
    /// plain), then with eBPF its port and inode.
    holder: Vec<u64>,
    unix_name: String,
    progs: Vec<Vec<[u32; 4]>>,
    disasm: Vec<Vec<String>>,
    ebpf: bool,
}

impl Scene {
    fn new(tag: &str) -> Scene {
        let mut lab = Lab::new(tag);
        let ddd: Vec<String> = FILTER_EXPRS
            .iter()
            .map(|e| tcpdump("-ddd", e, &lab.dir))
            .collect();
        let disasm = FILTER_EXPRS
            .iter()
            .map(|e| {
                tcpdump("-d", e, &lab.dir)
                    .lines()
                    .map(String::from)
                    .collect()
            })
            .collect();
        let unix_name = lab.ns.clone();
        let ebpf = cfg!(target_arch = "x86_64");
        let mut args: Vec<&str> = ddd.iter().map(String::as_str).collect();
        args.push(&unix_name);
        if ebpf {
            args.push("ebpf");
        }
        let holder = lab.start(&python(), FILTER_HOLDER, &args);
        assert_ne!(holder[0], 0, "bpf() failed: {holder:?}");
        Scene {
            lab,
            holder,
            unix_name,
            progs: ddd.iter().map(|d| program(d)).collect(),
            disasm,
            ebpf,
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.lab.exec(program, args)
    }
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The lines of `ours` that `reference` lacks, each with the row line before it;
/// panics unless `ours` is `reference` with lines inserted.
fn inserted(ours: &str, reference: &str) -> Vec<(String, String)> {
    let want: Vec<&str> = reference.lines().collect();
    let mut at = 0;
    let mut row = String::new();
    let mut extra = Vec::new();
    for line in ours.lines() {
        if want.get(at) == Some(&line) {
            at += 1;
            if !line.starts_with('\t') {
                row = line.to_string();
            }
        } else {
            extra.push((row.clone(), line.to_string()));
        }
    }
    assert_eq!(
        at,
        want.len(),
        "ss's lines are not all there:\n{ours}\n---\n{reference}"
    );
    extra
}

type RowTest = Box<dyn Fn(&str) -> bool>;

/// Whether a row line is of `netid` and has the word `token`.
fn row_of(netid: &str, token: &str) -> RowTest {
    let (netid, token) = (netid.to_string(), token.to_string());
    Box::new(move |row: &str| {
        let words: Vec<&str> = row.split_whitespace().collect();
        words.first() == Some(&netid.as_str()) && words.contains(&token.as_str())
    })
}

const SELECT: [&str; 2] = ["-tuwx0", "-anp"];

#[test]
fn rss_b_is_ss_b_and_all_filters_adds_each_filter() {
    let test = "rss_b_is_ss_b_and_all_filters_adds_each_filter";
    if audit_support::cannot_run(test, &["ss", "tcpdump"]) {
        return;
    }
    let scene = Scene::new("ssb");
    let rss = env!("CARGO_BIN_EXE_rss");
    let mut b = vec!["-b"];
    b.extend(SELECT);
    let ss = scene.run("ss", &b);
    let ours = scene.run(rss, &b);
    assert_eq!(text(&ours), text(&ss), "rss -b and ss -b differ");
    assert_eq!(ours.status.code(), ss.status.code());
    // ss lists the packet socket's filter itself.
    assert!(
        text(&ss).contains(&ss_line(&scene.progs[4])),
        "{}",
        text(&ss)
    );

    let h = &scene.holder;
    let tcp = format!("127.0.0.1:{}", h[1]);
    let udp = format!("127.0.0.1:{}", h[2]);
    let unix = format!("@{}", scene.unix_name);
    let ebpf_port = if scene.ebpf {
        format!("127.0.0.1:{}", h[10])
    } else {
        String::new()
    };
    let sockets: Vec<(RowTest, usize)> = vec![
        (row_of("tcp", &tcp), 0),
        (row_of("udp", &udp), 1),
        (row_of("u_dgr", &unix), 2),
        (row_of("raw", "0.0.0.0:17"), 3),
    ];

    for mode in ["--all-filters", "--all-filters=disasm"] {
        let mut args = vec![mode];
        args.extend(SELECT);
        let all = scene.run(rss, &args);
        assert_eq!(all.status.code(), Some(0), "{all:?}");
        let out = text(&all);
        let extra = inserted(&out, &text(&ss));
        let disasm = mode.ends_with("disasm");
        let mut want: Vec<String> = Vec::new();
        for (is_row, i) in &sockets {
            let got: Vec<&str> = extra
                .iter()
                .filter(|(row, _)| is_row(row))
                .map(|(_, l)| l.as_str())
                .collect();
            let mut lines = vec![ss_line(&scene.progs[*i])];
            if disasm {
                lines.extend(scene.disasm[*i].iter().map(|l| format!("\t{l}")));
            }
            assert_eq!(got, lines, "{mode}, socket {i}:\n{out}");
            want.extend(lines);
        }
        // The packet socket: ss's own line, then (disasm) tcpdump's.
        if disasm {
            let is_packet = row_of("p_raw", "[2048]:*");
            let got: Vec<&str> = extra
                .iter()
                .filter(|(row, _)| is_packet(row))
                .map(|(_, l)| l.as_str())
                .collect();
            let lines: Vec<String> = scene.disasm[4].iter().map(|l| format!("\t{l}")).collect();
            assert_eq!(got, lines, "{out}");
            want.extend(lines);
        }
        if scene.ebpf {
            let is_ebpf = row_of("udp", &ebpf_port);
            let got: Vec<&str> = extra
                .iter()
                .filter(|(row, _)| is_ebpf(row))
                .map(|(_, l)| l.as_str())
                .collect();
            let line = "\tbpf filter: present but unreadable (eBPF program (SO_ATTACH_BPF): \
                        the kernel keeps no classic copy)";
            assert_eq!(got, [line], "{out}");
            want.push(line.into());
        }
        // Nothing else: the plain listener shows no filter.
        assert_eq!(extra.len(), want.len(), "{mode}: {extra:#?}");
    }

    // -O: the same text on the row's line, after a space.
    let mut args = vec!["--all-filters", "-O"];
    args.extend(SELECT);
    let one = text(&scene.run(rss, &args));
    let tcp_row = one
        .lines()
        .find(|l| row_of("tcp", &tcp)(l))
        .unwrap_or_else(|| panic!("{one}"));
    assert!(
        tcp_row.ends_with(&format!(" {}", &ss_line(&scene.progs[0])[1..])),
        "{one}"
    );
}

#[test]
fn json_carries_each_filter() {
    let test = "json_carries_each_filter";
    if audit_support::cannot_run(test, &["tcpdump"]) {
        return;
    }
    let scene = Scene::new("ssjson");
    let rss = env!("CARGO_BIN_EXE_rss");
    let mut args = vec!["--all-filters", "--json"];
    args.extend(SELECT);
    let out = scene.run(rss, &args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = serde_json::to_string_pretty(&json).unwrap();
    let by_inode = |inode: u64| {
        json["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["inode"] == inode)
            .unwrap_or_else(|| panic!("no socket {inode}\n{report}"))
    };
    let h = &scene.holder;
    for (i, inode) in h[4..9].iter().enumerate() {
        let f = &by_inode(*inode)["filter"];
        assert_eq!(f["present"], true, "{report}");
        assert_eq!(f["readable"], true, "{report}");
        assert_eq!(f["instructions"], scene.progs[i].len(), "{report}");
        assert_eq!(f["code"], serde_json::json!(scene.progs[i]), "{report}");
        assert_eq!(
            f["disassembly"],
            serde_json::json!(scene.disasm[i]),
            "{report}"
        );
        assert_eq!(f["reason"], Value::Null, "{report}");
    }
    assert_eq!(by_inode(h[9])["filter"], Value::Null, "{report}");
    if scene.ebpf {
        let f = &by_inode(h[11])["filter"];
        assert_eq!(f["present"], true, "{report}");
        assert_eq!(f["readable"], false, "{report}");
        assert_eq!(f["instructions"], Value::Null, "{report}");
        assert!(f["reason"].as_str().unwrap().contains("eBPF"), "{report}");
    }
    // Without --all-filters the field is there, null.
    let out = scene.run(rss, &["--json", "-tan"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.get("filter") == Some(&Value::Null)));
}

/// Without root the holders' descriptors cannot be read: each socket says so, and so
/// do stderr and the status.
#[test]
fn unreadable_filters_make_a_partial_answer() {
    let test = "unreadable_filters_make_a_partial_answer";
    if audit_support::cannot_run(test, &["tcpdump", "setpriv"]) {
        return;
    }
    let scene = Scene::new("ssnobody");
    let rss = env!("CARGO_BIN_EXE_rss");
    let out = scene.run(
        "setpriv",
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            rss,
            "--all-filters",
            "-tan",
        ],
    );
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--all-filters: the filters of"),
        "{out:?}"
    );
    let h = &scene.holder;
    let tcp = format!("127.0.0.1:{}", h[1]);
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.split_whitespace().any(|w| w == tcp))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        lines[at + 1].starts_with("\tbpf filter: not read ("),
        "{stdout}"
    );
}
