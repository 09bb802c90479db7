//! rlsof's options, spelled as lsof 4.95 spells them. lsof's syntax does not fit
//! clap: options start with `-` or `+` (`+c 0`, `+E`, `+r`), and several take an
//! optional value that may be attached or be the next argument unless that starts
//! with `-` or `+` (`-i`, `-F`, `-s`, `-r`). So a small scanner does the parsing
//! and validation into a [`Config`]; [`command`] describes the same options as a
//! clap `Command` for the man page and shell completions.

use crate::render::lsof::{FieldOptions, ALL_FIELDS};
use crate::select::lsof::{
    parse_cmd, parse_inet, parse_list, parse_pid, Family, FdSpec, InetOption, Item, Lookups,
    Selection, StateFilter,
};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// `-E` shows endpoint information of the listed files; `+E` also lists the
/// endpoint files themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoints {
    Annotate,
    AlsoList,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeat {
    pub seconds: u64,
    /// `+r`: stop after a pass that lists nothing.
    pub until_empty: bool,
    /// `-r 1c5`: stop after this many passes.
    pub count: Option<u64>,
    /// `-r 1m<fmt>`: strftime format of the marker line.
    pub marker: Option<String>,
}

/// `-T[fqs]`: what NAME shows of a TCP/TPI socket's state and queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpTpi {
    pub state: bool,
    pub queues: bool,
}

#[derive(Debug)]
pub struct Config {
    pub selection: Selection,
    pub numeric_hosts: bool,
    pub numeric_ports: bool,
    pub numeric_users: bool,
    pub terse: bool,
    pub fields: Option<FieldOptions>,
    /// Offsets instead of sizes for regular files (`-F` with an explicit `o`).
    pub offsets: bool,
    /// `-s` alone: sizes only.
    pub sizes: bool,
    /// COMMAND width limit (`+c`); 0 = none.
    pub command_limit: usize,
    pub repeat: Option<Repeat>,
    pub warnings: bool,
    pub endpoints: Option<Endpoints>,
    pub tcp_tpi: TcpTpi,
    /// File names to look for (stat'ed by the app).
    pub names: Vec<OsString>,
    /// `--json`: one document per pass (docs/json.md).
    pub json: bool,
    /// `--proc-root DIR`: read a captured or recorded proc tree instead of /proc.
    pub proc_root: Option<std::path::PathBuf>,
    /// `--all-netns`: decode, select and tag the sockets of processes in other
    /// network namespaces (lsof shows them as `sock`, and `-i` misses them).
    pub all_netns: bool,
}

#[derive(Debug)]
pub enum Action {
    Run(Box<Config>),
    Help,
    Version,
}

/// A command-line error: the message, and whether the usage line follows it.
#[derive(Debug, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub usage: bool,
}

impl CliError {
    fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            usage: true,
        }
    }
}

pub const USAGE: &str = "usage: [-?abhlnPtUvw] [-T [t]] [+|-c c] [-d s] [+|-E] [-F [f]] [-i [i]] [-p s] [+|-r [t]] [-s [p:s]] [-u s] [+|-w] [--] [names]";

/// Options that take a value whether attached or next.
const NEEDS_VALUE: &[u8] = b"cdpu";
/// Options whose value is optional.
const OPTIONAL_VALUE: &[u8] = b"iFsrT";

/// Scans the arguments (without the program name).
pub fn parse(args: &[OsString], lookups: &dyn Lookups) -> Result<Action, CliError> {
    let mut cfg = Config {
        selection: Selection::default(),
        numeric_hosts: false,
        numeric_ports: false,
        numeric_users: false,
        terse: false,
        fields: None,
        offsets: false,
        sizes: false,
        command_limit: 9,
        repeat: None,
        warnings: true,
        endpoints: None,
        tcp_tpi: TcpTpi {
            state: true,
            queues: false,
        },
        names: Vec::new(),
        json: false,
        proc_root: None,
        all_netns: false,
    };
    let mut inet_family: Option<Family> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        if arg == b"--" || arg == b"++" {
            i += 1;
            break;
        }
        // Our long options; lsof has none, so they cannot clash.
        if arg == b"--json" {
            cfg.json = true;
            i += 1;
            continue;
        }
        if arg == b"--all-netns" {
            cfg.all_netns = true;
            i += 1;
            continue;
        }
        if arg == b"--proc-root" {
            let Some(dir) = args.get(i + 1) else {
                return Err(CliError::usage("--proc-root needs a directory".to_string()));
            };
            let dir = std::path::PathBuf::from(dir);
            if !dir.join("net").is_dir() {
                return Err(CliError::usage(format!(
                    "--proc-root {}: not a proc tree (no net/ directory in it)",
                    dir.display()
                )));
            }
            cfg.proc_root = Some(dir);
            i += 2;
            continue;
        }
        let Some(&sign) = arg.first().filter(|c| **c == b'-' || **c == b'+') else {
            break;
        };
        if arg.len() < 2 {
            break;
        }
        i += 1;
        let mut pos = 1;
        while pos < arg.len() {
            let opt = arg[pos];
            pos += 1;
            let attached = (pos < arg.len()).then(|| &arg[pos..]);
            let known = b"?abhlnPtTUvwcdpuiFsrEN".contains(&opt);
            if !known {
                return Err(CliError::usage(format!(
                    "illegal option character: {}",
                    escape_opt(opt)
                )));
            }
            // Fetch a value: the rest of this argument, or the next argument.
            let takes = NEEDS_VALUE.contains(&opt) || OPTIONAL_VALUE.contains(&opt);
            let mut value: Option<String> = None;
            if takes {
                if let Some(v) = attached {
                    value = Some(String::from_utf8_lossy(v).into_owned());
                    pos = arg.len();
                } else if let Some(next) = args.get(i) {
                    let nb = next.as_bytes();
                    let optional_refused = OPTIONAL_VALUE.contains(&opt)
                        && (nb.first() == Some(&b'-') || nb.first() == Some(&b'+'));
                    let r_refused = opt == b'r' && !nb.first().is_some_and(u8::is_ascii_digit);
                    if nb != b"--" && !optional_refused && !r_refused {
                        value = Some(String::from_utf8_lossy(nb).into_owned());
                        i += 1;
                    }
                }
                if NEEDS_VALUE.contains(&opt) && value.is_none() {
                    return Err(CliError::usage(missing_value(sign, opt)));
                }
            }
            match (sign, opt) {
                (b'-', b'?') | (b'-', b'h') => return Ok(Action::Help),
                (b'-', b'v') => return Ok(Action::Version),
                (b'-', b'a') => cfg.selection.and = true,
                (b'-', b'b') | (b'-', b'N') => {}
                (b'-', b'l') => cfg.numeric_users = true,
                (b'-', b'n') => cfg.numeric_hosts = true,
                (b'-', b'P') => cfg.numeric_ports = true,
                (b'-', b't') => {
                    cfg.terse = true;
                    cfg.warnings = false;
                }
                (b'-', b'U') => cfg.selection.unix = true,
                (b'-', b'w') => cfg.warnings = false,
                (b'+', b'w') => cfg.warnings = true,
                (b'-', b'E') => cfg.endpoints = Some(Endpoints::Annotate),
                (b'+', b'E') => cfg.endpoints = Some(Endpoints::AlsoList),
                (b'-', b'c') => {
                    let v = value.unwrap_or_default();
                    let (exclude, text) = match v.strip_prefix('^') {
                        Some(t) => (true, t),
                        None => (false, v.as_str()),
                    };
                    let pattern = parse_cmd(text).map_err(CliError::usage)?;
                    cfg.selection.cmds.push(Item {
                        value: pattern,
                        exclude,
                    });
                }
                (b'+', b'c') => {
                    let v = value.unwrap_or_default();
                    let limit = v
                        .parse::<usize>()
                        .map_err(|_| CliError::usage(missing_value(b'+', b'c')))?;
                    // comm holds at most 15 bytes: lsof refuses a wider column.
                    if limit > 15 {
                        return Err(CliError::usage(format!(
                            "+c {limit} > what system provides (15)"
                        )));
                    }
                    cfg.command_limit = limit;
                }
                (b'-', b'd') => {
                    let v = value.unwrap_or_default();
                    let list = parse_list(&v, FdSpec::parse).map_err(CliError::usage)?;
                    cfg.selection.fds.extend(list);
                }
                (b'-', b'p') => {
                    let v = value.unwrap_or_default();
                    let list = parse_list(&v, parse_pid).map_err(CliError::usage)?;
                    cfg.selection.pids.extend(list);
                }
                (b'-', b'u') => {
                    let v = value.unwrap_or_default();
                    let list = parse_list(&v, |u| {
                        crate::resolve::uid_of(u).ok_or_else(|| format!("can't get UID for {u}"))
                    })
                    .map_err(|m| CliError {
                        message: m,
                        usage: false,
                    })?;
                    cfg.selection.uids.extend(list);
                }
                (b'-', b'i') => match value {
                    None => {
                        cfg.selection.inet_files = Some(None);
                        inet_family = None;
                    }
                    Some(v) => {
                        match parse_inet(&v, inet_family, lookups).map_err(CliError::usage)? {
                            InetOption::Files(fam) => {
                                let merged = match cfg.selection.inet_files {
                                    None => fam,
                                    Some(prev) if prev == fam => fam,
                                    Some(_) => None,
                                };
                                cfg.selection.inet_files = Some(merged);
                                inet_family = merged;
                            }
                            InetOption::Spec(spec) => cfg.selection.inet.push(spec),
                        }
                    }
                },
                (b'-', b'F') => {
                    let (letters, nul) = match value.as_deref() {
                        None => (ALL_FIELDS.to_string(), false),
                        Some("0") => (ALL_FIELDS.to_string(), true),
                        Some(v) => {
                            let mut letters = String::new();
                            let mut nul = false;
                            for c in v.chars() {
                                if c == '0' {
                                    nul = true;
                                } else if "acdDefgGiklLnNoprRsStTuzZKMmCF".contains(c) {
                                    letters.push(c);
                                } else {
                                    return Err(CliError::usage(format!("unknown field: {c}")));
                                }
                            }
                            if letters.contains('o') {
                                cfg.offsets = true;
                            }
                            (letters, nul)
                        }
                    };
                    cfg.fields = Some(FieldOptions { letters, nul });
                }
                (b'-', b's') => match value {
                    None => cfg.sizes = true,
                    Some(v) => {
                        let filter = cfg
                            .selection
                            .states
                            .get_or_insert_with(StateFilter::default);
                        StateFilter::parse(&v, filter).map_err(CliError::usage)?;
                    }
                },
                (_, b'r') => cfg.repeat = Some(parse_repeat(value.as_deref(), sign == b'+')?),
                (b'-', b'T') => {
                    cfg.tcp_tpi = TcpTpi {
                        state: false,
                        queues: false,
                    };
                    for c in value.unwrap_or_default().chars() {
                        match c {
                            's' => cfg.tcp_tpi.state = true,
                            'q' => cfg.tcp_tpi.queues = true,
                            'f' | 'w' => {}
                            _ => {
                                return Err(CliError::usage(format!(
                                    "unsupported TCP/TPI info selection: {c}"
                                )))
                            }
                        }
                    }
                }
                _ => {
                    return Err(CliError::usage(format!(
                        "illegal option character: {}",
                        escape_opt(opt)
                    )))
                }
            }
        }
    }
    cfg.names = args[i..].to_vec();
    if cfg.terse && cfg.fields.is_some() {
        return Err(CliError::usage("-F and -t are mutually exclusive"));
    }
    if cfg.selection.and && cfg.selection.flags() == 0 && cfg.names.is_empty() {
        return Err(CliError::usage("no select options to AND via -a"));
    }
    Ok(Action::Run(Box::new(cfg)))
}

/// `-r [t[c<count>][m<fmt>]]`.
fn parse_repeat(value: Option<&str>, until_empty: bool) -> Result<Repeat, CliError> {
    let mut r = Repeat {
        seconds: 15,
        until_empty,
        count: None,
        marker: None,
    };
    let Some(v) = value else { return Ok(r) };
    let bad = || CliError::usage(format!("unsupported repeat specification: {v}"));
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
    if !digits.is_empty() {
        r.seconds = digits.parse().map_err(|_| bad())?;
    }
    let mut rest = &v[digits.len()..];
    if let Some(c) = rest.strip_prefix('c') {
        let n: String = c.chars().take_while(|c| c.is_ascii_digit()).collect();
        r.count = Some(n.parse().map_err(|_| bad())?);
        rest = &c[n.len()..];
    }
    if let Some(m) = rest.strip_prefix('m') {
        r.marker = Some(m.to_string());
        rest = "";
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(r)
}

fn escape_opt(c: u8) -> String {
    crate::escape::escape(&[c]).into_owned()
}

/// The options as a clap `Command`, for the man page and completions. Parsing uses
/// [`parse`]; `+` forms are described in the help texts.
pub fn command() -> clap::Command {
    use clap::{Arg, ArgAction, Command};
    let flag = |id: &'static str, short: char, help: &'static str| {
        Arg::new(id)
            .short(short)
            .action(ArgAction::SetTrue)
            .help(help)
    };
    let value = |id: &'static str, short: char, name: &'static str, help: &'static str| {
        Arg::new(id)
            .short(short)
            .value_name(name)
            .action(ArgAction::Append)
            .help(help)
    };
    let optional = |id: &'static str, short: char, name: &'static str, help: &'static str| {
        Arg::new(id)
            .short(short)
            .value_name(name)
            .num_args(0..=1)
            .require_equals(false)
            .action(ArgAction::Append)
            .help(help)
    };
    Command::new("rlsof")
        .version(env!("CARGO_PKG_VERSION"))
        .about("List open files, as lsof does")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .after_help(
            "Options may also start with '+': +c N sets the COMMAND width (0 = no limit), \
             +E lists endpoint files too, +r repeats until a pass lists nothing, +w shows warnings.\n\n\
             Examples:\n  rlsof -i :22              who uses port 22\n  \
             rlsof -iTCP -sTCP:LISTEN  listening TCP sockets\n  \
             rlsof -nP -p 1234         every file of process 1234\n  \
             kill $(rlsof -t -i :8080) stop whoever holds port 8080",
        )
        .arg(flag("help", 'h', "Print help").visible_short_alias('?'))
        .arg(flag("version", 'v', "Print version"))
        .arg(flag("and", 'a', "AND the selections (default: OR)"))
        .arg(flag("numeric-hosts", 'n', "Don't convert addresses to host names"))
        .arg(flag("numeric-ports", 'P', "Don't convert port numbers to service names"))
        .arg(flag("numeric-users", 'l', "Don't convert user ids to login names"))
        .arg(flag("terse", 't', "Print only process ids, one per line"))
        .arg(flag("unix", 'U', "Select unix domain socket files"))
        .arg(flag("no-warnings", 'w', "Suppress warnings (+w enables them)"))
        .arg(flag("endpoints", 'E', "Show endpoint information of pipes and sockets (+E: list the endpoints too)"))
        .arg(optional("inet", 'i', "[46][proto][@host|@[v6]][:svc|port[-port][,...]]", "Select Internet files, optionally by family, protocol, address and ports"))
        .arg(value("fd", 'd', "FD[,FD-FD,^FD,cwd...]", "Select (or ^exclude) files by descriptor number, range or name (cwd, rtd, txt, mem, DEL, NOFD)"))
        .arg(value("pid", 'p', "PID[,^PID...]", "Select (or ^exclude) processes by id"))
        .arg(value("user", 'u', "USER[,^USER...]", "Select (or ^exclude) processes by login name or uid"))
        .arg(value("command", 'c', "PREFIX|/REGEX/", "Select processes whose command starts with PREFIX or matches REGEX (+c N: COMMAND width)"))
        .arg(optional("state", 's', "TCP:STATE[,^STATE...]", "Select TCP (and UDP by number) sockets by state; alone: print sizes"))
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("One JSON document per pass, schema in docs/json.md"),
        )
        .arg(
            Arg::new("all-netns")
                .long("all-netns")
                .action(ArgAction::SetTrue)
                .help("Decode, select (-i, -s) and tag sockets of processes in other network namespaces (lsof: `sock ... protocol: TCP`)"),
        )
        .arg(
            Arg::new("proc-root")
                .long("proc-root")
                .value_name("DIR")
                .help("Read DIR instead of /proc (a tree written by rnetstat --capture DIR2, as DIR2/proc)"),
        )
        .arg(optional("fields", 'F', "FIELDS", "Field output for programs (p c u L f a l t G d D s o i k P n T; e = network namespace, with --all-netns for processes outside ours; 0 = NUL terminators)"))
        .arg(optional("tcp-tpi", 'T', "[qs]", "TCP/TPI information in NAME: s state (default), q queues; -T alone: none"))
        .arg(optional("repeat", 'r', "SECONDS", "Repeat every SECONDS (15) with a ======= marker (+r: until nothing is listed)"))
        .arg(Arg::new("names").value_name("NAME").num_args(0..).help("Select processes that have these files open"))
}

/// lsof's words for an option that lacks its value.
fn missing_value(sign: u8, opt: u8) -> String {
    match (sign, opt) {
        (b'-', b'p') => "no process ID specified".into(),
        (b'-', b'u') => "no UIDs specified".into(),
        (b'-', b'd') => "no file descriptor specified".into(),
        (b'-', b'c') => "missing -c option value".into(),
        (b'+', b'c') => "+c not followed by width number".into(),
        _ => format!("{}{} not followed by a value", sign as char, opt as char),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    struct NoLookups;
    impl Lookups for NoLookups {
        fn service_port(&self, name: &str, _udp: bool) -> Option<u16> {
            (name == "ssh").then_some(22)
        }
        fn host_addrs(&self, _: &str, _: Family) -> Vec<IpAddr> {
            Vec::new()
        }
    }

    fn run(args: &[&str]) -> Result<Config, CliError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        match parse(&args, &NoLookups)? {
            Action::Run(c) => Ok(*c),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn optional_values() {
        let c = run(&["-i", "-p", "1"]).unwrap();
        assert_eq!(c.selection.inet_files, Some(None));
        assert_eq!(c.selection.pids.len(), 1);
        let c = run(&["-i", ":22"]).unwrap();
        assert_eq!(c.selection.inet.len(), 1);
        let c = run(&["-iTCP", "-sTCP:LISTEN"]).unwrap();
        assert_eq!(c.selection.inet[0].text, "TCP");
        assert_eq!(c.selection.states.unwrap().include, vec![10]);
        let c = run(&["-nPt", "-i4"]).unwrap();
        assert!(c.numeric_hosts && c.numeric_ports && c.terse);
        assert_eq!(c.selection.inet_files, Some(Some(Family::V4)));
        let c = run(&["-i4", "-i6"]).unwrap();
        assert_eq!(c.selection.inet_files, Some(None));
        let c = run(&["+c", "0", "-F", "pcn", "/tmp"]).unwrap();
        assert_eq!(c.command_limit, 0);
        assert_eq!(c.fields.unwrap().letters, "pcn");
        assert_eq!(c.names, vec![OsString::from("/tmp")]);
        let c = run(&["-F", "-p", "1"]).unwrap();
        assert_eq!(c.fields.unwrap().letters, ALL_FIELDS);
        let c = run(&["-r", "2", "-s"]).unwrap();
        assert_eq!(c.repeat.unwrap().seconds, 2);
        assert!(c.sizes);
        let c = run(&["-r1c2m%H"]).unwrap();
        let r = c.repeat.unwrap();
        assert_eq!(
            (r.seconds, r.count, r.marker.as_deref()),
            (1, Some(2), Some("%H"))
        );
        let c = run(&["-Tqs", "-i"]).unwrap();
        assert!(c.tcp_tpi.state && c.tcp_tpi.queues);
        let c = run(&["-T", "-i"]).unwrap();
        assert!(!c.tcp_tpi.state && !c.tcp_tpi.queues);
        let c = run(&["+r", "/x"]).unwrap();
        assert!(c.repeat.unwrap().until_empty);
        assert_eq!(c.names.len(), 1);
        let c = run(&["+E", "-U"]).unwrap();
        assert_eq!(c.endpoints, Some(Endpoints::AlsoList));
        let c = run(&["-p", "1,^2", "--", "-weird"]).unwrap();
        assert!(c.selection.pids[1].exclude);
        assert_eq!(c.names, vec![OsString::from("-weird")]);
    }

    #[test]
    fn errors() {
        // Each of these is an error with a clear message; lsof silently accepts
        // some (a port above 65535 wraps there).
        for (args, msg) in [
            (&["-Y"][..], "illegal option character: Y"),
            (
                &["-i", ":99999"],
                "unacceptable port specification in: -i :99999",
            ),
            (
                &["-i", "TCP@[::1"],
                "unacceptable Internet address in: -i TCP@[::1",
            ),
            (&["-p", "notapid"], "illegal process ID: notapid"),
            (&["-p"], "no process ID specified"),
            (
                &["-u", "no-such-user-here"],
                "can't get UID for no-such-user-here",
            ),
            (&["-t", "-F"], "-F and -t are mutually exclusive"),
            (&["-a"], "no select options to AND via -a"),
            (
                &["-s", "UDP:Idle"],
                "no UDP state names available: UDP:Idle",
            ),
            (&["+c", "x"], "+c not followed by width number"),
            (&["+c", "16"], "+c 16 > what system provides (15)"),
        ] {
            assert_eq!(run(args).unwrap_err().message, msg, "{args:?}");
        }
    }

    #[test]
    fn clap_description_is_consistent() {
        command().debug_assert();
    }
}
