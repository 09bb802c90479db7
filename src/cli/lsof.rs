//! rlsof's options, spelled as lsof 4.95 spells them. lsof's syntax does not fit
//! clap: options start with `-` or `+` (`+c 0`, `+E`, `+r`), and several take an
//! optional value that may be attached or be the next argument unless that starts
//! with `-` or `+` (`-i`, `-F`, `-s`, `-r`). So a small scanner does the parsing
//! and validation into a [`Config`]; [`command`] describes the same options as a
//! clap `Command` for the man page and shell completions.

use crate::render::lsof::{FieldOptions, ALL_FIELDS};
use crate::select::lsof::{
    parse_cmd, parse_inet, Family, FdSpec, InetOption, Item, Lookups, Selection, StateFilter,
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
    /// `f` (socket flags, which lsof shows on no Linux socket): asked for, it still
    /// makes NAME end in the space that precedes the TCP/TPI part.
    pub flags: bool,
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
    /// `-R`: the PPID column.
    pub ppid: bool,
    /// `-g`: the PGID column.
    pub pgid: bool,
    /// `+L`: the NLINK column.
    pub nlink: bool,
    /// `+fg` (false) / `+fG` (true, hex): the FILE-FLAG column.
    pub file_flags: Option<bool>,
    /// `-o N`: digits of a `0t` offset before lsof switches to `0x` (8).
    pub offset_digits: u32,
    /// `-V`: say which search items were not found.
    pub verbose_search: bool,
    /// `-Q`: a search item not found is no failure.
    pub quiet_search: bool,
    /// `-X` (toggled by each): TCP, UDP and UDP-Lite sockets are not placed (lsof
    /// reads none of their tables), so they show as `sock`s it cannot identify.
    pub skip_inet: bool,
    /// `-b`: lsof avoids kernel calls that may block (stat/readlink of mounts) and warns.
    pub avoid_blocking: bool,
    /// `-b` with an NFS mount in the table (set by the runner from the mounts): lsof
    /// 4.95 then stats no file of a process (cwd, rtd, txt, mapped files, descriptors)
    /// and says so for each; without one, its -b stats them as without -b.
    pub avoid_stat: bool,
    /// The devices whose regular files are POSIX message queues (PSXMQ), when the
    /// runner's reading of lsof's mount table decides them (`-b`: only an mqueue
    /// mount given a device by `+m FILE`); `None`: every mqueue mount's.
    pub mqueue_devs: Option<Vec<u64>>,
    /// `-K i`: threads are never listed.
    pub ignore_tasks: bool,
    /// `+d DIR` / `+D DIR`: files in DIR (in its whole tree).
    pub dirs: Vec<DirArg>,
    /// `-x` was given (it must come with a `+d`/`+D` that works).
    pub cross_given: bool,
    /// `+f` (Some(true)): names are file systems; `-f` (Some(false)): plain files.
    pub names_are_fs: Option<bool>,
    /// `+M`: TCP and UDP ports registered with the portmapper name their program.
    pub portmap: bool,
    /// `+m` alone: print the mount supplement (each mount point and its device) and
    /// stop.
    pub print_mounts: bool,
    /// `+m FILE`: the mount supplement lsof consults for mount points it cannot stat.
    pub mount_supplement: Option<OsString>,
}

/// `-x [fl]`: what a `+d`/`+D` walk crosses into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cross {
    /// `f`: other file systems.
    pub fs: bool,
    /// `l`: symbolic links (followed, entered when they lead to a directory).
    pub links: bool,
}

/// A `+d`/`+D` directory, with the `-x`, `-w` and `-b` given before it (lsof walks
/// the tree as it reads the option).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirArg {
    pub path: OsString,
    pub recursive: bool,
    pub cross: Cross,
    pub warnings: bool,
    pub avoid_blocking: bool,
}

#[derive(Debug)]
pub enum Action {
    Run(Box<Config>),
    Help,
    Version,
    /// `-F?`: the list of field letters.
    FieldHelp,
}

/// A command-line error: the message, and whether the usage line follows it.
#[derive(Debug, PartialEq, Eq)]
pub struct CliError {
    /// One message, or several separated by NUL (which no argument can hold).
    pub message: String,
    pub usage: bool,
    /// `-h` was given too: lsof follows the messages with its whole help text.
    pub help: bool,
}

impl CliError {
    fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            usage: true,
            help: false,
        }
    }
}

/// lsof 4.95's usage lines on Linux (Debian's build), which a usage error prints.
const USAGE_LINES: &str = concat!(
    " usage: [-?abhKlnNoOPRtUvVX] [+|-c c] [+|-d s] [+D D] [+|-E] [+|-e s] [+|-f[gG]]\n",
    " [-F [f]] [-g [s]] [-i [i]] [+|-L [l]] [+m [m]] [+|-M] [-o [o]] [-p s]\n",
    " [+|-r [t]] [-s [p:s]] [-S [t]] [-T [t]] [-u s] [+|-w] [-x [fl]] [--] [names]\n",
);

/// The rest of lsof 4.95's `-h` text.
const HELP_LINES: &str = concat!(
    "Defaults in parentheses; comma-separated set (s) items; dash-separated ranges.\n",
    "  -?|-h list help          -a AND selections (OR)     -b avoid kernel blocks\n",
    "  -c c  cmd c ^c /c/[bix]  +c w  COMMAND width (9)    +d s  dir s files\n",
    "  -d s  select by FD set   +D D  dir D tree *SLOW?*   +|-e s  exempt s *RISKY*\n",
    "  -i select IPv[46] files  -K [i] list|(i)gn tasKs    -l list UID numbers\n",
    "  -n no host names         -N select NFS files        -o list file offset\n",
    "  -O no overhead *RISKY*   -P no port names           -Q allow failed search\n",
    "  -R list paRent PID       -s list file size          -t terse listing\n",
    "  -T disable TCP/TPI info  -U select Unix socket      -v list version info\n",
    "  -V verbose search        +|-w  Warnings (+)         -X skip TCP&UDP* files\n",
    "  -Z Z  context [Z]        -- end option scan       \n",
    "  -E display endpoint info              +E display endpoint info and files\n",
    "  +f|-f  +filesystem or -file names     +|-f[gG] flaGs \n",
    "  -F [f] select fields; -F? for help  \n",
    "  +|-L [l] list (+) suppress (-) link counts < l (0 = all; default = 0)\n",
    "                                        +m [m] use|create mount supplement\n",
    "  +|-M   portMap registration (-)       -o o   o 0t offset digits (8)\n",
    "  -p s   exclude(^)|select PIDs         -S [t] t second stat timeout (15)\n",
    "  -T fqs TCP/TPI Fl,Q,St (s) info\n",
    "  -g [s] exclude(^)|select and print process group IDs\n",
    "  -i i   select by IPv[46] address: [46][proto][@host|addr][:svc_list|port_list]\n",
    "  +|-r [t[m<fmt>]] repeat every t seconds (15);  + until no files, - forever.\n",
    "       An optional suffix to t is m<fmt>; m must separate t from <fmt> and\n",
    "      <fmt> is an strftime(3) format for the marker line.\n",
    "  -s p:s  exclude(^)|select protocol (p = TCP|UDP) states by name(s).\n",
    "  -u s   exclude(^)|select login|UID set s\n",
    "  -x [fl] cross over +d|+D File systems or symbolic Links\n",
    "  names  select named files or files on named file systems\n",
    "Anyone can list all files; /dev warnings disabled; kernel ID check disabled.\n",
);

/// lsof 4.95's `-F?` list (after its `NAME:\tID    field description` line).
const FIELD_HELP_LINES: &str = concat!(
    "\t a    access: r = read; w = write; u = read/write\n",
    "\t c    command name\n",
    "\t d    device character code\n",
    "\t D    major/minor device number as 0x<hex>\n",
    "\t f    file descriptor\n",
    "\t G    file flaGs\n",
    "\t i    inode number\n",
    "\t k    link count\n",
    "\t K    task ID (TID)\n",
    "\t l    lock: r/R = read; w/W = write; u = read/write\n",
    "\t L    login name\n",
    "\t m    marker between repeated output\n",
    "\t M    task comMand name\n",
    "\t n    comment, name, Internet addresses\n",
    "\t o    file offset as 0t<dec> or 0x<hex>\n",
    "\t p    process ID (PID)\n",
    "\t g    process group ID (PGID)\n",
    "\t P    protocol name\n",
    "\t r    raw device number as 0x<hex>\n",
    "\t R    paRent PID\n",
    "\t s    file size\n",
    "\t S    stream module and device names\n",
    "\t t    file type\n",
    "\t T    TCP/TPI info\n",
    "\t u    user ID (UID)\n",
    "\t 0    (zero) use NUL field terminator instead of NL\n",
);

/// `-F?`: the field letters, as lsof lists them on standard error.
pub fn field_help_text(prog: &str) -> String {
    format!("{prog}:\tID    field description\n{FIELD_HELP_LINES}")
}

/// lsof's usage text: the header, the usage lines, then (`full`, for `-h`) the
/// option list or (a usage error) the pointer to it. The header's four lines are
/// rlsof's own (name, version, its options beyond lsof's, where its manual is);
/// every other line is lsof's, byte for byte.
pub fn usage_text(prog: &str, full: bool) -> String {
    let mut text = format!(
        "{prog} {} (lsof 4.95.0's options and output)\n \
         {prog}'s own options: --json, --all-netns, --proc-root DIR\n \
         manual: {prog}(1); lsof's: https://github.com/lsof-org/lsof/blob/master/Lsof.8\n \
         lsof's FAQ: https://github.com/lsof-org/lsof/blob/master/00FAQ\n",
        env!("CARGO_PKG_VERSION")
    );
    text.push_str(USAGE_LINES);
    if full {
        text.push_str(HELP_LINES);
    } else {
        text.push_str("Use the ``-h'' option to get more help information.\n");
    }
    text
}

/// Options that take a value whether attached or next.
const NEEDS_VALUE: &[u8] = b"cdpuDe";
/// Options lsof reads the same after `+` as after `-`.
const SIGNLESS: &[u8] = b"?abFghiKlNopQRsStuUvVXZ";
/// Options whose value is optional.
const OPTIONAL_VALUE: &[u8] = b"iFsrTgoLKSZ";
/// Optional values that are taken only when they start with a digit (lsof pushes
/// anything else back as the next argument).
const DIGIT_VALUE: &[u8] = b"roLS";

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
            flags: false,
        },
        names: Vec::new(),
        json: false,
        proc_root: None,
        all_netns: false,
        ppid: false,
        pgid: false,
        nlink: false,
        file_flags: None,
        offset_digits: 8,
        verbose_search: false,
        quiet_search: false,
        skip_inet: false,
        avoid_blocking: false,
        avoid_stat: false,
        mqueue_devs: None,
        ignore_tasks: false,
        dirs: Vec::new(),
        names_are_fs: None,
        portmap: false,
        print_mounts: false,
        mount_supplement: None,
        cross_given: false,
    };
    let mut cross = Cross::default();
    let mut field_help = false;
    let mut help = false;
    let mut version = false;
    // Every bad option, said before lsof's usage (one message each).
    let mut errors: Vec<CliError> = Vec::new();
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
        'opts: while pos < arg.len() {
            // lsof says every bad option before its usage: an error is kept and the
            // scan goes on with the next option.
            macro_rules! fail {
                ($e:expr) => {{
                    errors.push($e);
                    continue 'opts;
                }};
            }
            macro_rules! attempt {
                ($e:expr) => {
                    match $e {
                        Ok(v) => v,
                        Err(e) => fail!(e),
                    }
                };
            }
            let opt = arg[pos];
            pos += 1;
            let attached = (pos < arg.len()).then(|| &arg[pos..]);
            let mut value: Option<String> = None;
            let known = b"?abhlnPtTUvwcdpuiFsrENRgoOLKSXxbMVQZfDem".contains(&opt);
            if !known {
                fail!(CliError::usage(format!(
                    "illegal option character: {}",
                    escape_opt(opt)
                )));
            }
            // lsof's GetOpt() takes `+` before any option; these ignore which sign.
            let sign = if SIGNLESS.contains(&opt) { b'-' } else { sign };
            if opt == b'm' || opt == b'x' {
                // lsof's GetOpt offers the rest of the argument or the next one (not
                // `--`); these give back one that starts with `-` or `+`.
                let (offered, next) = match attached {
                    Some(v) => (Some(v), false),
                    None => match args.get(i).map(|a| a.as_bytes()) {
                        Some(b"--") | None => (None, false),
                        Some(v) => (Some(v), true),
                    },
                };
                if (sign, opt) == (b'-', b'm') {
                    fail!(CliError::usage("-m not supported"));
                }
                let taken = offered.filter(|v| !v.starts_with(b"-") && !v.starts_with(b"+"));
                if taken.is_some() {
                    if next {
                        i += 1;
                    } else {
                        pos = arg.len();
                    }
                }
                match (opt, taken) {
                    (b'm', v) => {
                        cfg.print_mounts = v.is_none();
                        cfg.mount_supplement =
                            v.map(|v| std::ffi::OsStr::from_bytes(v).to_os_string());
                    }
                    // `-x` alone: both.
                    (_, None) => {
                        cross = Cross {
                            fs: true,
                            links: true,
                        }
                    }
                    (_, Some(v)) => {
                        for &c in v {
                            match c {
                                b'f' => cross.fs = true,
                                b'l' => cross.links = true,
                                _ => {
                                    fail!(CliError::usage(format!(
                                        "unknown cross-over option: {}",
                                        escape_opt(c)
                                    )))
                                }
                            }
                        }
                    }
                }
                continue;
            }
            // Fetch a value: the rest of this argument, or the next argument.
            // `+d`/`+D` take a directory; `-D` (the device cache) is not on Linux,
            // `+m` takes an optional file and `-f`/`+f` only attached letters.
            let needs = match (sign, opt) {
                (b'-', b'D') => false,
                (b'+', b'm') => false,
                _ => NEEDS_VALUE.contains(&opt),
            };
            let takes = needs || OPTIONAL_VALUE.contains(&opt);
            if opt == b'f' {
                if let Some(v) = attached {
                    value = Some(String::from_utf8_lossy(v).into_owned());
                    pos = arg.len();
                }
            }
            if takes {
                let digit_only = DIGIT_VALUE.contains(&opt) && !needs;
                if let Some(v) = attached {
                    if digit_only && !v[0].is_ascii_digit() && opt != b'r' {
                        // `-ad0`-style: the rest is more options.
                    } else {
                        value = Some(String::from_utf8_lossy(v).into_owned());
                        pos = arg.len();
                    }
                } else if let Some(next) = args.get(i) {
                    let nb = next.as_bytes();
                    let optional_refused =
                        !needs && (nb.first() == Some(&b'-') || nb.first() == Some(&b'+'));
                    let digit_refused = digit_only && !nb.first().is_some_and(u8::is_ascii_digit);
                    let z_refused = opt == b'Z';
                    if nb != b"--" && !optional_refused && !digit_refused && !z_refused {
                        value = Some(String::from_utf8_lossy(nb).into_owned());
                        i += 1;
                    }
                }
                // `+d`/`+D` alone: the walk says so (unless -w), then the usage.
                if needs && value.is_none() && !(sign == b'+' && (opt == b'd' || opt == b'D')) {
                    fail!(CliError::usage(missing_value(sign, opt)));
                }
            }
            match (sign, opt) {
                (b'-', b'?') | (b'-', b'h') => help = true,
                (b'-', b'v') => version = true,
                (b'-', b'a') => cfg.selection.and = true,
                (b'-', b'b') => cfg.avoid_blocking = true,
                (b'-', b'N') => cfg.selection.nfs = true,
                (b'-', b'R') => cfg.ppid = true,
                (b'-', b'g') => {
                    cfg.pgid = true;
                    if let Some(v) = value {
                        if let Err(e) = add_ids(&v, true, &mut cfg.selection.pgids) {
                            fail!(CliError::usage(e));
                        }
                    }
                }
                (b'-', b'o') => match value {
                    Some(v) => {
                        cfg.offset_digits = attempt!(v.parse().map_err(|_| {
                            CliError::usage(format!("-o not followed by a number: {v}"))
                        }))
                    }
                    None => cfg.offsets = true,
                },
                (b'-', b'O') | (b'+', b'O') | (b'-', b'S') => {}
                (_, b'M') => cfg.portmap = sign == b'+',
                // lsof toggles it: `-X -X` lists TCP and UDP files again.
                (b'-', b'X') => cfg.skip_inet = !cfg.skip_inet,
                (b'-', b'V') => cfg.verbose_search = true,
                (b'-', b'Q') => cfg.quiet_search = true,
                (b'+', b'L') => {
                    cfg.nlink = true;
                    if let Some(v) = value {
                        let n = attempt!(v.parse::<u64>().map_err(|_| {
                            CliError::usage(format!("+L not followed by a number: {v}"))
                        }));
                        cfg.selection.nlink_below = Some(n);
                    }
                }
                (b'-', b'L') => {
                    if value.is_some() {
                        fail!(CliError::usage("no number may follow -L"));
                    }
                    cfg.nlink = false;
                }
                (b'-', b'K') => match value.as_deref() {
                    None => {
                        cfg.selection.tasks = true;
                        cfg.ignore_tasks = false;
                    }
                    Some(v) if v.eq_ignore_ascii_case("i") => {
                        cfg.selection.tasks = false;
                        cfg.ignore_tasks = true;
                    }
                    Some(v) => {
                        fail!(CliError::usage(format!(
                            "-K not followed by i (but by {v})"
                        )))
                    }
                },
                (b'+', b'd') | (b'+', b'D') => {
                    let v = value.map(OsString::from).unwrap_or_default();
                    // lsof walks the tree here, with the -x and -w given so far.
                    cfg.dirs.push(DirArg {
                        path: v,
                        recursive: opt == b'D',
                        cross,
                        warnings: cfg.warnings,
                        avoid_blocking: cfg.avoid_blocking,
                    });
                }
                (b'-', b'Z') => fail!(CliError::usage("-Z limited to SELinux")),
                (b'-', b'e') => {
                    let v = value.unwrap_or_default();
                    if !is_mount_point(&v) {
                        fail!(CliError::usage(format!(
                            "\"-e {v}\" is not a mounted file system."
                        )));
                    }
                }
                (_, b'f') => {
                    let letters = value.unwrap_or_default();
                    if letters.is_empty() {
                        cfg.names_are_fs = Some(sign == b'+');
                    }
                    for c in letters.chars() {
                        match c {
                            'g' | 'G' if sign == b'+' => cfg.file_flags = Some(c == 'G'),
                            'g' | 'G' => cfg.file_flags = None,
                            'c' | 'f' | 'n' => {
                                fail!(CliError::usage(format!("unknown file struct option: {c}")))
                            }
                            _ => {
                                fail!(CliError::usage(format!("unknown file struct option: {c}")))
                            }
                        }
                    }
                }
                (b'-', b'l') => cfg.numeric_users = true,
                // `+n`/`+P` undo `-n`/`-P`.
                (_, b'n') => cfg.numeric_hosts = sign == b'-',
                (_, b'P') => cfg.numeric_ports = sign == b'-',
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
                    let (item, text) = attempt!(parse_cmd(&v).map_err(CliError::usage));
                    cfg.selection.cmd_texts.push(text);
                    cfg.selection.cmds.push(item);
                }
                (b'+', b'c') => {
                    let v = value.unwrap_or_default();
                    let limit = attempt!(v
                        .parse::<usize>()
                        .map_err(|_| CliError::usage(missing_value(b'+', b'c'))));
                    // comm holds at most 15 bytes: lsof refuses a wider column.
                    if limit > 15 {
                        fail!(CliError::usage(format!(
                            "+c {limit} > what system provides (15)"
                        )));
                    }
                    cfg.command_limit = limit;
                }
                (b'-', b'd') => {
                    let v = value.unwrap_or_default();
                    if let Err(e) = add_fds(&v, cfg.warnings, &mut cfg.selection.fds) {
                        fail!(CliError::usage(e));
                    }
                }
                // An empty list selects nothing and is no error, as in lsof.
                (b'-', b'p') => {
                    let v = value.unwrap_or_default();
                    if let Err(e) = add_ids(&v, false, &mut cfg.selection.pids) {
                        fail!(CliError::usage(e));
                    }
                }
                (b'-', b'u') => {
                    let v = value.unwrap_or_default();
                    if let Err(e) = add_uids(&v, &mut cfg.selection.uids) {
                        fail!(CliError::usage(e));
                    }
                }
                (b'-', b'i') => match value {
                    None => {
                        cfg.selection.inet_files = Some(None);
                        inet_family = None;
                    }
                    Some(v) => {
                        match attempt!(parse_inet(&v, inet_family, lookups).map_err(CliError::usage))
                        {
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
                (b'-', b'F') if value.as_deref() == Some("?") => field_help = true,
                (b'-', b'F') => {
                    let (letters, nul) = match value.as_deref() {
                        None => (ALL_FIELDS.to_string(), false),
                        Some("0") => (ALL_FIELDS.to_string(), true),
                        Some(v) => {
                            let mut letters = String::new();
                            let mut nul = false;
                            // lsof says each letter it does not know.
                            let mut unknown = Vec::new();
                            for c in v.chars() {
                                if c == '0' {
                                    nul = true;
                                } else if "acdDefgGiklLnNoPprRsStTuzZKMmCF".contains(c) {
                                    letters.push(c);
                                } else {
                                    unknown.push(format!("unknown field: {c}"));
                                }
                            }
                            if !unknown.is_empty() {
                                fail!(CliError::usage(unknown.join("\0")));
                            }
                            if letters.contains('o') {
                                cfg.offsets = true;
                            }
                            (letters, nul)
                        }
                    };
                    // Each -F adds its fields to those of an earlier one.
                    let fields = cfg.fields.get_or_insert_with(|| FieldOptions {
                        letters: String::new(),
                        nul: false,
                        offset_digits: 8,
                    });
                    for c in letters.chars() {
                        if !fields.letters.contains(c) {
                            fields.letters.push(c);
                        }
                    }
                    fields.nul |= nul;
                }
                (b'-', b's') => match value {
                    None => cfg.sizes = true,
                    Some(v) => {
                        let filter = cfg
                            .selection
                            .states
                            .get_or_insert_with(StateFilter::default);
                        attempt!(StateFilter::parse(&v, filter).map_err(CliError::usage));
                    }
                },
                (_, b'r') => {
                    cfg.repeat = Some(attempt!(parse_repeat(value.as_deref(), sign == b'+')))
                }
                (_, b'T') => {
                    let Some(letters) = value else {
                        // `-T` alone: none; `+T` alone: the state (the default).
                        cfg.tcp_tpi = TcpTpi {
                            state: sign == b'+',
                            queues: false,
                            flags: false,
                        };
                        continue;
                    };
                    cfg.tcp_tpi = TcpTpi {
                        state: false,
                        queues: false,
                        flags: false,
                    };
                    // lsof says each letter it does not know (`w`, windows, is not on
                    // Linux) before its usage.
                    let mut unknown = Vec::new();
                    for c in letters.chars() {
                        match c {
                            's' => cfg.tcp_tpi.state = true,
                            'q' => cfg.tcp_tpi.queues = true,
                            'f' => cfg.tcp_tpi.flags = true,
                            _ => unknown.push(format!("unsupported TCP/TPI info selection: {c}")),
                        }
                    }
                    if !unknown.is_empty() {
                        fail!(CliError::usage(unknown.join("\0")));
                    }
                }
                _ => {
                    fail!(CliError::usage(format!(
                        "illegal option character: {}",
                        escape_opt(opt)
                    )))
                }
            }
        }
    }
    if field_help && errors.is_empty() {
        return Ok(Action::FieldHelp);
    }
    cfg.names = args[i..].to_vec();
    if let Some(f) = &mut cfg.fields {
        f.offset_digits = cfg.offset_digits;
    }
    cfg.cross_given = cross.fs || cross.links;
    // lsof's checks after the options, in its order.
    if cfg.sizes && cfg.offsets {
        errors.push(CliError::usage("-o and -s are mutually exclusive"));
    }
    if cfg.terse && cfg.fields.is_some() {
        errors.push(CliError::usage("-F and -t are mutually exclusive"));
    }
    if cfg.cross_given && cfg.dirs.is_empty() {
        errors.push(CliError::usage("-x must accompany +d or +D"));
    }
    if !errors.is_empty() {
        return Err(CliError {
            message: errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("\0"),
            usage: errors.iter().any(|e| e.usage),
            help,
        });
    }
    if help {
        return Ok(Action::Help);
    }
    if cfg.skip_inet && (cfg.selection.inet_files.is_some() || !cfg.selection.inet.is_empty()) {
        return Err(CliError::usage("-i is useless when -X is specified."));
    }
    if version {
        return Ok(Action::Version);
    }
    if cfg.selection.and && cfg.selection.flags() == 0 && cfg.names.is_empty() {
        return Err(CliError::usage("no select options to AND via -a"));
    }
    Ok(Action::Run(Box::new(cfg)))
}

/// `-d LIST` as lsof's enter_fd() reads it: items up to each comma (empty ones and
/// a lone `^` are skipped), `^` excludes, `LO-HI` (at the last dash, digits, LO <
/// HI) a range, digits a number, anything else a name (`fd`: every number). One
/// list, over all `-d` options, either includes or excludes: an item of the other
/// kind is an error (said unless -w). Equal items are kept once. Every bad item is
/// said (messages separated by NUL; an error said by none is an empty message).
fn add_fds(list: &str, warnings: bool, fds: &mut Vec<Item<FdSpec>>) -> Result<(), String> {
    if list.is_empty() {
        return Err("no file descriptor specified".into());
    }
    let mut errors = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (excl, after) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (item, next) = after.split_once(',').unwrap_or((after, ""));
        rest = next;
        if item.is_empty() {
            continue;
        }
        let digits = |t: &str| {
            t.bytes().fold(0u32, |n, b| {
                n.wrapping_mul(10)
                    .wrapping_add(u32::from(b.wrapping_sub(b'0')))
            })
        };
        let spec = if let Some(dash) = item.rfind('-') {
            // (No digits after the dash is a high of 0.)
            let (lo, hi) = (&item[..dash], &item[dash + 1..]);
            if lo.is_empty() {
                errors.push(format!("illegal FD range for -d: {item}"));
                continue;
            }
            let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
            if !all_digits(lo) || !all_digits(hi) {
                errors.push(format!("non-digit in -d FD range: {item}"));
                continue;
            }
            let (lo, hi) = (digits(lo), digits(hi));
            if lo >= hi {
                errors.push(format!("-d FD range's low >= its high: {item}"));
                continue;
            }
            FdSpec::Range(lo, hi)
        } else if item.bytes().all(|b| b.is_ascii_digit()) {
            let n = digits(item);
            FdSpec::Range(n, n)
        } else {
            FdSpec::Name(item.to_string())
        };
        if let Some(first) = fds.first() {
            if first.exclude != excl {
                let kind = |x: bool| if x { "exclude" } else { "include" };
                let shown = match &spec {
                    FdSpec::Name(n) => n.clone(),
                    FdSpec::Range(lo, hi) if lo != hi => format!("{lo}-{hi}"),
                    FdSpec::Range(lo, _) => lo.to_string(),
                };
                errors.push(if warnings {
                    format!(
                        "{} in an {} -d list: {}{shown}",
                        kind(excl),
                        kind(first.exclude),
                        if excl { "^" } else { "" }
                    )
                } else {
                    String::new()
                });
                continue;
            }
        }
        if !fds.iter().any(|f| f.value == spec) {
            fds.push(Item {
                value: spec,
                exclude: excl,
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\0"))
    }
}

/// `-p LIST` / `-g LIST` as lsof's enter_id() reads it: items up to each comma,
/// `^` before one excludes it, an empty item is 0; one with anything but digits
/// stops the list (the message quotes all of it); an id given again is skipped,
/// given both ways it is an error (messages separated by NUL).
fn add_ids(list: &str, group: bool, ids: &mut Vec<Item<u32>>) -> Result<(), String> {
    let (what, short) = if group { (" group", "G") } else { ("", "") };
    let mut errors = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (item, next) = rest.split_once(',').unwrap_or((rest, ""));
        rest = next;
        let (exclude, digits) = match item.strip_prefix('^') {
            Some(d) => (true, d),
            None => (false, item),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(format!("illegal process{what} ID: {list}"));
            break;
        }
        let id = digits.bytes().fold(0u32, |id, b| {
            id.wrapping_mul(10).wrapping_add(u32::from(b - b'0'))
        });
        match ids.iter().find(|i| i.value == id) {
            Some(i) if i.exclude == exclude => {}
            Some(_) => errors.push(format!(
                "P{short}ID {} has been included and excluded.",
                id as i32
            )),
            None => ids.push(Item { value: id, exclude }),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\0"))
    }
}

/// `-u LIST` as lsof's enter_uid() reads it: items up to each comma (a trailing one
/// ends the list), `^` before one excludes it, digits are a uid (wrapping in 32
/// bits; an empty item is uid 0), anything else a login name. A uid given again is
/// skipped, but given both ways it is an error; every bad item is said (messages
/// separated by NUL).
fn add_uids(list: &str, uids: &mut Vec<Item<u32>>) -> Result<(), String> {
    let mut errors = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (item, next) = rest.split_once(',').unwrap_or((rest, ""));
        rest = next;
        let (exclude, name) = match item.strip_prefix('^') {
            Some(n) => (true, n),
            None => (false, item),
        };
        let uid = if name.bytes().all(|b| b.is_ascii_digit()) {
            name.bytes().fold(0u32, |uid, b| {
                uid.wrapping_mul(10).wrapping_add(u32::from(b - b'0'))
            })
        } else {
            match crate::resolve::uid_of(name) {
                Some(uid) => uid,
                None => {
                    errors.push(format!("can't get UID for {name}"));
                    continue;
                }
            }
        };
        match uids.iter().find(|u| u.value == uid) {
            Some(u) if u.exclude == exclude => {}
            Some(_) => errors.push(format!(
                "UID {} has been included and excluded.",
                uid as i32
            )),
            None => uids.push(Item {
                value: uid,
                exclude,
            }),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\0"))
    }
}

/// Whether `path` is where a file system is mounted (lsof's -e check).
fn is_mount_point(path: &str) -> bool {
    let want = path.trim_end_matches('/');
    let want = if want.is_empty() { "/" } else { want };
    crate::proc::files::read_mounts(&crate::proc::ProcRoot::default())
        .iter()
        .any(|m| m.dir == want.as_bytes())
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
             +E lists endpoint files too, +r repeats until a pass lists nothing, +w shows warnings, \
             +d DIR selects DIR and the files in it, +D DIR the whole tree below it.\n\n\
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
        .arg(flag("ppid", 'R', "Show the PPID column"))
        .arg(optional("pgid", 'g', "PGID[,^PGID...]", "Show the PGID column; with a list, select those process groups"))
        .arg(optional("offsets", 'o', "DIGITS", "Show OFFSET instead of SIZE/OFF; -o N: offsets up to N digits as 0t, longer as 0x"))
        .arg(optional("links", 'L', "N", "+L: show the NLINK column; +L N: select files with fewer than N links (+L1: deleted files); -L: no NLINK"))
        .arg(flag("nfs", 'N', "Select files on NFS"))
        .arg(flag("no-inet", 'X', "Leave TCP, UDP and UDP-Lite files out"))
        .arg(flag("quiet", 'Q', "A search item not found is no failure (exit 0)"))
        .arg(flag("verbose", 'V', "Say which search items were not found"))
        .arg(flag("avoid-blocking", 'b', "Avoid stat/readlink that may block, as lsof (mount points, names; process files when NFS is mounted)"))
        .arg(flag("no-overhead", 'O', "Accepted (lsof: no helper process)"))
        .arg(optional("timeout", 'S', "SECONDS", "Accepted (lsof: kernel function timeout)"))
        .arg(optional("tasks", 'K', "i", "-K: list threads (TID, TASKCMD) and select their files; -K i: never list threads"))
        .arg(optional("file-struct", 'f', "g|G", "-f: names are plain files; +f: names are file systems; +fg/+fG: FILE-FLAG column (names/hex)"))
        .arg(optional("cross", 'x', "fl", "With +d/+D given after it: the walk crosses into other file systems (f) and follows symbolic links (l); -x alone: both"))
        .arg(value("exempt", 'e', "PATH", "Accepted for a mounted file system (lsof: exempt from blocking calls)"))
        .arg(optional("mount-supplement", 'm', "FILE", "+m: print the mount supplement (each mount point and its device, as lsof writes it) and stop; +m FILE: the devices of mount points that cannot be stat(2)ed (with -b: of every one), as lsof reads them from that file; -m: not supported on Linux"))
        .arg(flag("portmap", 'M', "+M: name the programs registered with the portmapper (rpcbind) after their TCP and UDP ports, as `sunrpc[portmapper]`; -M: don't (default)"))
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
