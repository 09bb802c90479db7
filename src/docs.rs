//! Man pages and shell completions generated from the clap definitions (the same ones
//! that parse the command line), so the documentation cannot drift from the options.
//! `rnetstat --generate man|complete-bash|complete-zsh|complete-fish` prints one;
//! scripts/generate-docs writes them all; tests/generated_docs.rs checks they are current.

use clap::Command;
use std::io::{self, Write};

/// Sections clap does not know about, as (title, roff body).
pub struct ManExtras {
    pub sections: &'static [(&'static str, &'static str)],
}

pub fn man_page(cmd: Command, extras: &ManExtras) -> io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    for (title, body) in extras.sections {
        writeln!(out, ".SH \"{title}\"")?;
        out.extend_from_slice(body.trim().as_bytes());
        out.push(b'\n');
    }
    man.render_version_section(&mut out)?;
    Ok(out)
}

pub fn completion(mut cmd: Command, shell: &str) -> Option<Vec<u8>> {
    use clap_complete::Shell;
    let shell = match shell {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        _ => return None,
    };
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    Some(out)
}

/// Handles `--generate KIND` for a binary; returns the exit status.
pub fn generate(cmd: Command, extras: &ManExtras, kind: &str) -> u8 {
    let bytes = match kind {
        "man" => man_page(cmd, extras).ok(),
        other => other
            .strip_prefix("complete-")
            .and_then(|shell| completion(cmd, shell)),
    };
    match bytes {
        Some(b) => {
            let mut stdout = io::stdout().lock();
            if stdout.write_all(&b).and_then(|_| stdout.flush()).is_ok() {
                0
            } else {
                1
            }
        }
        None => {
            eprintln!("--generate takes man, complete-bash, complete-zsh or complete-fish");
            2
        }
    }
}

/// How captures are written and read: the same for rnetstat and rlsof, which both
/// take `--proc-root DIR/proc`.
const CAPTURES: &str = r#"
\fBrnetstat \-\-capture DIR\fR creates DIR, which must not exist (an existing DIR, or a
symlink in its place, is refused: write each capture to a fresh directory), with mode
0700, and every file in it with mode 0600, each made relative to its directory's
descriptor with O_NOFOLLOW|O_EXCL, so nothing is written through a link another user
prepared. It holds every network namespace's /proc/net tables, /proc/locks, each
process's comm, cmdline, status, stat, maps, fdinfo, owner, exe/cwd/root/ns links and
fd links (as symlinks with the link text), the stat results of those link targets and
of mapped files (PID/stats), interface attributes from /sys (any name, UTF\-8 or not),
/run/netns names and manifest.json. That is every process's command line, memory map
and open files, including those hidepid would hide: only root may read it; keep it so.
manifest.json says "complete": false until the capture ends; a reader given such a
capture (\fB\-\-proc\-root DIR/proc\fR) warns that it was cut short and exits 1.
Readers open every file with O_NOFOLLOW|O_NONBLOCK, take regular files only and stop
at 512 MiB a file (1 MiB a line): a hostile capture's FIFOs, devices and links to
/dev/zero are errors, not hangs. Offline runs take owners and stat results from the
capture, never from the disk the capture sits on.
"#;

/// The extra man page sections of rnetstat.
pub const RNETSTAT_MAN: ManExtras = ManExtras {
    sections: &[
        (
            "EXAMPLES",
            r#"
.TP
\fBrnetstat \-tulpn\fR
Listening TCP and UDP sockets, numeric, with the owning program.
.TP
\fBrnetstat \-anp | grep :22\fR
Every socket on port 22 and who holds it.
.TP
\fBrnetstat \-xap\fR
Unix domain sockets with their programs.
.TP
\fBrnetstat \-\-proc\-root /evidence/proc \-anp\fR
Read a snapshot written by \fBrnetstat \-\-capture /evidence\fR on another host.
.TP
\fBrnetstat \-\-capture /evidence \-\-queues \-a \-\-all\-netns\fR
A snapshot plus the unread receive queue of every socket of every namespace.
"#,
        ),
        (
            "EXIT STATUS",
            r#"
.TP
0
Success.
.TP
1
A requested protocol is not supported by the kernel, an address family is unknown, /proc could not be read, the process ran out of file descriptors (owners missing), or a \-\-proc\-root capture was cut short.
.TP
3
Bad command line (as netstat). With \-\-audit: 0 clean, 1 findings, 2 the audit could not run, 3 no findings but some checks could not be done (not root, hidepid).
.PP
With \fB\-\-queues\fR: 0 when every selected socket with queued data was dumped (a cut
at \fB\-\-queue\-cap\fR included); 1 when some queued data could not be read in full
(no visible holder, descriptors of other users, the first datagram only); 2 when the dump
could not be written (the directory exists, no permission).
"#,
        ),
        (
            "SOCKET QUEUES",
            r#"
\fB\-\-queues\fR writes, for every socket the same options would list (\fB\-a\fR,
\fB\-t\fR, \fB\-x\fR, \fB\-\-netns\fR, \fB\-\-all\-netns\fR ...) that has data
received and not yet read by its owner, \fBqueues/receive.PID.FD\fR with that data, and
one line per socket in \fBqueues/manifest.jsonl\fR: pid, fd, program, inode, namespace,
protocol, addresses, state, Recv\-Q and Send\-Q from the table, SIOCINQ and SIOCOUTQ,
the file, bytes, datagrams, whether it is complete or cut, and notes on what could not be
read. The descriptor is duplicated with pidfd_getfd and read with MSG_PEEK|MSG_DONTWAIT,
so the owner still reads every byte, in order; nothing blocks.
.PP
Stream sockets (TCP, unix stream): the bytes as queued, up to \fB\-\-queue\-cap\fR
(default 4M). Datagram sockets (UDP, unix datagram): every queued datagram in order,
walked with SO_PEEK_OFF, each framed as a line \fBdatagram LEN from SOURCE\fR, the
payload and a newline. Raw sockets have no SO_PEEK_OFF: the first datagram only, marked
incomplete. A socket whose owner uses SO_PEEK_OFF itself is not touched. The offset is set
back to \-1 right after the walk; during those microseconds an owner's own MSG_PEEK would
start at our offset. A zero\-length datagram that was peeked before (by an earlier dump
or by its owner) is skipped by the kernel's offset walk.
.PP
Send queues: size only. Their content could only be read by putting the connection into
TCP_REPAIR, which freezes it; rnetstat never does. (Volatility's linux_pkt_queues reads
both queues from a memory image; live, only the receive queue can be read safely.)
.PP
The data is what other processes received: passwords, session keys, private messages.
The directory is created new with mode 0700 and the files 0600, each relative to the
directory's descriptor with O_NOFOLLOW|O_EXCL; an existing name is refused. Reading other
users' sockets needs root. \fBrnetstat \-\-proc\-root DIR/proc \-anp\fR on a capture
tags the rows whose queue was dumped; \fB\-\-json\fR gives a \fBqueue\fR object.
"#,
        ),
        (
            "ENVIRONMENT",
            r#"
.TP
NO_COLOR
When set, no colour is used.
.TP
RNETSTAT_TABLE_SOURCE
Set to \fBproc\fR to read the TCP and UDP tables from the /proc/net text files. By
default the own network namespace's tables come from netlink sock_diag, which gives the
same rows in the same order for less work.
"#,
        ),
        (
            "FILES",
            r#"
/proc/net/tcp, tcp6, udp, udp6, udplite, udplite6, raw, raw6, unix;
/proc/PID/fd, /proc/PID/cmdline, /proc/PID/ns/net;
/etc/services, /etc/protocols, /etc/hosts.
"#,
        ),
        ("CAPTURES", CAPTURES),
        (
            "COMPATIBILITY",
            r#"
Lines are identical to net\-tools netstat 2.10. Deliberate differences: control characters and invalid UTF\-8 in program names and paths are escaped (\fB^[\fR, \fB\\n\fR, \fB\\xff\fR) instead of printed raw; unparsable /proc lines give a warning naming the file and line; reverse lookups share a 2 second deadline; rows of /proc/net/unix forged by a newline in a socket path are left out (the whole path comes from sock_diag) with a note on stderr; running out of file descriptors gives a note and exit status 1.
"#,
        ),
        (
            "SEE ALSO",
            r#"\fBnetstat\fR(8), \fBss\fR(8), \fBlsof\fR(8), \fBip\fR(8), \fBrlsof\fR(1)"#,
        ),
    ],
};

/// The extra man page sections of rlsof.
pub const RLSOF_MAN: ManExtras = ManExtras {
    sections: &[
        (
            "EXAMPLES",
            r#"
.TP
\fBrlsof \-i :22\fR
Processes with a socket on port 22 (local or remote side).
.TP
\fBrlsof \-iTCP \-sTCP:LISTEN\fR
Listening TCP sockets.
.TP
\fBkill $(rlsof \-t \-i :8080)\fR
Terminate whatever holds port 8080.
.TP
\fBif rlsof \-i :5432 >/dev/null; then ...\fR
Exit status 1 when nothing matched, so scripts can test for a listener.
.TP
\fBrlsof \-nP \-p 1234\fR
Every file of process 1234: cwd, rtd, txt, mapped files and descriptors.
.TP
\fBrlsof \-U\fR
Unix domain sockets.
.TP
\fBrlsof \-\-json \-i\fR
The same, as one JSON document.
"#,
        ),
        (
            "EXIT STATUS",
            r#"
.TP
0
Something was listed and every search item was found.
.TP
1
Nothing was listed, a search item (an \-i address, a \-p PID, a \-c name, a file) was not found, or the command line was malformed.
"#,
        ),
        (
            "ENVIRONMENT",
            r#"
.TP
NO_COLOR
When set, no colour is used.
.TP
RNETSTAT_TABLE_SOURCE
Set to \fBproc\fR to read the TCP and UDP tables from the /proc/net text files. By
default the own network namespace's tables come from netlink sock_diag, which gives the
same rows in the same order for less work.
"#,
        ),
        (
            "FILES",
            r#"
/proc/PID/fd, /proc/PID/fdinfo, /proc/PID/maps, /proc/PID/stat, /proc/locks,
/proc/net/tcp, tcp6, udp, udp6, udplite, udplite6, raw, raw6, unix, netlink, packet;
/etc/services, /etc/hosts, /etc/passwd.
"#,
        ),
        ("CAPTURES", CAPTURES),
        (
            "COMPATIBILITY",
            r#"
Lines are those of lsof 4.95 for the \-i and \-U views and the full file list. Deliberate differences: a malformed selection (\-i :99999, \-p notapid) is an error with exit status 1 where lsof accepts some silently.
"#,
        ),
        (
            "SEE ALSO",
            r#"\fBlsof\fR(8), \fBrnetstat\fR(1), \fBnetstat\fR(8), \fBss\fR(8)"#,
        ),
    ],
};

/// The extra man page sections of rss.
pub const RSS_MAN: ManExtras = ManExtras {
    sections: &[
        (
            "EXAMPLES",
            r#"
.TP
\fBrss \-tulpn\fR
Listening TCP and UDP sockets, numeric, with every process holding them.
.TP
\fBrss \-tan\fR
Every TCP socket, numeric.
.TP
\fBrss \-xap\fR
Unix domain sockets with their processes.
.TP
\fBrss \-s\fR
Summary of the socket tables.
.TP
\fBrss \-N blue \-tan\fR
TCP sockets of the network namespace /run/netns/blue.
"#,
        ),
        (
            "COMPATIBILITY",
            r#"
rss prints what ss from iproute2 6.1 prints: the same rows, the same column widths
(sized from the rows; on a terminal the screen width is shared out among the
columns), the same header, messages and exit statuses. ss's own messages are printed
verbatim, with their "ss:" prefix. Deliberate differences: control characters and
invalid UTF\-8 in process names, unix socket paths and interface names are escaped
(\\n, ^X, \\xNN) where ss prints them raw; \-V names rss; \-\-help prints this
program's option list (\-h prints ss's usage text); \-K, \-E and \-D are not
supported; vsock, tipc and xdp sockets are not listed. In the detail text (\-e,
\-i, \-\-cgroup) cgroup paths and congestion control and ULP names are escaped the
same way; TCP MD5 keys (which ss writes outside its columns) and MPTCP subflow
details are not shown.
"#,
        ),
        (
            "ENVIRONMENT",
            r#"
.TP
TCPDIAG_FILE
As with ss: the TCP sockets are read from this file, a dump recorded by
\fBss \-D\fR FILE, instead of from the kernel; every reply up to the first end of
dump is shown, whatever its family or state.
"#,
        ),
        (
            "EXIT STATUS",
            r#"
.TP
0
Success, also when the options select no socket table (ss's "no socket tables to show" messages).
.TP
1
\-N could not enter the namespace, \-Z/\-z without SELinux, or a socket table could not be read.
.TP
255
A malformed command line (after ss's usage text).
"#,
        ),
    ],
};
