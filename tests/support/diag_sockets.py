"""Socket population for tests/netlink_tables.rs, run inside a private network
namespace: every kind of row the sock_diag and /proc/net views must print alike.
Prints READY once everything is in place, then waits for stdin to close."""
import os
import socket
import sys
import time

keep = []


def listener(family, addr, backlog=16):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((addr, 0))
    s.listen(backlog)
    keep.append(s)
    return s


def pair(server, family, addr, payload=b""):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, server.getsockname()[1]))
    a, _ = server.accept()
    if payload:
        # Left unread: a non-zero Recv-Q on the accepted side.
        c.sendall(payload)
    keep.extend([c, a])
    return c, a


# Established pairs, enough that a dump spans several netlink datagrams.
for family, addr in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]:
    srv = listener(family, addr, 1024)
    for i in range(250):
        pair(srv, family, addr, b"x" * (i % 7))

# A v4-mapped pair: a v6 socket talking to a v4 listener.
srv4 = listener(socket.AF_INET, "0.0.0.0")
c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
c.connect(("::ffff:127.0.0.1", srv4.getsockname()[1]))
a, _ = srv4.accept()
keep.extend([c, a])
dual = listener(socket.AF_INET6, "::")

# Unaccepted connections: the listener's Recv-Q is its accept queue, and its Send-Q
# must print 0 (sock_diag reports the backlog limit there).
backlog = listener(socket.AF_INET, "127.0.0.2", 5)
for _ in range(3):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.connect(backlog.getsockname())
    keep.append(c)

# Bound but neither listening nor connected: /proc never lists it.
bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
bound.bind(("127.0.0.1", 0))
keep.append(bound)

# TIME_WAIT (the side that closes first), FIN_WAIT2 / CLOSE_WAIT (one side closes).
for family, addr in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]:
    srv = listener(family, addr)
    for _ in range(3):
        c, a = pair(srv, family, addr)
        c.close()
        a.close()
        keep.remove(c)
        keep.remove(a)
    c, a = pair(srv, family, addr)
    a.shutdown(socket.SHUT_WR)

# UDP: unconnected (servers), connected, with unread datagrams.
for family, addr in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]:
    u = socket.socket(family, socket.SOCK_DGRAM)
    u.bind((addr, 0))
    v = socket.socket(family, socket.SOCK_DGRAM)
    v.bind((addr, 0))
    v.connect(u.getsockname())
    v.send(b"hello")
    keep.extend([u, v])
any6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
any6.bind(("::", 0))
keep.append(any6)

# Unix sockets stay on /proc in both sources; a few for the -a tables.
un = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
un.bind("\0rnt-diag-%d" % os.getpid())
un.listen(1)
keep.append(un)
keep.extend(socket.socketpair())

time.sleep(0.2)  # let the last FINs and ACKs land
print("READY", flush=True)
sys.stdin.read()
