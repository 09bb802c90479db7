//! `rss -E --all-netns`: the destroy events of every network namespace, those made
//! while rss runs included. One event socket per namespace, opened by a thread inside
//! it; the namespaces are listed again (crate::netns::discover: /proc/*/ns/net and
//! /run/netns) once a second, or less often when a listing costs more than a
//! twentieth of that time in CPU, so following costs at most about 5% of a core on
//! a host with very many processes. inotify on /run/netns would not save the rescan: `ip
//! netns add` creates the entry before it bind-mounts the namespace on it, and a
//! namespace only a process holds has no file to watch.
//!
//! An event socket keeps its namespace alive, so one whose namespace is no longer
//! listed (its last process gone, `ip netns del`) is read out and closed after two
//! listings in a row without it.

use super::{output, prog, refused_status, select, EventShower};
use crate::cli::ss::{Options, Tables};
use crate::netns::NetNs;
use crate::proc::ProcRoot;
use crate::select::ss_filter::Filter;
use crate::ss::events::{self, Events, Refused};
use crate::ss::select::Selection;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// The shortest time between two listings of the namespaces.
const RESCAN: Duration = Duration::from_secs(1);
/// A listing may take at most 1/SLACK of the time until the next one.
const SLACK: u32 = 20;
/// Listings in a row without a namespace before its event socket is closed: one
/// more than needed, so the events of its last sockets (sent by a kernel work
/// queue, maybe after the last process left) are read before.
const MISSES: u8 = 2;
/// Datagrams read from a socket about to close, at most (its namespace may still
/// live, held by a descriptor no listing sees).
const LAST_READS: usize = 64;

/// Follows every namespace until a signal ends rss: text rows under a `Netns:
/// NAME` line whenever the namespace changes, or `ss_event` lines naming their
/// namespace. 255 (with ss's message) when no group applies or the own namespace's
/// socket cannot be bound, as plain -E.
pub(super) fn all(
    o: &Options,
    words: &[OsString],
    root: &ProcRoot,
    out: &mut impl Write,
) -> io::Result<u8> {
    let Selection {
        tables,
        filter,
        options,
    } = match select(o, words, out)? {
        Ok(s) => s,
        Err(status) => return Ok(status),
    };
    let o = &options;
    let mut following = Following {
        root,
        o,
        tables: &tables,
        filter: &filter,
        watched: Vec::new(),
        warned: HashSet::new(),
        unlisted: false,
    };
    if let Some(status) = following.first()? {
        return Ok(status);
    }
    let mut shower = EventShower::new(o, &tables, out)?;
    let mut next_scan = Instant::now() + RESCAN;
    loop {
        let wait = next_scan.saturating_duration_since(Instant::now());
        following.wait(wait, &mut shower, out)?;
        if Instant::now() >= next_scan {
            // The listing's cost is the CPU time it takes (user and system), not
            // the wall-clock time a busy machine stretches it to.
            let started = cpu_time();
            following.rescan(&mut shower, out)?;
            let cost = cpu_time().saturating_sub(started);
            next_scan = Instant::now() + RESCAN.max(cost * SLACK);
        }
    }
}

/// The CPU time this thread has used.
fn cpu_time() -> Duration {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// One followed namespace.
struct Watched<'a> {
    ns: NetNs,
    events: Events<'a>,
    /// Listings in a row that did not find it.
    missed: u8,
}

struct Following<'a> {
    root: &'a ProcRoot,
    o: &'a Options,
    tables: &'a Tables,
    filter: &'a Filter,
    watched: Vec<Watched<'a>>,
    /// Namespaces (by inode) whose socket could not be opened, said once; retried
    /// at every listing, forgotten when no longer listed.
    warned: HashSet<u64>,
    /// The last listing failed (said once until one succeeds).
    unlisted: bool,
}

impl<'a> Following<'a> {
    /// The namespaces there are at start, as the static --all-netns walk visits
    /// them; `Some(status)` when rss cannot follow at all.
    fn first(&mut self) -> io::Result<Option<u8>> {
        let (o, tables, filter) = (self.o, self.tables, self.filter);
        let mut status = None;
        let (watched, warned) = (&mut self.watched, &mut self.warned);
        crate::ss::each_namespace(
            self.root,
            |_| Ok(events::open(o, tables, filter)),
            |ns, result| {
                match result {
                    Ok(Ok(events)) => watched.push(Watched {
                        ns: ns.clone(),
                        events,
                        missed: 0,
                    }),
                    // The same tables in every namespace: no group in one, none in any.
                    Ok(Err(refused @ Refused::NoGroup)) => {
                        status = Some(refused_status(&refused, None));
                    }
                    Ok(Err(refused)) if ns.own => status = Some(refused_status(&refused, None)),
                    // Said once: the rescans retry it quietly.
                    Ok(Err(refused)) => {
                        warned.extend(ns.inode);
                        refused_status(&refused, Some(ns));
                    }
                    Err(e) => {
                        warned.extend(ns.inode);
                        output::warn(prog(), format_args!("{}: {e}", ns.label()));
                    }
                }
                Ok(())
            },
        )?;
        Ok(status)
    }

    /// Shows the events that come within `wait`.
    fn wait(
        &mut self,
        wait: Duration,
        shower: &mut EventShower<'_>,
        out: &mut impl Write,
    ) -> io::Result<()> {
        let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds: Vec<PollFd<'_>> = self
            .watched
            .iter()
            .map(|w| PollFd::new(w.events.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, timeout) {
            Err(nix::errno::Errno::EINTR) => return Ok(()),
            r => r.map_err(io::Error::from)?,
        };
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        for i in ready {
            let w = &mut self.watched[i];
            // One namespace's loss ends no other's following (ss follows one).
            shower.next(&mut w.events, &w.ns, true, out)?;
        }
        Ok(())
    }

    /// Lists the namespaces again: follows the new ones, renames the followed ones
    /// (a name given or taken since), closes those missing from the last listings.
    fn rescan(&mut self, shower: &mut EventShower<'_>, out: &mut impl Write) -> io::Result<()> {
        let listed = match crate::netns::discover(self.root) {
            Ok(listed) => {
                self.unlisted = false;
                listed
            }
            Err(e) => {
                if !std::mem::replace(&mut self.unlisted, true) {
                    out.flush()?;
                    output::warn(
                        prog(),
                        format_args!("cannot list the network namespaces: {e}"),
                    );
                }
                return Ok(());
            }
        };
        for w in &mut self.watched {
            w.missed = w.missed.saturating_add(1);
        }
        let mut fresh = Vec::new();
        for ns in listed {
            match self.watched.iter_mut().find(|w| w.ns.inode == ns.inode) {
                Some(w) => {
                    w.missed = 0;
                    w.ns.name = ns.name;
                }
                None => fresh.push(ns),
            }
        }
        let inodes: HashSet<u64> = fresh.iter().filter_map(|ns| ns.inode).collect();
        self.warned
            .retain(|i| inodes.contains(i) || self.watched.iter().any(|w| w.ns.inode == Some(*i)));
        self.close_missing(shower, out)?;
        for ns in fresh {
            self.open(ns, out)?;
        }
        Ok(())
    }

    /// Reads out and closes the sockets of namespaces missing [`MISSES`] times (never
    /// the own one).
    fn close_missing(
        &mut self,
        shower: &mut EventShower<'_>,
        out: &mut impl Write,
    ) -> io::Result<()> {
        let mut i = 0;
        while i < self.watched.len() {
            let w = &mut self.watched[i];
            if w.ns.own || w.missed < MISSES {
                i += 1;
                continue;
            }
            for _ in 0..LAST_READS {
                let mut fd = [PollFd::new(w.events.as_fd(), PollFlags::POLLIN)];
                let ready = poll(&mut fd, PollTimeout::ZERO).unwrap_or(0) > 0;
                if !ready {
                    break;
                }
                shower.next(&mut w.events, &w.ns, true, out)?;
            }
            self.watched.remove(i);
        }
        Ok(())
    }

    /// Opens an event socket inside a namespace found since the last listing.
    fn open(&mut self, ns: NetNs, out: &mut impl Write) -> io::Result<()> {
        let (o, tables, filter) = (self.o, self.tables, self.filter);
        let Some(result) =
            crate::ss::in_namespace(self.root, &ns, |_| Ok(events::open(o, tables, filter)))
        else {
            return Ok(());
        };
        let failed = match result {
            Ok(Ok(events)) => {
                self.watched.push(Watched {
                    ns,
                    events,
                    missed: 0,
                });
                return Ok(());
            }
            Ok(Err(refused)) => Err(refused),
            Err(e) => Ok(e),
        };
        if ns.inode.is_some_and(|i| !self.warned.insert(i)) {
            return Ok(());
        }
        out.flush()?;
        match failed {
            Err(refused) => {
                refused_status(&refused, Some(&ns));
            }
            Ok(e) => output::warn(prog(), format_args!("{}: {e}", ns.label())),
        }
        Ok(())
    }
}
