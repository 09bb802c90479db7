//! A twin of glibc's getopt_long, shared by rss and rnetstat: the same option string
//! rules, GNU permutation (operands may come before options; `--` ends the options),
//! `-finet` / `-f inet`, `--fam=inet` / `--fam inet`, unambiguous abbreviations of long
//! options, and getopt's messages, because both reference tools print them verbatim
//! and scripts written for them use these forms.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Whether a long option takes an argument (getopt's `has_arg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
    Optional,
    /// Not getopt's: an optional value that may also be the next word when that does
    /// not start with '-' (clap's `num_args = 0..=1`, for our own long options).
    OptionalNext,
}

/// One step of the command line, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<O> {
    Opt(O, Option<OsString>),
    /// getopt's complaint (`PROG: ...`, without the trailing newline).
    Error(String),
}

/// An option table: the short option string, the long options in the reference
/// tool's order (getopt lists ambiguous candidates in this order), and how many of
/// the long options are the reference tool's own.
pub struct Table<'a, O> {
    pub shorts: &'a str,
    pub longs: &'a [(&'a str, HasArg, O)],
    /// An abbreviation that matches one of the first `reference` long options is
    /// resolved among those alone, so options added after them never make a
    /// reference abbreviation ambiguous (exact names always match).
    pub reference: usize,
}

/// getopt_long over `args` (without argv[0]), messages prefixed with `prog`: the
/// options in order (stopping after the first error, as the tools exit there), then
/// the operands. `short` turns an option letter into its `O`; two long options are
/// the same option for the ambiguity check when their `HasArg` and `O` are equal
/// (getopt compares has_arg, flag and val).
pub fn parse<O: Copy + PartialEq>(
    prog: &str,
    table: &Table<'_, O>,
    short: impl Fn(char) -> O,
    args: &[OsString],
) -> (Vec<Event<O>>, Vec<OsString>) {
    let mut events = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        i += 1;
        if arg == b"--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            let (name, value) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                None => (long, None),
            };
            let found = match find_long(table, name) {
                Ok(found) => found,
                Err(Lookup::Unknown) => {
                    events.push(Event::Error(format!(
                        "{prog}: unrecognized option '--{}'",
                        String::from_utf8_lossy(long)
                    )));
                    return (events, operands);
                }
                Err(Lookup::Ambiguous(cands)) => {
                    // getopt names the whole word, `=value` included.
                    let mut msg = format!(
                        "{prog}: option '--{}' is ambiguous; possibilities:",
                        String::from_utf8_lossy(long)
                    );
                    for c in cands {
                        msg.push_str(&format!(" '--{c}'"));
                    }
                    events.push(Event::Error(msg));
                    return (events, operands);
                }
            };
            let (full, has_arg, opt) = *found;
            match (has_arg, value) {
                (HasArg::No, Some(_)) => {
                    events.push(Event::Error(format!(
                        "{prog}: option '--{full}' doesn't allow an argument"
                    )));
                    return (events, operands);
                }
                (HasArg::No, None) => events.push(Event::Opt(opt, None)),
                (HasArg::Optional, v) => {
                    events.push(Event::Opt(opt, v.map(|v| OsStr::from_bytes(v).into())))
                }
                (HasArg::OptionalNext, Some(v)) => {
                    events.push(Event::Opt(opt, Some(OsStr::from_bytes(v).into())))
                }
                (HasArg::OptionalNext, None) => match args.get(i) {
                    Some(v) if !v.as_bytes().starts_with(b"-") => {
                        i += 1;
                        events.push(Event::Opt(opt, Some(v.clone())));
                    }
                    _ => events.push(Event::Opt(opt, None)),
                },
                (HasArg::Required, Some(v)) => {
                    events.push(Event::Opt(opt, Some(OsStr::from_bytes(v).into())))
                }
                (HasArg::Required, None) => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        events.push(Event::Opt(opt, Some(v.clone())));
                    }
                    None => {
                        events.push(Event::Error(format!(
                            "{prog}: option '--{full}' requires an argument"
                        )));
                        return (events, operands);
                    }
                },
            }
            continue;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            operands.push(args[i - 1].clone());
            continue;
        }
        let shorts = table.shorts.as_bytes();
        let mut j = 1;
        while j < arg.len() {
            let c = arg[j];
            j += 1;
            let spec = shorts.iter().position(|&s| s == c && c != b':');
            let Some(pos) = spec else {
                events.push(Event::Error(format!(
                    "{prog}: invalid option -- '{}'",
                    String::from_utf8_lossy(&[c])
                )));
                return (events, operands);
            };
            let takes_arg = shorts.get(pos + 1) == Some(&b':');
            if !takes_arg {
                events.push(Event::Opt(short(c as char), None));
                continue;
            }
            if j < arg.len() {
                events.push(Event::Opt(
                    short(c as char),
                    Some(OsStr::from_bytes(&arg[j..]).into()),
                ));
            } else if let Some(v) = args.get(i) {
                i += 1;
                events.push(Event::Opt(short(c as char), Some(v.clone())));
            } else {
                events.push(Event::Error(format!(
                    "{prog}: option requires an argument -- '{}'",
                    c as char
                )));
                return (events, operands);
            }
            break;
        }
    }
    (events, operands)
}

enum Lookup<'a> {
    Unknown,
    /// The candidates getopt names: the first match and every later one that differs
    /// from it, in table order.
    Ambiguous(Vec<&'a str>),
}

/// The long option `name` designates: an exact name, else the one option every
/// abbreviation match agrees on.
fn find_long<'t, 'a, O: Copy + PartialEq>(
    table: &'t Table<'a, O>,
    name: &[u8],
) -> Result<&'t (&'a str, HasArg, O), Lookup<'a>> {
    if let Some(exact) = table.longs.iter().find(|(n, _, _)| n.as_bytes() == name) {
        return Ok(exact);
    }
    let reference = &table.longs[..table.reference.min(table.longs.len())];
    let matches = |set: &'t [(&'a str, HasArg, O)]| {
        set.iter()
            .filter(|(n, _, _)| n.as_bytes().starts_with(name))
            .collect::<Vec<_>>()
    };
    let mut cands = matches(reference);
    if cands.is_empty() {
        cands = matches(table.longs);
    }
    let Some(&first) = cands.first() else {
        return Err(Lookup::Unknown);
    };
    let differ: Vec<&'a str> = cands
        .iter()
        .filter(|c| (c.1, c.2) != (first.1, first.2))
        .map(|c| c.0)
        .collect();
    if differ.is_empty() {
        return Ok(first);
    }
    Err(Lookup::Ambiguous(
        std::iter::once(first.0).chain(differ).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum O {
        S(char),
        Group,
    }

    const LONGS: &[(&str, HasArg, O)] = &[
        ("ip", HasArg::No, O::Group),
        ("ipx", HasArg::No, O::Group),
        ("interfaces", HasArg::No, O::S('i')),
        ("inet", HasArg::No, O::Group),
        ("width", HasArg::Required, O::S('w')),
        ("netrom", HasArg::No, O::Group),
        ("netns", HasArg::Required, O::S('N')),
        ("queues", HasArg::OptionalNext, O::S('q')),
    ];
    const TABLE: Table<'static, O> = Table {
        shorts: "iw:?",
        longs: LONGS,
        reference: 6,
    };

    fn run(args: &[&str]) -> (Vec<Event<O>>, Vec<OsString>) {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse("prog", &TABLE, O::S, &args)
    }

    #[test]
    fn ambiguity_names_the_first_and_those_that_differ() {
        // glibc leaves out a later match equal to the first (ipx, inet: same val).
        assert_eq!(
            run(&["--i"]).0,
            vec![Event::Error(
                "prog: option '--i' is ambiguous; possibilities: '--ip' '--interfaces'".into()
            )]
        );
        // Matches that agree are one option: the first.
        assert_eq!(run(&["--ip"]).0, vec![Event::Opt(O::Group, None)]);
        assert_eq!(
            run(&["--i=1"]).0,
            vec![Event::Error(
                "prog: option '--i=1' is ambiguous; possibilities: '--ip' '--interfaces'".into()
            )]
        );
        assert_eq!(
            run(&["--in"]).0[0],
            Event::Error(
                "prog: option '--in' is ambiguous; possibilities: '--interfaces' '--inet'".into()
            )
        );
    }

    #[test]
    fn reference_options_win_abbreviations() {
        assert_eq!(run(&["--net"]).0, vec![Event::Opt(O::Group, None)]);
        assert_eq!(
            run(&["--netn", "x"]).0,
            vec![Event::Opt(O::S('N'), Some("x".into()))]
        );
        assert_eq!(
            run(&["--netns=y"]).0,
            vec![Event::Opt(O::S('N'), Some("y".into()))]
        );
    }

    #[test]
    fn forms_and_errors() {
        let (ev, ops) = run(&["a", "-iw5", "b", "-w", "6", "--wid=7", "--", "-i"]);
        assert_eq!(
            ev,
            vec![
                Event::Opt(O::S('i'), None),
                Event::Opt(O::S('w'), Some("5".into())),
                Event::Opt(O::S('w'), Some("6".into())),
                Event::Opt(O::S('w'), Some("7".into())),
            ]
        );
        assert_eq!(ops, vec![OsString::from("a"), "b".into(), "-i".into()]);
        assert_eq!(run(&["-?"]).0, vec![Event::Opt(O::S('?'), None)]);
        let (ev, ops) = run(&["--queues", "d", "--queues", "-i", "--queues=e", "--queues"]);
        assert_eq!(
            ev,
            vec![
                Event::Opt(O::S('q'), Some("d".into())),
                Event::Opt(O::S('q'), None),
                Event::Opt(O::S('i'), None),
                Event::Opt(O::S('q'), Some("e".into())),
                Event::Opt(O::S('q'), None),
            ]
        );
        assert!(ops.is_empty());
        assert_eq!(
            run(&["-Q"]).0,
            vec![Event::Error("prog: invalid option -- 'Q'".into())]
        );
        assert_eq!(
            run(&["-w"]).0,
            vec![Event::Error(
                "prog: option requires an argument -- 'w'".into()
            )]
        );
        assert_eq!(
            run(&["--wi"]).0,
            vec![Event::Error(
                "prog: option '--width' requires an argument".into()
            )]
        );
        assert_eq!(
            run(&["--ip=1"]).0,
            vec![Event::Error(
                "prog: option '--ip' doesn't allow an argument".into()
            )]
        );
        assert_eq!(
            run(&["--bogus=1"]).0,
            vec![Event::Error("prog: unrecognized option '--bogus=1'".into())]
        );
    }
}
