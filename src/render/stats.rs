//! `netstat -s`: the counters of /proc/net/snmp, /proc/net/netstat, /proc/net/sctp/snmp
//! and /proc/net/snmp6 turned into the sentences of net-tools 2.10 (statistics.c).
//!
//! netstat looks every key up with bsearch + strcmp in per-section template tables that
//! are meant to be sorted but are not quite (`Forwarding` sorts after `ForwDatagrams`,
//! `TCPDSACKUndo` after `TCPDSackUndo`, …). Keys whose probe path goes wrong are never
//! found and print as `Key: value`. To print the same lines we keep the tables in
//! netstat's order and probe them the way glibc's bsearch does.

use crate::escape::escape;
use crate::proc::snmp::Section;
use std::cmp::Ordering;
use std::io::{self, Write};

/// Which known sections are printed (`-t`, `-u`, `-w`; all by default). Sections no
/// table knows (IcmpMsg, UdpLite, IpExt, …) are always printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sections {
    /// Ip, Icmp, Ip6, Icmp6 (`-w`).
    pub ip: bool,
    /// Tcp, TcpExt (`-t`).
    pub tcp: bool,
    /// Udp, Udp6 (`-u`).
    pub udp: bool,
    /// Sctp (only when no protocol is selected).
    pub sctp: bool,
}

impl Sections {
    pub const ALL: Sections = Sections {
        ip: true,
        tcp: true,
        udp: true,
        sctp: true,
    };

    fn wants(self, group: Group) -> bool {
        match group {
            Group::Ip => self.ip,
            Group::Tcp => self.tcp,
            Group::Udp => self.udp,
            Group::Sctp => self.sctp,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Printed always.
    Number,
    /// Printed when not zero.
    OptNumber,
    /// An ICMP histogram row (printed when not zero) under an `ICMP input histogram:` title.
    InHistogram,
    /// Same, under `ICMP output histogram:`.
    OutHistogram,
    /// Found but never printed: configuration values (DefaultTTL, Forwarding,
    /// RtoAlgorithm) and keys with an empty sentence (MaxConn, RtoMin, RtoMax).
    Hidden,
}

use Kind::{InHistogram, Number, OptNumber, OutHistogram};

struct Template {
    key: &'static str,
    /// The sentence; `{}` is where the value goes.
    text: &'static str,
    kind: Kind,
}

const fn t(key: &'static str, text: &'static str, kind: Kind) -> Template {
    Template { key, text, kind }
}

const fn hidden(key: &'static str) -> Template {
    t(key, "", Kind::Hidden)
}

// The tables in netstat's order, which the lookup depends on. Keys are SNMP MIB names;
// note the trailing space of "Icmp6OutRouterAdvertisements ", kept because netstat has
// it (that key is never found).

const IP: &[Template] = &[
    hidden("DefaultTTL"),
    hidden("Forwarding"),
    t("ForwDatagrams", "{} forwarded", Number),
    t("FragCreates", "{} fragments created", OptNumber),
    t(
        "FragFails",
        "{} outgoing packets failed fragmentation",
        OptNumber,
    ),
    t("FragOKs", "{} outgoing packets fragmented ok", OptNumber),
    t("InAddrErrors", "{} with invalid addresses", OptNumber),
    t("InDelivers", "{} incoming packets delivered", Number),
    t("InDiscards", "{} incoming packets discarded", Number),
    t("InHdrErrors", "{} with invalid headers", OptNumber),
    t("InReceives", "{} total packets received", Number),
    t("InUnknownProtos", "{} with unknown protocol", OptNumber),
    t("OutDiscards", "{} outgoing packets dropped", OptNumber),
    t(
        "OutNoRoutes",
        "{} dropped because of missing route",
        OptNumber,
    ),
    t("OutRequests", "{} requests sent out", Number),
    t("ReasmFails", "{} packet reassemblies failed", OptNumber),
    t("ReasmOKs", "{} packets reassembled ok", OptNumber),
    t("ReasmReqds", "{} reassemblies required", OptNumber),
    t(
        "ReasmTimeout",
        "{} fragments dropped after timeout",
        OptNumber,
    ),
];

const IP6: &[Template] = &[
    t("Ip6FragCreates", "{} fragments created", OptNumber),
    t(
        "Ip6FragFails",
        "{} outgoing packets failed fragmentation",
        OptNumber,
    ),
    t("Ip6FragOKs", "{} outgoing packets fragmented ok", OptNumber),
    t("Ip6InAddrErrors", "{} with invalid addresses", OptNumber),
    t("Ip6InDelivers", "{} incoming packets delivered", Number),
    t("Ip6InDiscards", "{} incoming packets discarded", Number),
    t("Ip6InHdrErrors", "{} with invalid headers", OptNumber),
    t("Ip6InMcastPkts", "{} incoming multicast packets", OptNumber),
    t(
        "Ip6InNoRoutes",
        "{} incoming packets with no route",
        OptNumber,
    ),
    t("Ip6InReceives", "{} total packets received", Number),
    t("Ip6InTooBigErrors", "{} with packets too big", OptNumber),
    t("Ip6InTruncatedPkts", "{} with truncated packets", OptNumber),
    t("Ip6InUnknownProtos", "{} with unknown protocol", OptNumber),
    t("Ip6OutDiscards", "{} outgoing packets dropped", OptNumber),
    t("Ip6OutForwDatagrams", "{} forwarded", Number),
    t(
        "Ip6OutMcastPkts",
        "{} outgoing multicast packets",
        OptNumber,
    ),
    t(
        "Ip6OutNoRoutes",
        "{} dropped because of missing route",
        OptNumber,
    ),
    t("Ip6OutRequests", "{} requests sent out", Number),
    t("Ip6ReasmFails", "{} packet reassemblies failed", OptNumber),
    t("Ip6ReasmOKs", "{} packets reassembled ok", OptNumber),
    t("Ip6ReasmReqds", "{} reassemblies required", OptNumber),
    t(
        "Ip6ReasmTimeout",
        "{} fragments dropped after timeout",
        OptNumber,
    ),
];

const ICMP: &[Template] = &[
    t("InAddrMaskReps", "address mask replies: {}", InHistogram),
    t("InAddrMasks", "address mask request: {}", InHistogram),
    t("InDestUnreachs", "destination unreachable: {}", InHistogram),
    t("InEchoReps", "echo replies: {}", InHistogram),
    t("InEchos", "echo requests: {}", InHistogram),
    t("InErrors", "{} input ICMP message failed", Number),
    t("InMsgs", "{} ICMP messages received", Number),
    t("InParmProbs", "wrong parameters: {}", InHistogram),
    t("InRedirects", "redirects: {}", InHistogram),
    t("InSrcQuenchs", "source quenches: {}", InHistogram),
    t("InTimeExcds", "timeout in transit: {}", InHistogram),
    t("InTimestampReps", "timestamp reply: {}", InHistogram),
    t("InTimestamps", "timestamp request: {}", InHistogram),
    t("OutAddrMaskReps", "address mask replies: {}", OutHistogram),
    t("OutAddrMasks", "address mask requests: {}", OutHistogram),
    t(
        "OutDestUnreachs",
        "destination unreachable: {}",
        OutHistogram,
    ),
    t("OutEchoReps", "echo replies: {}", OutHistogram),
    t("OutEchos", "echo requests: {}", OutHistogram),
    t("OutErrors", "{} ICMP messages failed", Number),
    t("OutMsgs", "{} ICMP messages sent", Number),
    t("OutParmProbs", "wrong parameters: {}", OutHistogram),
    t("OutRedirects", "redirect: {}", OutHistogram),
    t("OutSrcQuenchs", "source quench: {}", OutHistogram),
    t("OutTimeExcds", "time exceeded: {}", OutHistogram),
    t("OutTimestampReps", "timestamp replies: {}", OutHistogram),
    t("OutTimestamps", "timestamp requests: {}", OutHistogram),
];

const ICMP6: &[Template] = &[
    t(
        "Icmp6InDestUnreachs",
        "destination unreachable: {}",
        InHistogram,
    ),
    t("Icmp6InEchoReplies", "echo replies: {}", InHistogram),
    t("Icmp6InEchos", "echo requests: {}", InHistogram),
    t("Icmp6InErrors", "{} input ICMP message failed", Number),
    t(
        "Icmp6InGroupMembQueries",
        "group member queries: {}",
        InHistogram,
    ),
    t(
        "Icmp6InGroupMembReductions",
        "group member reductions: {}",
        InHistogram,
    ),
    t(
        "Icmp6InGroupMembResponses",
        "group member responses: {}",
        InHistogram,
    ),
    t("Icmp6InMsgs", "{} ICMP messages received", Number),
    t(
        "Icmp6InNeighborAdvertisements",
        "neighbour advertisement: {}",
        InHistogram,
    ),
    t(
        "Icmp6InNeighborSolicits",
        "neighbour solicits: {}",
        InHistogram,
    ),
    t("Icmp6InParmProblems", "parameter problem: {}", InHistogram),
    t("Icmp6InPktTooBigs", "packets too big: {}", InHistogram),
    t("Icmp6InRedirects", "redirects: {}", InHistogram),
    t(
        "Icmp6InRouterAdvertisements",
        "router advertisement: {}",
        InHistogram,
    ),
    t("Icmp6InRouterSolicits", "router solicits: {}", InHistogram),
    t(
        "Icmp6InTimeExcds",
        "received ICMPv6 time exceeded: {}",
        InHistogram,
    ),
    t(
        "Icmp6OutDestUnreachs",
        "destination unreachable: {}",
        OutHistogram,
    ),
    t("Icmp6OutEchoReplies", "echo replies: {}", OutHistogram),
    t("Icmp6OutEchos", "echo requests: {}", OutHistogram),
    t(
        "Icmp6OutGroupMembQueries",
        "group member queries: {}",
        OutHistogram,
    ),
    t(
        "Icmp6OutGroupMembReductions",
        "group member reductions: {}",
        OutHistogram,
    ),
    t(
        "Icmp6OutGroupMembResponses",
        "group member responses: {}",
        OutHistogram,
    ),
    t("Icmp6OutMsgs", "{} ICMP messages sent", Number),
    t(
        "Icmp6OutNeighborAdvertisements",
        "neighbor advertisements: {}",
        OutHistogram,
    ),
    t(
        "Icmp6OutNeighborSolicits",
        "neighbor solicits: {}",
        OutHistogram,
    ),
    t(
        "Icmp6OutParmProblems",
        "parameter problem: {}",
        OutHistogram,
    ),
    t("Icmp6OutPktTooBigs", "packets too big: {}", OutHistogram),
    t("Icmp6OutRedirects", "redirects: {}", OutHistogram),
    t(
        "Icmp6OutRouterAdvertisements ",
        "router advertisement: {}",
        OutHistogram,
    ),
    t(
        "Icmp6OutRouterSolicits",
        "router solicits: {}",
        OutHistogram,
    ),
    t(
        "Icmp6OutTimeExcds",
        "sent ICMPv6 time exceeded: {}",
        OutHistogram,
    ),
];

const TCP: &[Template] = &[
    t("ActiveOpens", "{} active connection openings", Number),
    t("AttemptFails", "{} failed connection attempts", Number),
    t("CurrEstab", "{} connections established", Number),
    t("EstabResets", "{} connection resets received", Number),
    t("InErrs", "{} bad segments received", Number),
    t("InSegs", "{} segments received", Number),
    hidden("MaxConn"),
    t("OutRsts", "{} resets sent", Number),
    t("OutSegs", "{} segments sent out", Number),
    t("PassiveOpens", "{} passive connection openings", Number),
    t("RetransSegs", "{} segments retransmitted", Number),
    hidden("RtoAlgorithm"),
    hidden("RtoMax"),
    hidden("RtoMin"),
];

const UDP: &[Template] = &[
    t("InDatagrams", "{} packets received", Number),
    t("InErrors", "{} packet receive errors", Number),
    t("NoPorts", "{} packets to unknown port received", Number),
    t("OutDatagrams", "{} packets sent", Number),
    t("RcvbufErrors", "{} receive buffer errors", Number),
    t("SndbufErrors", "{} send buffer errors", Number),
];

const UDP6: &[Template] = &[
    t("Udp6InDatagrams", "{} packets received", Number),
    t("Udp6InErrors", "{} packet receive errors", Number),
    t("Udp6NoPorts", "{} packets to unknown port received", Number),
    t("Udp6OutDatagrams", "{} packets sent", Number),
];

const TCP_EXT: &[Template] = &[
    t(
        "DelayedACKLocked",
        "{} delayed acks further delayed because of locked socket",
        OptNumber,
    ),
    t(
        "DelayedACKLost",
        "Quick ack mode was activated {} times",
        OptNumber,
    ),
    t("DelayedACKs", "{} delayed acks sent", OptNumber),
    t(
        "EmbryonicRsts",
        "{} resets received for embryonic SYN_RECV sockets",
        OptNumber,
    ),
    t(
        "ListenDrops",
        "{} SYNs to LISTEN sockets dropped",
        OptNumber,
    ),
    t(
        "ListenOverflows",
        "{} times the listen queue of a socket overflowed",
        OptNumber,
    ),
    t(
        "LockDroppedIcmps",
        "{} ICMP packets dropped because socket was locked",
        OptNumber,
    ),
    t(
        "OfoPruned",
        "{} packets dropped from out-of-order queue because of socket buffer overrun",
        OptNumber,
    ),
    t(
        "OutOfWindowIcmps",
        "{} ICMP packets dropped because they were out-of-window",
        OptNumber,
    ),
    t(
        "PAWSActive",
        "{} active connections rejected because of time stamp",
        OptNumber,
    ),
    t(
        "PAWSEstab",
        "{} packets rejected in established connections because of timestamp",
        OptNumber,
    ),
    t(
        "PAWSPassive",
        "{} passive connections rejected because of time stamp",
        OptNumber,
    ),
    t(
        "PruneCalled",
        "{} packets pruned from receive queue because of socket buffer overrun",
        OptNumber,
    ),
    t(
        "RcvPruned",
        "{} packets pruned from receive queue",
        OptNumber,
    ),
    t(
        "SockMallocOOM",
        "Ran {} times out of system memory during packet sending",
        OptNumber,
    ),
    t(
        "SyncookiesFailed",
        "{} invalid SYN cookies received",
        OptNumber,
    ),
    t("SyncookiesRecv", "{} SYN cookies received", OptNumber),
    t("SyncookiesSent", "{} SYN cookies sent", OptNumber),
    t(
        "TCPAbortFailed",
        "{} times unable to send RST due to no memory",
        OptNumber,
    ),
    t(
        "TCPAbortOnClose",
        "{} connections reset due to early user close",
        OptNumber,
    ),
    t(
        "TCPAbortOnData",
        "{} connections reset due to unexpected data",
        OptNumber,
    ),
    t(
        "TCPAbortOnLinger",
        "{} connections aborted after user close in linger timeout",
        OptNumber,
    ),
    t(
        "TCPAbortOnMemory",
        "{} connections aborted due to memory pressure",
        OptNumber,
    ),
    t(
        "TCPAbortOnSyn",
        "{} connections reset due to unexpected SYN",
        OptNumber,
    ),
    t(
        "TCPAbortOnTimeout",
        "{} connections aborted due to timeout",
        OptNumber,
    ),
    t(
        "TCPDirectCopyFromBacklog",
        "{} bytes directly in process context from backlog",
        OptNumber,
    ),
    t(
        "TCPDirectCopyFromPrequeue",
        "{} bytes directly received in process context from prequeue",
        OptNumber,
    ),
    t(
        "TCPDSACKOfoRecv",
        "{} DSACKs for out of order packets received",
        OptNumber,
    ),
    t(
        "TCPDSACKOfoSent",
        "{} DSACKs sent for out of order packets",
        OptNumber,
    ),
    t(
        "TCPDSACKOldSent",
        "{} DSACKs sent for old packets",
        OptNumber,
    ),
    t("TCPDSACKRecv", "{} DSACKs received", OptNumber),
    t(
        "TCPDSackUndo",
        "{} congestion window recovered without slow start using DSACK",
        OptNumber,
    ),
    t(
        "TCPDSACKUndo",
        "{} congestion windows recovered without slow start by DSACK",
        OptNumber,
    ),
    t(
        "TCPFACKReorder",
        "Detected reordering {} times using FACK",
        OptNumber,
    ),
    t("TCPFastRetrans", "{} fast retransmits", OptNumber),
    t("TCPForwardRetrans", "{} forward retransmits", OptNumber),
    t(
        "TCPFullUndo",
        "{} congestion windows fully recovered without slow start",
        OptNumber,
    ),
    t("TCPHPAcks", "{} predicted acknowledgments", OptNumber),
    t("TCPHPHits", "{} packet headers predicted", Number),
    t(
        "TCPHPHitsToUser",
        "{} packet headers predicted and directly queued to user",
        OptNumber,
    ),
    t("TCPLossFailures", "{} timeouts in loss state", OptNumber),
    t("TCPLoss", "{} TCP data loss events", OptNumber),
    t(
        "TCPLossUndo",
        "{} congestion windows recovered without slow start after partial ack",
        OptNumber,
    ),
    t("TCPLostRetransmits", "{} retransmits lost", OptNumber),
    t(
        "TCPMemoryPressures",
        "TCP ran low on memory {} times",
        OptNumber,
    ),
    t(
        "TCPPartialUndo",
        "{} congestion windows partially recovered using Hoe heuristic",
        OptNumber,
    ),
    t(
        "TCPPrequeued",
        "{} packets directly queued to recvmsg prequeue",
        OptNumber,
    ),
    t(
        "TCPPrequeueDropped",
        "{} packets dropped from prequeue",
        OptNumber,
    ),
    t(
        "TCPPureAcks",
        "{} acknowledgments not containing data payload received",
        OptNumber,
    ),
    t(
        "TCPRcvCollapsed",
        "{} packets collapsed in receive queue due to low socket buffer",
        OptNumber,
    ),
    t(
        "TCPRenoFailures",
        "{} timeouts after reno fast retransmit",
        OptNumber,
    ),
    t(
        "TCPRenoRecoveryFailed",
        "{} reno fast retransmits failed",
        OptNumber,
    ),
    t(
        "TCPRenoRecoveryFail",
        "{} classic Reno fast retransmits failed",
        OptNumber,
    ),
    t(
        "TCPRenoRecovery",
        "{} times recovered from packet loss due to fast retransmit",
        OptNumber,
    ),
    t(
        "TCPRenoReorder",
        "Detected reordering {} times using reno fast retransmit",
        OptNumber,
    ),
    t(
        "TCPSackFailures",
        "{} timeouts after SACK recovery",
        OptNumber,
    ),
    t(
        "TCPSackRecoveryFail",
        "{} SACK retransmits failed",
        OptNumber,
    ),
    t(
        "TCPSackRecovery",
        "{} times recovered from packet loss by selective acknowledgements",
        OptNumber,
    ),
    t("TCPSACKReneging", "{} bad SACK blocks received", OptNumber),
    t(
        "TCPSACKReorder",
        "Detected reordering {} times using SACK",
        OptNumber,
    ),
    t(
        "TCPSchedulerFailed",
        "{} times receiver scheduled too late for direct processing",
        OptNumber,
    ),
    t(
        "TCPSlowStartRetrans",
        "{} retransmits in slow start",
        OptNumber,
    ),
    t("TCPTimeouts", "{} other TCP timeouts", OptNumber),
    t(
        "TCPTSReorder",
        "Detected reordering {} times using time stamp",
        OptNumber,
    ),
    t(
        "TWKilled",
        "{} TCP sockets finished time wait in slow timer",
        OptNumber,
    ),
    t(
        "TW",
        "{} TCP sockets finished time wait in fast timer",
        OptNumber,
    ),
    t(
        "TWRecycled",
        "{} time wait sockets recycled by time stamp",
        OptNumber,
    ),
];

const SCTP: &[Template] = &[
    t("SctpAborteds", "{} Number of Aborteds ", Number),
    t("SctpActiveEstabs", "{} Active Associations", Number),
    t(
        "SctpChecksumErrors",
        "{} Number of Packets with invalid Checksum",
        Number,
    ),
    t("SctpCurrEstab", "{} Current Associations", Number),
    t(
        "SctpFragUsrMsgs",
        "{} Number of messages fragmented",
        Number,
    ),
    t(
        "SctpInCtrlChunks",
        "{} Number of control chunks received",
        Number,
    ),
    t(
        "SctpInOrderChunks",
        "{} Number of ordered chunks received",
        Number,
    ),
    t(
        "SctpInSCTPPacks",
        "{} Number of SCTP packets received",
        Number,
    ),
    t(
        "SctpInUnorderChunks",
        "{} Number of Unordered chunks received",
        Number,
    ),
    t(
        "SctpOutCtrlChunks",
        "{} Number of control chunks sent",
        Number,
    ),
    t("SctpOutOfBlues", "{} Number of Out of Blue packets", Number),
    t(
        "SctpOutOrderChunks",
        "{} Number of ordered chunks sent",
        Number,
    ),
    t("SctpOutSCTPPacks", "{} Number of SCTP packets sent", Number),
    t(
        "SctpOutUnorderChunks",
        "{} Number of Unordered chunks sent",
        Number,
    ),
    t("SctpPassiveEstabs", "{} Passive Associations", Number),
    t(
        "SctpReasmUsrMsgs",
        "{} Number of messages reassembled ",
        Number,
    ),
    t(
        "SctpShutdowns",
        "{} Number of Graceful Terminations",
        Number,
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Ip,
    Tcp,
    Udp,
    Sctp,
}

struct KnownSection {
    name: &'static str,
    templates: &'static [Template],
    group: Group,
}

const fn known(name: &'static str, templates: &'static [Template], group: Group) -> KnownSection {
    KnownSection {
        name,
        templates,
        group,
    }
}

const INET_SECTIONS: &[KnownSection] = &[
    known("Ip", IP, Group::Ip),
    known("Icmp", ICMP, Group::Ip),
    known("Tcp", TCP, Group::Tcp),
    known("Udp", UDP, Group::Udp),
    known("Sctp", SCTP, Group::Sctp),
    known("TcpExt", TCP_EXT, Group::Tcp),
];

const INET6_SECTIONS: &[KnownSection] = &[
    known("Ip6", IP6, Group::Ip),
    known("Icmp6", ICMP6, Group::Ip),
    known("Udp6", UDP6, Group::Udp),
    known("Tcp6", TCP, Group::Tcp),
];

/// The set of tables a file's sections are looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tables {
    /// snmp, netstat, sctp/snmp.
    Inet,
    /// snmp6.
    Inet6,
}

impl Tables {
    fn sections(self) -> &'static [KnownSection] {
        match self {
            Tables::Inet => INET_SECTIONS,
            Tables::Inet6 => INET6_SECTIONS,
        }
    }
}

/// glibc's bsearch with strcmp as the comparison, probe for probe, so that the keys it
/// misses in the unsorted tables are missed here too.
fn lookup<'t>(templates: &'t [Template], key: &[u8]) -> Option<&'t Template> {
    let (mut low, mut high) = (0, templates.len());
    while low < high {
        let middle = (low + high) / 2;
        let probe = templates.get(middle)?;
        match key.cmp(probe.key.as_bytes()) {
            Ordering::Less => high = middle,
            Ordering::Greater => low = middle + 1,
            Ordering::Equal => return Some(probe),
        }
    }
    None
}

/// What the last entry found was; it sets the indent of unknown keys and decides
/// whether a histogram title is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    Plain,
    InHistogram,
    OutHistogram,
}

impl Position {
    fn indent(self) -> usize {
        match self {
            Position::Plain => 4,
            Position::InHistogram | Position::OutHistogram => 8,
        }
    }
}

/// Prints sections one after another. The position carries over from section to
/// section and file to file, as netstat's does: only a known section resets it, so the
/// unknown `IcmpMsg` after `Icmp`'s output histogram is indented by 8.
pub struct StatsWriter {
    sections: Sections,
    position: Position,
}

impl StatsWriter {
    pub fn new(sections: Sections) -> Self {
        StatsWriter {
            sections,
            position: Position::Plain,
        }
    }

    /// Prints every section of one file.
    pub fn write_all(
        &mut self,
        out: &mut impl Write,
        tables: Tables,
        sections: &[Section],
    ) -> io::Result<()> {
        sections
            .iter()
            .try_for_each(|s| self.write_section(out, tables, s))
    }

    pub fn write_section(
        &mut self,
        out: &mut impl Write,
        tables: Tables,
        section: &Section,
    ) -> io::Result<()> {
        let known = tables
            .sections()
            .iter()
            .find(|k| k.name.as_bytes() == section.name.as_slice());
        let templates: &[Template] = match known {
            Some(k) => {
                let wanted = self.sections.wants(k.group);
                self.position = Position::Plain;
                if !wanted {
                    return Ok(());
                }
                k.templates
            }
            None => &[],
        };
        writeln!(out, "{}:", escape(&section.name))?;
        for counter in &section.counters {
            self.write_counter(out, templates, &counter.key, counter.value.as_wrapped_u64())?;
        }
        Ok(())
    }

    fn write_counter(
        &mut self,
        out: &mut impl Write,
        templates: &[Template],
        key: &[u8],
        value: u64,
    ) -> io::Result<()> {
        let Some(template) = lookup(templates, key) else {
            if value != 0 {
                let indent = self.position.indent();
                writeln!(out, "{:indent$}{}: {value}", "", escape(key))?;
            }
            return Ok(());
        };
        let (position, shown) = match template.kind {
            Kind::Hidden => return Ok(()),
            Number => (Position::Plain, true),
            OptNumber => (Position::Plain, value != 0),
            InHistogram => (Position::InHistogram, value != 0),
            OutHistogram => (Position::OutHistogram, value != 0),
        };
        if position != Position::Plain && position != self.position {
            let title = match position {
                Position::InHistogram => "ICMP input histogram:",
                _ => "ICMP output histogram:",
            };
            let indent = self.position.indent();
            writeln!(out, "{:indent$}{title}", "")?;
        }
        if shown {
            let (before, after) = template
                .text
                .split_once("{}")
                .unwrap_or((template.text, ""));
            let indent = position.indent();
            writeln!(out, "{:indent$}{before}{value}{after}", "")?;
        }
        self.position = position;
        Ok(())
    }
}

/// `-s -6` follows snmp6 with the sections of /proc/net/snmp whose name starts with
/// `Tcp` (netstat compares the first three bytes).
pub fn in_inet6_tail(section: &Section) -> bool {
    section.name.starts_with(b"Tcp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::snmp::{parse_paired, parse_snmp6};

    fn render(tables: Tables, sections: Sections, files: &[&[Section]]) -> String {
        let mut out = Vec::new();
        let mut w = StatsWriter::new(sections);
        for f in files {
            w.write_all(&mut out, tables, f).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    /// Every templated key netstat's bsearch cannot find in its own tables. formats.md
    /// A8 lists them from feeding netstat all-ones files.
    #[test]
    fn keys_the_unsorted_tables_hide() {
        let mut missed = Vec::new();
        for k in INET_SECTIONS.iter().chain(INET6_SECTIONS) {
            for t in k.templates {
                if lookup(k.templates, t.key.as_bytes()).is_none() {
                    missed.push(t.key);
                }
            }
        }
        missed.sort();
        missed.dedup();
        let mut want = vec![
            "Forwarding",
            "TCPDirectCopyFromPrequeue",
            "TCPDSACKOfoRecv",
            "TCPDSACKOfoSent",
            "TCPDSACKOldSent",
            "TCPDSACKRecv",
            "TCPDSackUndo",
            "TCPDSACKUndo",
            "TCPLoss",
            "TCPPrequeueDropped",
            "TCPRenoRecoveryFailed",
            "TCPRenoRecoveryFail",
            "TCPSackFailures",
            "TCPSackRecoveryFail",
            "TCPSackRecovery",
            "TCPSACKReneging",
            "TCPTimeouts",
            "TWKilled",
        ];
        want.sort();
        assert_eq!(missed, want);
        let icmp6_out_ra = b"Icmp6OutRouterAdvertisements";
        assert!(lookup(ICMP6, icmp6_out_ra).is_none());
    }

    #[test]
    fn sentences_indents_and_histograms() {
        let snmp = parse_paired(
            b"Ip: Forwarding DefaultTTL InReceives InHdrErrors OutTransmits\n\
              Ip: 2 64 140633 0 140378\n\
              Icmp: InMsgs InDestUnreachs InEchos OutMsgs OutDestUnreachs\n\
              Icmp: 1 1 0 0 0\n\
              IcmpMsg: InType3 OutType3\n\
              IcmpMsg: 1 0\n\
              Tcp: RtoAlgorithm MaxConn ActiveOpens\n\
              Tcp: 1 -1 7\n\
              UdpLite: InDatagrams\n\
              UdpLite: 0\n",
            "snmp",
        )
        .rows;
        let want = "Ip:\n    Forwarding: 2\n    140633 total packets received\n    OutTransmits: 140378\n\
                    Icmp:\n    1 ICMP messages received\n    ICMP input histogram:\n        destination unreachable: 1\n\
                    \x20   0 ICMP messages sent\n    ICMP output histogram:\n\
                    IcmpMsg:\n        InType3: 1\n\
                    Tcp:\n    7 active connection openings\n\
                    UdpLite:\n";
        assert_eq!(render(Tables::Inet, Sections::ALL, &[&snmp]), want);
        let tcp_only = Sections {
            ip: false,
            tcp: true,
            udp: false,
            sctp: false,
        };
        assert_eq!(
            render(Tables::Inet, tcp_only, &[&snmp]),
            "IcmpMsg:\n    InType3: 1\nTcp:\n    7 active connection openings\nUdpLite:\n"
        );
    }

    #[test]
    fn icmp6_output_title_takes_the_input_indent() {
        let snmp6 = parse_snmp6(
            b"Icmp6InMsgs 1\nIcmp6OutMsgs 9\nIcmp6InDestUnreachs 1\nIcmp6OutDestUnreachs 1\nIcmp6InType1 1\n",
            "snmp6",
        )
        .rows;
        assert_eq!(
            render(Tables::Inet6, Sections::ALL, &[&snmp6]),
            "Icmp6:\n    1 ICMP messages received\n    9 ICMP messages sent\n    ICMP input histogram:\n        destination unreachable: 1\n        ICMP output histogram:\n        destination unreachable: 1\n        Icmp6InType1: 1\n"
        );
    }

    #[test]
    fn hostile_names_are_escaped() {
        let s = parse_paired(b"Ev\x1bil: K\x07\nEv\x1bil: 3\n", "snmp").rows;
        assert_eq!(
            render(Tables::Inet, Sections::ALL, &[&s]),
            "Ev^[il:\n    K^G: 3\n"
        );
    }
}
