use super::*;

fn env_parse(words: &[&str], sel: &mut Scope) -> Result<Filter, SsError> {
    let services = Services::parse(
        b"ssh 22/tcp\nhttp 80/tcp www\nhttp 80/udp\ndomain 53/tcp\ndomain 53/udp\nodd 100/tcp\nodd 101/udp\n",
        b"",
        crate::resolve::DuplicatePolicy::FirstWins,
    );
    let if_index = |n: &[u8]| match n {
        b"lo" => 1,
        b"veth0" => 7,
        _ => 0,
    };
    let host = |n: &[u8], v6: bool| match (n, v6) {
        (b"localhost", false) => vec!["127.0.0.1".parse().unwrap()],
        (b"localhost", true) => vec!["::1".parse().unwrap()],
        _ => vec![],
    };
    let cgroup = |p: &[u8]| {
        if p == b"/sys/fs/cgroup/x" {
            Ok(42)
        } else {
            Err(b"Failed to get cgroup2 ID: No such file or directory\n".to_vec())
        }
    };
    let env = Env {
        services: &services,
        if_index: &if_index,
        host: &host,
        cgroup: &cgroup,
    };
    let w: Vec<&[u8]> = words.iter().map(|s| s.as_bytes()).collect();
    parse(&w, None, sel, &env)
}

fn tcp_sel() -> Scope {
    Scope {
        dbs: 1 << TCP_DB,
        families: (1 << libc::AF_INET) | (1 << libc::AF_INET6),
        preferred_family: libc::AF_UNSPEC,
    }
}

fn p(words: &[&str]) -> Result<Filter, SsError> {
    env_parse(words, &mut tcp_sel())
}

fn msg(words: &[&str]) -> (String, i32, bool) {
    let e = p(words).unwrap_err();
    (String::from_utf8(e.message).unwrap(), e.status, e.usage)
}

fn v4(l: &str, lp: u16, r: &str, rp: u16) -> Subject<'static> {
    Subject::inet(l.parse().unwrap(), lp, r.parse().unwrap(), rp)
}

#[test]
fn errors_are_ss_errors() {
    let syntax = "ss: bison bellows (while parsing filter): \"syntax error!\" Sorry.\n";
    assert_eq!(msg(&["(", "sport"]), (syntax.into(), 255, true));
    assert_eq!(msg(&["sport = :22 )"]), (syntax.into(), 255, true));
    assert_eq!(msg(&["src", "!=", "1.2.3.4"]), (syntax.into(), 255, true));
    assert_eq!(msg(&["( )"]), (syntax.into(), 255, true));
    assert_eq!(msg(&["1.2.3.4"]), (syntax.into(), 255, true));
    assert_eq!(
        msg(&["dport", "=", ":foo"]),
        (
            "Error: \"foo\" does not look like a port.\nCannot parse dst/src address.\n".into(),
            1,
            false
        )
    );
    assert_eq!(
        msg(&["dev", "nosuch"]),
        ("Cannot parse device.\n".into(), 1, false)
    );
    assert_eq!(
        msg(&["fwmark", "bad"]),
        ("Cannot parse mark bad.\n".into(), 1, false)
    );
    assert_eq!(
        msg(&["cgroup", "/nope"]),
        (
            "Failed to get cgroup2 ID: No such file or directory\nCannot parse cgroup /nope.\n"
                .into(),
            1,
            false
        )
    );
    assert_eq!(
        msg(&["dst 1.2.3.4/33"]),
        (
            "Error: an inet prefix is expected rather than \"1.2.3.4/33\".\nCannot parse dst/src address.\n".into(),
            1,
            false
        )
    );
    // The lexer reads a bare word by the last keyword: a port here.
    assert_eq!(
        msg(&["sport = :22 or 1.2.3.4"]).0,
        "Error: \"1.2.3.4\" does not look like a port.\nCannot parse dst/src address.\n"
    );
    // A syntax error before a bad word wins; a bad word before it, too.
    assert_eq!(msg(&[")", "sport", ":foo"]).1, 255);
    assert_eq!(msg(&["sport", ":foo", ")"]).1, 1);
}

#[test]
fn stack_limit_is_bisons() {
    let parens = |n: usize| vec!["("; n];
    assert!(msg(&parens(9998)).0.contains("syntax error"));
    assert!(msg(&parens(9999)).0.contains("memory exhausted"));
    let nots = |n: usize| {
        let mut v = vec!["!"; n];
        v.extend(["sport", "=", ":1"]);
        v
    };
    assert!(p(&nots(9995)).is_ok());
    assert!(msg(&nots(9996)).0.contains("memory exhausted"));
}

#[test]
fn precedence_is_left_to_right() {
    // (a or b) and c, as ss's grammar reads it.
    let f = p(&["sport = :1 or sport = :2 and dport = :3"]).unwrap();
    assert!(!f.matches(&v4("1.1.1.1", 1, "2.2.2.2", 9)));
    assert!(f.matches(&v4("1.1.1.1", 1, "2.2.2.2", 3)));
    let f = p(&["sport = :1 or sport = :2 dport = :3"]).unwrap();
    assert!(!f.matches(&v4("1.1.1.1", 1, "2.2.2.2", 9)));
    let f = p(&["not", "sport = :1", "or", "dport = :3"]).unwrap();
    assert!(f.matches(&v4("1.1.1.1", 1, "2.2.2.2", 3)));
    assert!(!f.matches(&v4("1.1.1.1", 1, "2.2.2.2", 4)));
    assert!(f.matches(&v4("1.1.1.1", 2, "2.2.2.2", 4)));
}

#[test]
fn ports_and_ranges() {
    let f = p(&["sport >= :1024 and sport <= 2000"]).unwrap();
    assert!(f.matches(&v4("1.1.1.1", 1500, "0.0.0.0", 0)));
    assert!(!f.matches(&v4("1.1.1.1", 2001, "0.0.0.0", 0)));
    let f = p(&["dport gt :ssh"]).unwrap();
    assert!(f.matches(&v4("1.1.1.1", 1, "0.0.0.0", 23)));
    assert!(!f.matches(&v4("1.1.1.1", 1, "0.0.0.0", 22)));
    let f = p(&["sport", "neq", "0x16"]).unwrap();
    assert!(!f.matches(&v4("1.1.1.1", 22, "0.0.0.0", 0)));
    // Port -1 is "any port".
    let f = p(&["sport = -1"]).unwrap();
    assert!(f.matches(&v4("1.1.1.1", 5, "0.0.0.0", 0)));
}

#[test]
fn addresses_and_prefixes() {
    let f = p(&["src 192.0.2.0/24"]).unwrap();
    assert!(f.matches(&v4("192.0.2.9", 1, "0.0.0.0", 0)));
    assert!(!f.matches(&v4("192.0.3.9", 1, "0.0.0.0", 0)));
    // A v4-mapped socket matches an IPv4 prefix.
    assert!(f.matches(&v4("::ffff:192.0.2.9", 1, "::", 0)));
    let f = p(&["dst [2001:db8::1]:80"]).unwrap();
    assert!(f.matches(&v4("2001:db8::2", 1, "2001:db8::1", 80)));
    assert!(!f.matches(&v4("2001:db8::2", 1, "2001:db8::1", 81)));
    let f = p(&["src *:22"]).unwrap();
    assert!(f.matches(&v4("2001:db8::2", 22, "::", 0)));
    let f = p(&["src 192.0.2.1/255.255.255.0"]).unwrap();
    assert!(f.matches(&v4("192.0.2.200", 1, "0.0.0.0", 0)));
    let f = p(&["dst localhost"]).unwrap();
    assert!(f.matches(&v4("::1", 1, "::1", 5)));
    assert!(f.matches(&v4("::1", 1, "127.0.0.1", 5)));
    let f = p(&["src default"]).unwrap();
    assert!(f.matches(&v4("2001:db8::2", 22, "::", 0)));
}

#[test]
fn unix_names_and_families() {
    let mut sel = Scope {
        preferred_family: libc::AF_UNIX,
        ..tcp_sel()
    };
    let f = env_parse(&["src", "/tmp/*"], &mut sel).unwrap();
    assert!(f.matches(&Subject::unix(Some(b"/TMP/x"), 5, 0)));
    assert!(!f.matches(&Subject::unix(Some(b"/var/x"), 5, 0)));
    assert!(!f.matches(&Subject::unix(None, 5, 0)));
    let f = env_parse(&["dst", "unix:*"], &mut sel).unwrap();
    assert!(f.matches(&Subject::unix(Some(b"/var/x"), 5, 0)));
    let mut sel = tcp_sel();
    let f = env_parse(&["src", "unix:@*"], &mut sel).unwrap();
    assert_eq!(sel.families, 1 << libc::AF_UNIX);
    assert!(f.matches(&Subject::unix(Some(b"\0abc"), 5, 0)));
    let f = env_parse(&["autobound"], &mut sel).unwrap();
    assert!(f.matches(&Subject::unix(Some(b"\x0000a1f"), 5, 0)));
    assert!(!f.matches(&Subject::unix(Some(b"\x0000a1g"), 5, 0)));
    assert!(f.matches(&Subject::unix(None, 5, 0)));
}

#[test]
fn state_words_as_ss_takes_them() {
    let (mask, used) =
        state_words(&[b"state", b"established", b"state", b"listening", b"sport"]).unwrap();
    assert_eq!(used, 4);
    assert_eq!(mask, Some((1 << state::ESTABLISHED) | (1 << state::LISTEN)));
    let (mask, _) = state_words(&[b"exclude", b"bucket"]).unwrap();
    assert_eq!(
        mask,
        Some(state::ALL & !((1 << state::SYN_RECV) | (1 << state::TIME_WAIT)))
    );
    assert_eq!(state_words(&[b"sport"]).unwrap(), (None, 0));
    let e = state_words(&[b"state", b"bogus"]).unwrap_err();
    assert_eq!(e.message, b"ss: wrong state name: bogus\n");
    assert_eq!(e.status, 255);
    let e = state_words(&[b"excl"]).unwrap_err();
    assert_eq!(
        e.message,
        b"Command line is not complete. Try option \"help\"\n"
    );
    assert_eq!(state::scan(b"SYN-RCV"), Some(1 << state::SYN_RECV));
    assert_eq!(state::scan(b"unconnected"), Some(1 << state::CLOSE));
}

#[test]
fn bytecode_is_sss() {
    // ss -t 'sport = :22' sends S_COND {7, 16, 20} family 0, plen 0, port 22, 4 zero
    // address bytes.
    let f = p(&["sport = :22"]).unwrap();
    let mut want = vec![7u8, 16];
    want.extend_from_slice(&20u16.to_ne_bytes());
    want.extend_from_slice(&[0, 0, 0, 0]);
    want.extend_from_slice(&22i32.to_ne_bytes());
    want.extend_from_slice(&[0; 4]);
    assert_eq!(f.inet_bytecode().unwrap(), want);
    assert!(p(&["dev lo or sport = :1"])
        .unwrap()
        .inet_bytecode()
        .is_none());
    let f = p(&["sport > :1"]).unwrap();
    let code = f.inet_bytecode().unwrap();
    assert_eq!(code.len(), 12);
    assert_eq!(&code[8..10], &[1, 4]);
}

#[test]
fn file_lines() {
    let services = Services::default();
    let env = Env {
        services: &services,
        if_index: &|_| 0,
        host: &|_, _| vec![],
        cgroup: &|_| Err(vec![]),
    };
    let mut sel = tcp_sel();
    let mut file: &[u8] = b"# comment\n0 skipped\nsport = :22\n\n or dport = :80\n";
    let f = parse(&[], Some(&mut file), &mut sel, &env).unwrap();
    assert!(f.matches(&v4("1.1.1.1", 1, "2.2.2.2", 80)));
    let long = vec![b'('; 1023];
    let mut file: &[u8] = &long;
    let e = parse(&[], Some(&mut file), &mut sel, &env).unwrap_err();
    assert_eq!(e.message, b"Too long line in filter\n");
    let mut file: &[u8] = b"\0x\n";
    let e = parse(&[], Some(&mut file), &mut sel, &env).unwrap_err();
    assert_eq!(e.message, b"Invalid line\n");
}
