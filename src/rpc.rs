//! The one portmapper (rpcbind) client: the registration dumps lsof's `+M` reads
//! (PMAPPROC_DUMP, version 2, over TCP to 127.0.0.1:111, as lsof's clnt_create
//! "localhost"/"tcp" does) and ss's `-r` reads (RPCBPROC_DUMP, version 4, over the
//! local stream socket rpcbind listens on). One call per run, no retries: the request
//! and the reply's fragments share one deadline, and a reply is untrusted bytes
//! (capped in size and entries; anything malformed is an error, never a panic).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// PMAPPROG, the portmapper's own program number.
const PMAP_PROG: u32 = 100_000;
const PMAP_PORT: u16 = 111;
/// PMAPPROC_DUMP (version 2) and RPCBPROC_DUMP (versions 3 and 4) share the number.
const PROC_DUMP: u32 = 4;
/// _PATH_RPCBINDSOCK, where ss connects.
pub const RPCBIND_SOCKET: &str = "/var/run/rpcbind.sock";
/// How long one dump may take in all (ss waits 5 s for the reply; lsof 60).
pub const DEADLINE: Duration = Duration::from_secs(5);
/// A dump larger than this is refused (a real one is a few KiB).
const REPLY_MAX: usize = 4 << 20;
const ENTRIES_MAX: usize = 100_000;
/// Longest netid, address or owner string taken from a reply.
const STRING_MAX: usize = 1024;

/// Why a dump gave nothing.
#[derive(Debug)]
pub enum Error {
    /// Nothing listens (refused, no socket file, no route): lsof and ss then show
    /// no registrations and say nothing.
    Unavailable,
    /// Something answered wrongly or too slowly: the names may be incomplete.
    Failed(String),
}

/// A version 2 registration (struct pmap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmapEntry {
    pub prog: u32,
    pub vers: u32,
    /// IPPROTO_TCP (6) or IPPROTO_UDP (17) for real entries.
    pub prot: u32,
    pub port: u32,
}

/// A version 3/4 registration (struct rpcb): the address is a universal address
/// such as `0.0.0.0.0.111` (port = 0 * 256 + 111).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcbEntry {
    pub prog: u32,
    pub vers: u32,
    pub netid: Vec<u8>,
    pub addr: Vec<u8>,
    pub owner: Vec<u8>,
}

/// lsof's dump: version 2 over TCP to 127.0.0.1:111.
pub fn pmap_dump(deadline: Duration) -> Result<Vec<PmapEntry>, Error> {
    let until = Instant::now() + deadline;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, PMAP_PORT));
    let mut stream = TcpStream::connect_timeout(&addr, deadline).map_err(connect_error)?;
    let reply = call(&mut Timed::Tcp(&mut stream), 2, PROC_DUMP, until)?;
    parse_pmap_list(&reply)
}

/// ss's dump: version 4 over the local socket at `path`.
pub fn rpcb_dump(path: &Path, deadline: Duration) -> Result<Vec<RpcbEntry>, Error> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::AsRawFd;
    let until = Instant::now() + deadline;
    // Non-blocking connect: a listener with a full backlog must not hang the run.
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::Failed(format!("socket: {e}")))?;
    let addr = UnixAddr::new(path).map_err(|e| Error::Failed(format!("{e}")))?;
    connect(fd.as_raw_fd(), &addr).map_err(|e| connect_error(io::Error::from(e)))?;
    let mut stream = UnixStream::from(fd);
    stream
        .set_nonblocking(false)
        .map_err(|e| Error::Failed(e.to_string()))?;
    let reply = call(&mut Timed::Unix(&mut stream), 4, PROC_DUMP, until)?;
    parse_rpcb_list(&reply)
}

fn connect_error(e: io::Error) -> Error {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused | NotFound | AddrNotAvailable => Error::Unavailable,
        _ if e.raw_os_error() == Some(libc::ENETUNREACH) => Error::Unavailable,
        _ if e.raw_os_error() == Some(libc::EAGAIN) => {
            Error::Failed("the portmapper's socket is not accepting connections".into())
        }
        _ => Error::Failed(format!("connect: {e}")),
    }
}

/// A stream whose every read and write waits at most until the deadline.
enum Timed<'a> {
    Tcp(&'a mut TcpStream),
    Unix(&'a mut UnixStream),
}

impl Timed<'_> {
    fn arm(&self, until: Instant) -> io::Result<()> {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        match self {
            Timed::Tcp(s) => {
                s.set_read_timeout(Some(left))?;
                s.set_write_timeout(Some(left))
            }
            Timed::Unix(s) => {
                s.set_read_timeout(Some(left))?;
                s.set_write_timeout(Some(left))
            }
        }
    }

    fn write_all(&mut self, buf: &[u8], until: Instant) -> io::Result<()> {
        self.arm(until)?;
        match self {
            Timed::Tcp(s) => s.write_all(buf),
            Timed::Unix(s) => s.write_all(buf),
        }
    }

    fn read_exact(&mut self, buf: &mut [u8], until: Instant) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            self.arm(until)?;
            let n = match self {
                Timed::Tcp(s) => s.read(&mut buf[done..]),
                Timed::Unix(s) => s.read(&mut buf[done..]),
            };
            match n {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn io_failed(e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            Error::Failed("no answer in time".into())
        }
        io::ErrorKind::UnexpectedEof => Error::Failed("the reply was cut short".into()),
        _ => Error::Failed(e.to_string()),
    }
}

/// The call message of a procedure without arguments (AUTH_NONE), in one record.
fn call_message(xid: u32, vers: u32, proc: u32) -> Vec<u8> {
    let words = [
        xid, 0, /* CALL */ 2, /* RPC version */ PMAP_PROG, vers, proc, 0,
        0, /* cred */
        0, 0, /* verf */
    ];
    let mut msg = Vec::with_capacity(4 + words.len() * 4);
    msg.extend_from_slice(&(0x8000_0000u32 | (words.len() as u32 * 4)).to_be_bytes());
    for w in words {
        msg.extend_from_slice(&w.to_be_bytes());
    }
    msg
}

/// Sends the call and returns the accepted reply's results (record marking: the
/// fragments joined, the total capped).
fn call(s: &mut Timed<'_>, vers: u32, proc: u32, until: Instant) -> Result<Vec<u8>, Error> {
    let xid = std::process::id() ^ 0x5250_4300;
    s.write_all(&call_message(xid, vers, proc), until)
        .map_err(io_failed)?;
    let mut reply = Vec::new();
    loop {
        let mut head = [0u8; 4];
        s.read_exact(&mut head, until).map_err(io_failed)?;
        let head = u32::from_be_bytes(head);
        let len = (head & 0x7fff_ffff) as usize;
        if reply.len() + len > REPLY_MAX {
            return Err(Error::Failed(format!(
                "reply larger than {} MiB",
                REPLY_MAX >> 20
            )));
        }
        let start = reply.len();
        reply.resize(start + len, 0);
        s.read_exact(&mut reply[start..], until)
            .map_err(io_failed)?;
        if head & 0x8000_0000 != 0 {
            break;
        }
    }
    accepted_results(&reply, xid).map(<[u8]>::to_vec)
}

/// The results of an accepted, successful reply to `xid`.
fn accepted_results(reply: &[u8], xid: u32) -> Result<&[u8], Error> {
    let bad = |what: &str| Error::Failed(format!("malformed reply: {what}"));
    let mut x = Xdr::new(reply);
    if x.u32() != Some(xid) {
        return Err(bad("not the answer to our call"));
    }
    if x.u32() != Some(1) {
        return Err(bad("not a reply"));
    }
    match x.u32() {
        Some(0) => {}
        Some(_) => return Err(Error::Failed("the call was denied".into())),
        None => return Err(bad("truncated")),
    }
    // The verifier: flavor and opaque body.
    x.u32().ok_or_else(|| bad("truncated"))?;
    x.opaque(400).ok_or_else(|| bad("verifier"))?;
    match x.u32() {
        Some(0) => Ok(x.rest()),
        Some(n) => Err(Error::Failed(format!("the call was not accepted ({n})"))),
        None => Err(bad("truncated")),
    }
}

/// struct pmaplist: (1, entry)* 0.
pub fn parse_pmap_list(results: &[u8]) -> Result<Vec<PmapEntry>, Error> {
    let mut x = Xdr::new(results);
    let mut out = Vec::new();
    while more(&mut x, out.len())? {
        let mut w = [0u32; 4];
        for v in &mut w {
            *v = x.u32().ok_or_else(truncated)?;
        }
        out.push(PmapEntry {
            prog: w[0],
            vers: w[1],
            prot: w[2],
            port: w[3],
        });
    }
    Ok(out)
}

/// rpcblist_ptr: (1, rpcb)* 0.
pub fn parse_rpcb_list(results: &[u8]) -> Result<Vec<RpcbEntry>, Error> {
    let mut x = Xdr::new(results);
    let mut out = Vec::new();
    while more(&mut x, out.len())? {
        let prog = x.u32().ok_or_else(truncated)?;
        let vers = x.u32().ok_or_else(truncated)?;
        let mut string = || {
            x.opaque(STRING_MAX)
                .map(<[u8]>::to_vec)
                .ok_or_else(truncated)
        };
        let (netid, addr, owner) = (string()?, string()?, string()?);
        out.push(RpcbEntry {
            prog,
            vers,
            netid,
            addr,
            owner,
        });
    }
    Ok(out)
}

fn truncated() -> Error {
    Error::Failed("malformed reply: a list entry is cut short".into())
}

/// The `bool` before each list entry; false at the end.
fn more(x: &mut Xdr<'_>, entries: usize) -> Result<bool, Error> {
    match x.u32() {
        Some(0) => Ok(false),
        Some(1) if entries < ENTRIES_MAX => Ok(true),
        Some(1) => Err(Error::Failed(format!(
            "more than {ENTRIES_MAX} registrations"
        ))),
        Some(_) => Err(Error::Failed("malformed reply: not a list".into())),
        None => Err(truncated()),
    }
}

/// A bounded XDR reader.
struct Xdr<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Xdr<'a> {
    fn new(buf: &'a [u8]) -> Xdr<'a> {
        Xdr { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Variable-length opaque data or a string: length, bytes, padding to 4.
    fn opaque(&mut self, max: usize) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > max {
            return None;
        }
        let data = self.take(len)?;
        self.take((4 - len % 4) % 4)?;
        Some(data)
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    #[test]
    fn call_message_is_one_record() {
        let m = call_message(7, 2, 4);
        assert_eq!(m.len(), 44);
        assert_eq!(&m[..4], &(0x8000_0000u32 | 40).to_be_bytes());
        assert_eq!(&m[4..28], &words(&[7, 0, 2, 100_000, 2, 4])[..]);
    }

    #[test]
    fn reply_header() {
        let ok = words(&[9, 1, 0, 0, 0, 0, 1, 2]);
        assert_eq!(accepted_results(&ok, 9).unwrap(), &words(&[1, 2])[..]);
        assert!(matches!(accepted_results(&ok, 8), Err(Error::Failed(_))));
        let denied = words(&[9, 1, 1, 0]);
        assert!(matches!(
            accepted_results(&denied, 9),
            Err(Error::Failed(_))
        ));
        let not_accepted = words(&[9, 1, 0, 0, 0, 1]);
        assert!(matches!(
            accepted_results(&not_accepted, 9),
            Err(Error::Failed(_))
        ));
        // A verifier longer than the reply, or than XDR allows.
        assert!(accepted_results(&words(&[9, 1, 0, 0, 500]), 9).is_err());
        assert!(accepted_results(&words(&[9, 1, 0, 0, 8, 1]), 9).is_err());
    }

    /// Runs `call` against `server`, which gets the other end of a socket pair.
    fn call_against(
        deadline: Duration,
        server: impl FnOnce(UnixStream) + Send + 'static,
    ) -> Result<Vec<u8>, Error> {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || server(theirs));
        let r = call(&mut Timed::Unix(&mut ours), 4, 4, Instant::now() + deadline);
        drop(ours);
        t.join().unwrap();
        r
    }

    fn read_call(s: &mut UnixStream) -> u32 {
        let mut m = [0u8; 44];
        s.read_exact(&mut m).unwrap();
        u32::from_be_bytes([m[4], m[5], m[6], m[7]])
    }

    #[test]
    fn replies_over_a_stream() {
        // Two fragments make one reply.
        let r = call_against(DEADLINE, |mut s| {
            let xid = read_call(&mut s);
            let body = words(&[xid, 1, 0, 0, 0, 0, 1, 7]);
            s.write_all(&words(&[12])).unwrap();
            s.write_all(&body[..12]).unwrap();
            s.write_all(&words(&[0x8000_0000 | (body.len() as u32 - 12)]))
                .unwrap();
            s.write_all(&body[12..]).unwrap();
        });
        assert_eq!(r.unwrap(), words(&[1, 7]));
        // A fragment claiming 2 GiB is refused before anything is allocated for it.
        let r = call_against(DEADLINE, |mut s| {
            read_call(&mut s);
            let _ = s.write_all(&words(&[0xffff_ffff]));
        });
        assert!(matches!(r, Err(Error::Failed(m)) if m.contains("larger")));
        // Cut short, and silent: errors, not hangs.
        let r = call_against(DEADLINE, |mut s| {
            read_call(&mut s);
            let _ = s.write_all(&words(&[0x8000_0100, 1, 2]));
        });
        assert!(matches!(r, Err(Error::Failed(_))));
        let r = call_against(Duration::from_millis(100), |mut s| {
            read_call(&mut s);
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        });
        assert!(matches!(r, Err(Error::Failed(m)) if m.contains("in time")));
    }

    #[test]
    fn hostile_lists_are_errors() {
        assert_eq!(parse_pmap_list(&words(&[0])).unwrap(), vec![]);
        assert!(parse_pmap_list(&[]).is_err());
        assert!(parse_pmap_list(&words(&[1, 100_000, 2, 6])).is_err());
        assert!(parse_pmap_list(&words(&[2])).is_err());
        // A string length past the end, and one beyond the cap.
        assert!(parse_rpcb_list(&words(&[1, 100_000, 4, 0xffff_fff0])).is_err());
        assert!(parse_rpcb_list(&words(&[1, 100_000, 4, 5000])).is_err());
        let mut endless = Vec::new();
        for _ in 0..=ENTRIES_MAX {
            endless.extend(words(&[1, 1, 1, 6, 1]));
        }
        assert!(parse_pmap_list(&endless).is_err());
        // Every prefix of a good list is an error, never a panic.
        let mut good = words(&[1, 100_000, 4, 3]);
        good.extend_from_slice(b"tcp\0");
        good.extend(words(&[13]));
        good.extend_from_slice(b"0.0.0.0.0.111\0\0\0");
        good.extend(words(&[9]));
        good.extend_from_slice(b"superuser\0\0\0");
        good.extend(words(&[0]));
        let list = parse_rpcb_list(&good).unwrap();
        assert_eq!(list[0].netid, b"tcp");
        assert_eq!(list[0].addr, b"0.0.0.0.0.111");
        assert_eq!(list[0].owner, b"superuser");
        for n in 0..good.len() {
            assert!(parse_rpcb_list(&good[..n]).is_err(), "{n}");
        }
    }
}
