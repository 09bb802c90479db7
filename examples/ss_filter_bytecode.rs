//! Does ss's inet_diag bytecode pay? Dumps the TCP sockets of the current network
//! namespace (every state) with a filter, once with ss's bytecode attached (the kernel
//! drops non-matching sockets before they are copied out) and once without (every
//! socket copied and tested in userspace), alternating, and prints the medians.
//!
//!     cargo build --release --example ss_filter_bytecode
//!     target/release/examples/ss_filter_bytecode [RUNS] FILTER WORDS...
//!
//! Run it beside ../shared/bench/sockfarm.py in a namespace of its own (see
//! docs/PERFORMANCE.md for the figures and the command).

use rnetstat::netlink::{inet, DiagSocket};
use rnetstat::proc::inet::Proto;
use rnetstat::resolve::{DuplicatePolicy, Services};
use rnetstat::select::ss_filter::{self, Env, Scope, Subject};
use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let runs = match args.first().and_then(|a| a.parse::<usize>().ok()) {
        Some(n) => {
            args.remove(0);
            n
        }
        None => 15,
    };
    let services = Services::load(DuplicatePolicy::FirstWins);
    let env = Env {
        services: &services,
        if_index: &ss_filter::system_if_index,
        host: &ss_filter::system_host,
        cgroup: &ss_filter::system_cgroup,
    };
    let mut sel = Scope {
        dbs: 1 << rnetstat::cli::ss::TCP_DB,
        families: (1 << libc::AF_INET) | (1 << libc::AF_INET6),
        preferred_family: libc::AF_UNSPEC,
    };
    let words: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let (states, used) = ss_filter::state_words(&words).unwrap_or_else(|e| fail(&e.message));
    let states = states.unwrap_or((1 << 12) - 1);
    let filter =
        ss_filter::parse(&words[used..], None, &mut sel, &env).unwrap_or_else(|e| fail(&e.message));
    let code = filter.inet_bytecode();
    let sock = DiagSocket::open().expect("sock_diag");
    let run = |with: bool| -> (f64, usize, usize) {
        let start = Instant::now();
        let (mut seen, mut kept) = (0, 0);
        for family in [libc::AF_INET, libc::AF_INET6] {
            let mut req = vec![0u8; 56];
            req[0] = family as u8;
            req[1] = libc::IPPROTO_TCP as u8;
            req[4..8].copy_from_slice(&states.to_ne_bytes());
            if let (true, Some(c)) = (with, &code) {
                req.extend_from_slice(&inet::bytecode_attribute(c));
            }
            sock.dump(&req, |msg| {
                seen += 1;
                if let Ok(s) = inet::parse_message(msg, Proto::Tcp) {
                    let subject = Subject::inet(s.local, s.local_port, s.remote, s.remote_port);
                    kept += usize::from(filter.matches(&subject));
                }
            })
            .expect("dump");
        }
        (start.elapsed().as_secs_f64() * 1e3, seen, kept)
    };
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let (mut counts_with, mut counts_without) = ((0, 0), (0, 0));
    for i in 0..=runs {
        let a = run(true);
        let b = run(false);
        if i > 0 {
            with.push(a.0);
            without.push(b.0);
        }
        counts_with = (a.1, a.2);
        counts_without = (b.1, b.2);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "filter {:?}: bytecode {} bytes; with: {:.2} ms ({} copied, {} kept); without: {:.2} ms ({} copied, {} kept); {} runs",
        args.join(" "),
        code.as_ref().map_or(0, Vec::len),
        median(&mut with),
        counts_with.0,
        counts_with.1,
        median(&mut without),
        counts_without.0,
        counts_without.1,
        runs
    );
}

fn fail(msg: &[u8]) -> ! {
    eprint!("{}", String::from_utf8_lossy(msg));
    std::process::exit(1)
}
