//! ss's filter language over arbitrary input: no word list, filter file or mix of
//! them panics the parser, the evaluator or the bytecode compiler, and nothing
//! recurses (a 200,000-term expression parses, runs and drops). Host lookups are
//! answered locally so random words never reach a resolver.

use proptest::prelude::*;
use rnetstat::resolve::{DuplicatePolicy, Services};
use rnetstat::select::ss_filter::{parse, state_words, Env, Scope, Subject};
use std::net::IpAddr;

const VOCAB: &[&str] = &[
    "(",
    ")",
    "!",
    "not",
    "and",
    "&&",
    "&",
    "or",
    "||",
    "|",
    "sport",
    "dport",
    "src",
    "dst",
    "dev",
    "fwmark",
    "cgroup",
    "autobound",
    "=",
    "==",
    "eq",
    "!=",
    "neq",
    ">",
    "<",
    ">=",
    "<=",
    "ge",
    "le",
    "gt",
    "lt",
    ":22",
    ":ssh",
    ":foo",
    "*",
    "*:80",
    "192.0.2.1",
    "192.0.2.0/24",
    "[::1]",
    "[2001:db8::1]:443",
    "2001:db8::/32",
    "unix:/tmp/*",
    "unix:@*",
    "link:ip:1",
    "netlink:0:kernel",
    "vsock:3:1024",
    "inet:1.2.3.4",
    "inet6:::1",
    "lo",
    "veth0",
    "0x2a/0xff",
    "7",
    "-1",
    "0x10000",
    "default",
    "host.example",
    "[",
    "/",
    ":",
    "\\",
    "a\\ b",
];

/// True when the words parsed as a filter.
fn env_check(words: &[Vec<u8>], file: Option<&[u8]>, opts: u8) -> bool {
    let services = Services::parse(
        b"ssh 22/tcp\nhttp 80/tcp\nhttp 80/udp\nodd 9/tcp\nodd 10/udp\n",
        b"",
        DuplicatePolicy::FirstWins,
    );
    let host = |n: &[u8], v6: bool| -> Vec<IpAddr> {
        if n == b"host.example" {
            vec![if v6 { "2001:db8::9" } else { "192.0.2.9" }
                .parse()
                .unwrap()]
        } else {
            Vec::new()
        }
    };
    let if_index = |n: &[u8]| u32::from(n == b"lo");
    let cgroup = |p: &[u8]| {
        if p.len() % 2 == 0 {
            Ok(p.len() as u64)
        } else {
            Err(b"Failed\n".to_vec())
        }
    };
    let env = Env {
        services: &services,
        if_index: &if_index,
        host: &host,
        cgroup: &cgroup,
    };
    let mut sel = Scope {
        dbs: u32::from(opts & 0x0f) | (u32::from(opts & 0x30) << 2),
        families: (1 << libc::AF_INET) | (1 << libc::AF_INET6) | (1 << libc::AF_UNIX),
        preferred_family: match opts >> 6 {
            0 => libc::AF_UNSPEC,
            1 => libc::AF_UNIX,
            2 => libc::AF_INET6,
            _ => libc::AF_PACKET,
        },
    };
    let refs: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
    let used = match state_words(&refs) {
        Ok((_, n)) => n,
        Err(e) => {
            assert!(!e.message.is_empty());
            return false;
        }
    };
    let mut file = file;
    let file_dyn = file.as_mut().map(|f| f as &mut dyn std::io::BufRead);
    match parse(&refs[used..], file_dyn, &mut sel, &env) {
        Ok(f) => {
            let _ = f.inet_bytecode();
            let subjects = [
                Subject::inet(
                    "192.0.2.1".parse().unwrap(),
                    22,
                    "::ffff:192.0.2.9".parse().unwrap(),
                    40000,
                ),
                Subject::inet("::1".parse().unwrap(), 0, "::".parse().unwrap(), 0),
                Subject::unix(Some(b"\0abcde"), 7, 0),
                Subject::unix(Some(&[0xff; 200]), u32::MAX, 1),
                Subject::unix(None, 0, 0),
            ];
            for s in &subjects {
                let _ = f.matches(s);
            }
            true
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            assert!(matches!(e.status, 0 | 1 | 255));
            false
        }
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(words in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..12),
                       file in prop::option::of(prop::collection::vec(any::<u8>(), 0..2048)),
                       opts in any::<u8>()) {
        let _ = env_check(&words, file.as_deref(), opts);
    }

    #[test]
    fn token_soup(toks in prop::collection::vec(prop::sample::select(VOCAB), 0..40),
                  split in any::<bool>(), opts in any::<u8>(), state in any::<bool>()) {
        let mut words: Vec<Vec<u8>> = Vec::new();
        if state {
            words.push(b"state".to_vec());
            words.push(b"connected".to_vec());
        }
        if split {
            words.extend(toks.iter().map(|t| t.as_bytes().to_vec()));
        } else {
            words.push(toks.join(" ").into_bytes());
        }
        let _ = env_check(&words, None, opts);
        // The same words as a -F file.
        let text = toks.join(" ");
        let _ = env_check(&[], Some(text.as_bytes()), opts);
    }
}

#[test]
fn huge_expressions_do_not_recurse() {
    let mut words: Vec<Vec<u8>> = Vec::new();
    for i in 0..200_000u32 {
        if i > 0 {
            words.push(if i % 2 == 0 {
                b"or".to_vec()
            } else {
                b"and".to_vec()
            });
        }
        words.push(b"!".to_vec());
        words.push(b"sport".to_vec());
        words.push(format!(":{}", i % 65536).into_bytes());
    }
    assert!(env_check(&words, None, 1));
    let nested = vec![b"!".to_vec(); 9990]
        .into_iter()
        .chain([b"sport".to_vec(), b":1".to_vec()])
        .collect::<Vec<_>>();
    assert!(env_check(&nested, None, 1));
}
