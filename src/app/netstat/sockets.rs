//! rnetstat's socket view: read the selected tables of each namespace, attribute
//! owners, resolve the names of the rows that will be printed, and render them as
//! netstat does (with -g's memberships, and netstat's words for families it has no
//! table for).

use super::{prog, target_namespaces, write_tagged, Names};
use crate::app::output;
use crate::cli::netstat::{Config, NetnsChoice, Selection};
use crate::netlink;
use crate::netns::NetNs;
use crate::proc::igmp::Membership;
use crate::proc::inet::{InetSocket, Proto};
use crate::proc::unix::{self, UnixSocket};
use crate::proc::{ProcRoot, Table};
use crate::queues::ManifestLine;
use crate::render::json;
use crate::render::netstat::{self as view, RowContext, Rows, SocketOptions};
use crate::resolve::Users;
use crate::resolve::HOST_DEADLINE;
use crate::snapshot::{OwnerDetail, Owners, OwnersScanner};
use crate::tables::{self, TableSource};
use std::io::{self, Write};

/// The socket view (netstat without -r/-i/-s: -t, -u, -w, -x, -g and their rows) in
/// every namespace asked for.
pub(super) fn socket_view(
    config: &Config,
    root: &ProcRoot,
    names: &mut Names,
    scanner: &mut OwnersScanner,
    out: &mut impl Write,
) -> io::Result<u8> {
    let sel = &config.selection;
    let opts = &config.sockets;
    let Some(namespaces) = target_namespaces(config) else {
        return Ok(1);
    };
    let source = table_source(config);
    let read_all = || {
        let mut tables = Vec::with_capacity(namespaces.len());
        let mut unreachable = Vec::new();
        for (index, ns) in namespaces.iter().enumerate() {
            match ns.read(root, |dir| read_tables(root, dir, sel, source)) {
                Ok(Some(t)) => tables.push((index, t)),
                Ok(None) => {}
                // Entering a namespace nobody lives in needs CAP_SYS_ADMIN.
                Err(e) => {
                    unreachable.push((index, format!("network namespace {}: {e}", ns.label())))
                }
            }
        }
        (tables, unreachable)
    };
    // The fd scan and the table reads are both mostly kernel time: on two cores
    // they overlap.
    let (owners, (mut tables, unreachable)) = if opts.programs || config.json {
        let (tables, owners) = crate::threads::join(read_all, || {
            scanner.scan(
                root,
                OwnerDetail {
                    argv0: true,
                    uid: config.json,
                    ..OwnerDetail::default()
                },
            )
        });
        (Some(owners), tables)
    } else {
        (None, read_all())
    };
    let owners = owners.transpose()?;
    if let Some(owners) = owners.as_ref().filter(|_| opts.programs) {
        program_notice(owners, root);
    }
    for (index, e) in unreachable {
        output::warn(prog(), e);
        if index == 0 {
            return Ok(1);
        }
    }

    // Rows of every namespace first, so names are resolved in one concurrent batch.
    let mut rows: Vec<(usize, InetSocket)> = Vec::with_capacity(
        tables
            .iter()
            .flat_map(|(_, t)| &t.inet)
            .map(|(_, _, table)| table.as_ref().map_or(0, |t| t.rows.len()))
            .sum(),
    );
    let mut status = 0;
    'tables: for (index, t) in &mut tables {
        let primary = *index == 0;
        for (proto, v6, result) in t.inet.drain(..) {
            match result {
                Ok(table) => {
                    output::parse_warnings(prog(), &table.warnings);
                    rows.extend(
                        table
                            .rows
                            .into_iter()
                            .filter(|s| view::inet_selected(s, opts.rows))
                            .map(|s| (*index, s)),
                    );
                }
                Err(_) if !primary => {}
                // netstat reports a missing v4 table of an asked-for protocol and stops
                // there; a missing v6 table is silent.
                Err(e) if !v6 && is_missing(&e) => {
                    if !sel.implied && (sel.explicit || config.verbose) {
                        output::warn(
                            prog(),
                            format_args!("no support for `{}' on this system.", family_name(proto)),
                        );
                    }
                    if !sel.implied && sel.explicit {
                        status = 1;
                        break 'tables;
                    }
                }
                Err(e) if is_missing(&e) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("/proc/net/{}: {e}", proto.file(v6)),
                    ))
                }
            }
        }
    }
    let groups = match config.groups && status == 0 {
        true => Some(read_groups(config, &namespaces)?),
        false => None,
    };
    if !opts.numeric_hosts {
        let group_addrs = groups.iter().flat_map(|g| {
            crate::render::groups::addresses_to_resolve(g.rows.iter().map(|(_, m)| m))
        });
        names.hosts.resolve_all(
            view::addresses_to_resolve(rows.iter().map(|(_, s)| s)).chain(group_addrs),
            HOST_DEADLINE,
        );
    }
    let labels: Vec<String> = namespaces.iter().map(NetNs::label).collect();
    // A capture made with --queues: rows whose receive queue was dumped say so.
    let captured = match root.is_live() {
        true => None,
        false => crate::queues::read_manifest(root.path()),
    };
    if let Some((_, bad)) = captured.as_ref().filter(|(_, bad)| *bad > 0) {
        output::warn(
            prog(),
            format_args!("{bad} lines of the queue manifest could not be read"),
        );
    }
    let queue_of = |inode: u64| captured.as_ref().and_then(|(m, _)| m.get(&inode));
    let mut ctx = RowContext {
        services: &names.services,
        hosts: &names.hosts,
        users: &mut names.users,
        owners: owners.as_ref(),
        programs: Default::default(),
        netns: None,
    };

    if config.json {
        let mut unix_rows: Vec<(usize, UnixSocket)> = Vec::new();
        if status == 0 {
            status = collect_unix(&mut tables, sel, opts, &mut unix_rows).0;
        }
        let group_rows = groups.as_ref().map_or(&[][..], |g| &g.rows[..]);
        let mut doc = json::socket_document(
            &namespaces,
            json::SocketRows {
                inet: &rows,
                unix: &unix_rows,
                groups: group_rows,
            },
            opts,
            &mut ctx,
        );
        for row in &mut doc.inet {
            row.queue = queue_of(row.inode).and_then(json::QueueCapture::from_manifest);
        }
        for row in &mut doc.unix {
            row.queue = queue_of(row.inode).and_then(json::QueueCapture::from_manifest);
        }
        json::write_line(out, &doc)?;
        return Ok(status);
    }

    // -S asked for: netstat prints TCP's rows, then stops at SCTP's missing table.
    let sctp_stop = sel.sctp && sel.explicit && !sel.implied && status == 0;
    if sctp_stop {
        rows.retain(|(_, s)| s.proto == Proto::Tcp);
    }
    if sel.any_inet() {
        view::write_inet_header(out, opts)?;
        let writer = RowWriter {
            opts,
            labels: &labels,
            captured: captured.as_ref(),
        };
        write_rows(out, &rows, &writer, &mut ctx)?;
    }
    if status != 0 {
        return Ok(status);
    }
    if sctp_stop {
        out.flush()?;
        unsupported_table(config, "INET (sctp)", "sctp");
        return Ok(1);
    }
    let sctp: &[(&str, &str)] = match opts.rows {
        Rows::Connected => &[("INET (sctp)", "sctp/assocs")],
        Rows::Listening => &[("INET (sctp)", "sctp/eps")],
        Rows::All => &[("INET (sctp)", "sctp/eps"), ("INET (sctp)", "sctp/assocs")],
    };
    report_unsupported(config, sel, sctp, out)?;
    if let Some(found) = &groups {
        crate::render::groups::write_header(out)?;
        for (index, m) in &found.rows {
            let tag = labels.get(*index).filter(|_| opts.netns_column);
            write_tagged(out, tag.map(String::as_str), opts, |line| {
                crate::render::groups::write_row(line, m, opts.numeric_hosts, ctx.hosts)
            })?;
        }
        if found.status != 0 {
            return Ok(found.status);
        }
    }
    if sel.unix {
        view::write_unix_header(out, opts)?;
        let mut unix_rows: Vec<(usize, UnixSocket)> = Vec::new();
        let broken_lines;
        (status, broken_lines) = collect_unix(&mut tables, sel, opts, &mut unix_rows);
        let writer = RowWriter {
            opts,
            labels: &labels,
            captured: captured.as_ref(),
        };
        write_rows(out, &unix_rows, &writer, &mut ctx)?;
        // rnetstat joins such a line to its row (the path is cut at the newline in
        // this view, as netstat prints it); the warnings are netstat's all the same.
        if broken_lines > 0 {
            out.flush()?;
            let mut err = io::stderr().lock();
            for _ in 0..broken_lines {
                let _ = writeln!(err, "warning, got bogus unix line.");
            }
        }
    }
    let old_families: &[(&str, &str)] = &[
        ("IPX", "ipx"),
        ("AX25", "ax25"),
        ("X25", "x25"),
        ("NETROM", "nr"),
        ("ROSE", "rose"),
    ];
    report_unsupported(config, sel, old_families, out)?;
    if status != 0 || !sel.old_families() {
        return Ok(status);
    }
    // Families netstat 2.10 knows but rnetstat has no view for: netstat stops at the
    // first one asked for (its /proc table is missing on any current kernel), and
    // names Bluetooth as not built in.
    out.flush()?;
    let asked = [
        (sel.ipx, "IPX", "ipx"),
        (sel.ax25, "AX25", "ax25"),
        (sel.x25, "X25", "x25"),
        (sel.netrom, "NETROM", "nr"),
        (sel.rose, "ROSE", "rose"),
    ];
    if let Some((_, name, file)) = asked.iter().find(|(on, _, _)| *on) {
        unsupported_table(config, name, file);
        return Ok(1);
    }
    output::warn(
        prog(),
        "feature `AF BLUETOOTH' not supported.\nPlease recompile `net-tools' with newer \
         kernel source or full configuration.",
    );
    Ok(1)
}

fn family_name(proto: Proto) -> &'static str {
    match proto {
        Proto::Tcp => "AF INET (tcp)",
        Proto::Udp => "AF INET (udp)",
        Proto::UdpLite => "AF INET (udplite)",
        Proto::Raw => "AF INET (raw)",
    }
}

fn wants(sel: &Selection, proto: Proto) -> bool {
    match proto {
        Proto::Tcp => sel.tcp,
        Proto::Udp => sel.udp,
        Proto::UdpLite => sel.udplite,
        Proto::Raw => sel.raw,
    }
}

fn program_notice(owners: &Owners, root: &ProcRoot) {
    if owners.denied == 0 {
        return;
    }
    // Our own process does not count: the fd scan runs while the table reader holds a
    // sock_diag socket, which netstat (reading /proc/net text) never has; as an
    // unprivileged user that socket alone would turn netstat's "No info could be read"
    // into "Not all processes could be identified", depending on timing.
    let identified = if root.is_live() {
        owners.identified_any_besides(std::process::id())
    } else {
        owners.identified_any()
    };
    let mut err = io::stderr().lock();
    if identified {
        let _ = writeln!(
            err,
            "(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)"
        );
    } else {
        let euid = nix::unistd::geteuid();
        let _ = writeln!(
            err,
            "(No info could be read for \"-p\": geteuid()={euid} but you should be root.)"
        );
    }
}

/// What one namespace's selected tables gave, kept until their turn to be printed so
/// warnings and errors come out where netstat puts them.
pub(in crate::app) struct NsTables {
    pub(in crate::app) inet: Vec<(Proto, bool, io::Result<Table<InetSocket>>)>,
    pub(in crate::app) unix: Option<io::Result<Table<UnixSocket>>>,
}

/// sock_diag only for columns both sources fill alike: -o's timers come in other
/// units, -e's user of a SYN_RECV socket is 0 in a dump, and JSON carries them all.
fn table_source(config: &Config) -> TableSource {
    let opts = &config.sockets;
    if opts.timers || opts.extend || config.json {
        return TableSource::Proc;
    }
    // Without -a or -l only rows with a remote port print, and a listener never has
    // one: the kernel need not walk the listening hash. (-l cannot narrow the other
    // way: a SYN_SENT socket to port 0 is a "server" to netstat.)
    let tcp_states = match opts.rows {
        Rows::Connected => netlink::inet::PROC_TCP_STATES & !netlink::inet::LISTEN_STATE_BIT,
        Rows::Listening | Rows::All => netlink::inet::PROC_TCP_STATES,
    };
    let own = matches!(config.netns, NetnsChoice::Own);
    TableSource::for_namespace(&config.root, own, tcp_states)
}

/// /proc/net/unix of `dir`, with rows forged by newlines in bound paths repaired from
/// sock_diag where a dump describes that namespace (the live own one, or one this
/// thread entered).
fn read_unix(root: &ProcRoot, dir: &str) -> io::Result<Table<UnixSocket>> {
    let mut table = unix::read_table(root, dir)?;
    if root.is_live() && (dir == "net" || dir.starts_with("thread-self")) {
        match netlink::unix::repair_with_dump(&mut table.rows) {
            Ok(0) => {}
            Ok(n) => output::warn(
                prog(),
                format_args!(
                    "{n} line(s) of {dir}/unix came from a socket path with a newline; \
                     left out (sock_diag has the whole path)"
                ),
            ),
            Err(e) => output::warn(
                prog(),
                format_args!(
                    "sock_diag could not be read to check {dir}/unix for rows forged by \
                     newlines in socket paths ({e})"
                ),
            ),
        }
    }
    Ok(table)
}

pub(in crate::app) fn read_tables(
    root: &ProcRoot,
    dir: &str,
    sel: &Selection,
    source: TableSource,
) -> NsTables {
    let wanted: Vec<(Proto, bool)> = Proto::ALL
        .into_iter()
        .filter(|&p| wants(sel, p))
        .flat_map(|p| [(p, false), (p, true)])
        .filter(|&(_, v6)| if v6 { sel.inet6 } else { sel.inet4 })
        .collect();
    let read_inet = |tables: &[(Proto, bool)]| tables::read_inet_tables(root, dir, tables, source);
    // Reading a table is mostly the kernel formatting it, and TCP is the big one: the
    // other tables are read on a second thread meanwhile. Not for `thread-self/net`
    // (a namespace entered by this thread only), which another thread would not see.
    let (tcp, rest) = wanted.split_at(wanted.partition_point(|&(p, _)| p == Proto::Tcp));
    if dir.starts_with("thread-self") {
        let inet = read_inet(&wanted);
        let unix = sel.unix.then(|| read_unix(root, dir));
        return NsTables { inet, unix };
    }
    let ((rest, unix), mut inet) = crate::threads::join(
        || (read_inet(rest), sel.unix.then(|| read_unix(root, dir))),
        || read_inet(tcp),
    );
    inet.extend(rest);
    NsTables { inet, unix }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    )
}

/// netstat's answer for an asked-for family whose /proc/net table is missing; when
/// the table exists, rnetstat cannot list it (no view for it) and says so instead.
fn unsupported_table(config: &Config, name: &str, file: &str) {
    if config.root.join(&format!("net/{file}")).exists() {
        output::warn(
            prog(),
            format_args!("AF {name} sockets are not listed: rnetstat has no view for them"),
        );
    } else {
        output::warn(
            prog(),
            format_args!("no support for `AF {name}' on this system."),
        );
    }
}

/// With -v and no family chosen, netstat also tries the families rnetstat has no view
/// for (SCTP, and the old link-layer ones after the unix sockets) and names each whose
/// /proc table is missing, as here on any current kernel. Stdout is flushed first so a
/// terminal shows the notices where netstat shows them.
fn report_unsupported(
    config: &Config,
    sel: &Selection,
    families: &[(&str, &str)],
    out: &mut impl Write,
) -> io::Result<()> {
    if !config.verbose || sel.explicit || sel.implied {
        return Ok(());
    }
    out.flush()?;
    for (name, file) in families {
        if !config.root.join(&format!("net/{file}")).exists() {
            output::warn(
                prog(),
                format_args!("no support for `AF {name}' on this system."),
            );
        }
    }
    Ok(())
}

/// Multicast memberships of every namespace, tagged with its index; the status is the
/// primary namespace's.
struct TaggedGroups {
    rows: Vec<(usize, Membership)>,
    status: u8,
}

fn read_groups(config: &Config, namespaces: &[NetNs]) -> io::Result<TaggedGroups> {
    let root = &config.root;
    let mut found = TaggedGroups {
        rows: Vec::new(),
        status: 0,
    };
    for (index, ns) in namespaces.iter().enumerate() {
        match ns.read(root, |dir| {
            crate::app::iface::read_groups(config, root, dir)
        }) {
            Ok(Some(Ok(g))) => {
                if index == 0 {
                    found.status = g.status;
                }
                found.rows.extend(g.rows.into_iter().map(|m| (index, m)));
            }
            Ok(Some(Err(e))) if index == 0 => return Err(e),
            _ => {}
        }
    }
    Ok(found)
}

/// Writes one row with the tag of its captured receive queue before the newline.
/// What every row of the socket view is written with besides its socket.
struct RowWriter<'a> {
    opts: &'a SocketOptions,
    labels: &'a [String],
    /// A capture's queue manifest (rows whose receive queue was dumped are tagged).
    captured: Option<&'a (crate::snapshot::InodeMap<ManifestLine>, usize)>,
}

/// A row of the socket view: an inet or a unix socket of the namespace at `.0`.
trait Row: Sync {
    fn inode(&self) -> u64;
    fn write(
        &self,
        w: &mut impl Write,
        opts: &SocketOptions,
        ctx: &mut RowContext<'_>,
    ) -> io::Result<()>;
}

impl Row for InetSocket {
    fn inode(&self) -> u64 {
        self.inode
    }
    fn write(
        &self,
        w: &mut impl Write,
        opts: &SocketOptions,
        ctx: &mut RowContext<'_>,
    ) -> io::Result<()> {
        view::write_inet_row(w, self, opts, ctx)
    }
}

impl Row for UnixSocket {
    fn inode(&self) -> u64 {
        self.inode
    }
    fn write(
        &self,
        w: &mut impl Write,
        opts: &SocketOptions,
        ctx: &mut RowContext<'_>,
    ) -> io::Result<()> {
        view::write_unix_row(w, self, opts, ctx)
    }
}

impl<'a> RowWriter<'a> {
    fn write<R: Row>(
        &self,
        w: &mut impl Write,
        (index, row): &(usize, R),
        ctx: &mut RowContext<'a>,
    ) -> io::Result<()> {
        ctx.netns = self.labels.get(*index).map(String::as_str);
        match self.captured.and_then(|(m, _)| m.get(&row.inode())) {
            Some(m) => with_queue_tag(w, m, |l| row.write(l, self.opts, ctx)),
            None => row.write(w, self.opts, ctx),
        }
    }
}

/// Rows from which the second half is rendered on a helper thread.
const HALVED_FROM: usize = 4096;

/// Writes `rows`. Past [`HALVED_FROM`] rows the second half is rendered into a
/// buffer on a helper thread while this one writes the first: the text is most of
/// what is left to do once the tables and owners are read, and the other core is idle
/// by then. The helper has a context of its own (the same names and owners; user
/// names cached apart).
fn write_rows<'a, R: Row>(
    out: &mut impl Write,
    rows: &[(usize, R)],
    writer: &RowWriter<'a>,
    ctx: &mut RowContext<'a>,
) -> io::Result<()> {
    if rows.len() < HALVED_FROM {
        return rows.iter().try_for_each(|row| writer.write(out, row, ctx));
    }
    let (head, tail) = rows.split_at(rows.len() / 2);
    let (services, hosts, owners) = (ctx.services, ctx.hosts, ctx.owners);
    let (tail_text, head_written) = crate::threads::join(
        move || {
            let mut users = Users::default();
            let mut theirs = RowContext {
                services,
                hosts,
                users: &mut users,
                owners,
                programs: Default::default(),
                netns: None,
            };
            let mut text = Vec::with_capacity(tail.len() * 128);
            tail.iter()
                .try_for_each(|row| writer.write(&mut text, row, &mut theirs))
                .map(|()| text)
        },
        || head.iter().try_for_each(|row| writer.write(out, row, ctx)),
    );
    head_written?;
    out.write_all(&tail_text?)
}

fn with_queue_tag(
    out: &mut impl Write,
    m: &crate::queues::ManifestLine,
    render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(160);
    render(&mut line)?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    line.push(b' ');
    line.extend_from_slice(crate::queues::row_tag(m).as_bytes());
    line.push(b'\n');
    out.write_all(&line)
}

/// The selected unix rows of every namespace, warnings printed, with the status (1
/// when the primary namespace has no unix table and unix sockets were asked for) and
/// how many of the tables' lines a path with newlines broke off (netstat, reading by
/// lines, warns once for each).
fn collect_unix(
    tables: &mut [(usize, NsTables)],
    sel: &Selection,
    opts: &SocketOptions,
    rows: &mut Vec<(usize, UnixSocket)>,
) -> (u8, usize) {
    let mut broken_lines = 0;
    for (index, t) in tables.iter_mut() {
        match t.unix.take() {
            Some(Ok(table)) => {
                output::parse_warnings(prog(), &table.warnings);
                broken_lines += table
                    .rows
                    .iter()
                    .filter_map(|s| s.path.as_deref())
                    .map(|p| p.iter().filter(|&&b| b == b'\n').count())
                    .sum::<usize>();
                rows.extend(
                    table
                        .rows
                        .into_iter()
                        .filter(|s| view::unix_selected(s, opts.rows))
                        .map(|s| (*index, s)),
                );
            }
            // A table that is there but refused (a FIFO or a link in a capture, one
            // over the size cap) is an error that says why, not a missing family.
            Some(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
                output::warn(prog(), format_args!("unix socket table: {e}"));
                return (1, broken_lines);
            }
            Some(Err(_)) if *index == 0 && sel.explicit => {
                output::warn(prog(), "no support for `AF UNIX' on this system.");
                return (1, broken_lines);
            }
            Some(Err(_)) | None => {}
        }
    }
    (0, broken_lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{HostNames, Services};

    /// Rows past the halving point come out as one thread writes them, in order.
    #[test]
    fn halved_rows_come_out_as_written_in_one_pass() {
        let mut table = b"Num       RefCount Protocol Flags    Type St Inode Path\n".to_vec();
        for i in 0..HALVED_FROM as u64 + 7 {
            let line = format!(
                "0000000000000000: 00000002 00000000 00010000 0001 01 {} /run/s{i}\n",
                1000 + i
            );
            table.extend_from_slice(line.as_bytes());
        }
        let rows: Vec<(usize, UnixSocket)> = unix::parse_table(&table, "unix")
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, s)| (i % 2, s))
            .collect();
        assert!(rows.len() > HALVED_FROM);
        let labels = vec!["ns0".to_string(), "ns1".to_string()];
        let opts = SocketOptions {
            netns_column: true,
            ..SocketOptions::default()
        };
        let (services, hosts) = (Services::default(), HostNames::default());
        let mut users = Users::default();
        let mut ctx = RowContext {
            services: &services,
            hosts: &hosts,
            users: &mut users,
            owners: None,
            programs: Default::default(),
            netns: None,
        };
        let writer = RowWriter {
            opts: &opts,
            labels: &labels,
            captured: None,
        };
        let mut one_pass = Vec::new();
        for row in &rows {
            writer.write(&mut one_pass, row, &mut ctx).unwrap();
        }
        let mut halved = Vec::new();
        write_rows(&mut halved, &rows, &writer, &mut ctx).unwrap();
        let text = String::from_utf8(one_pass).unwrap();
        assert_eq!(String::from_utf8(halved).unwrap(), text);
        assert_eq!(text.lines().count(), rows.len());
        assert!(
            text.lines().last().unwrap().contains("/run/s4102 ns0"),
            "{:?}",
            text.lines().last()
        );
    }
}
