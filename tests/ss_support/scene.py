"""The sockets of rss's differential tests, made inside a private network namespace
(lo and a veth pair with documentation addresses, set up by the caller) so that every
socket ss and rss list is known. Prints "ready" and waits for stdin to close; then
everything goes away with the namespace.

    scene.py DIR     (DIR: a fresh directory for the unix socket paths)
"""
import os
import socket
import sys
import time

d = sys.argv[1]
keep = []


def tcp(family, addr, port, v6only=None, dev=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind((addr, port))
    s.listen(16)
    keep.append(s)
    return s


def connect(family, addr, port, linger=False):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, port))
    keep.append(c)
    return c


# TCP: listeners on service ports (names unless -n), v4, v6, v6only, v4-mapped, bound
# to devices; established pairs; a TIME-WAIT.
l22 = tcp(socket.AF_INET, "127.0.0.1", 22)
tcp(socket.AF_INET, "0.0.0.0", 80)
tcp(socket.AF_INET, "192.0.2.1", 443)
tcp(socket.AF_INET6, "::", 8080, v6only=0)
tcp(socket.AF_INET6, "::", 8081, v6only=1)
l6 = tcp(socket.AF_INET6, "::1", 2222, v6only=1)
tcp(socket.AF_INET6, "::ffff:127.0.0.1", 2223)
tcp(socket.AF_INET6, "2001:db8::1", 2224, v6only=1)
tcp(socket.AF_INET, "0.0.0.0", 2225, dev="lo")
tcp(socket.AF_INET, "192.0.2.1", 2226, dev="v0")
tcp(socket.AF_INET, "127.0.0.1", 40000)
c1 = connect(socket.AF_INET, "127.0.0.1", 22)
s1, _ = l22.accept()
keep.append(s1)
c1.send(b"x" * 100)  # a Recv-Q on the accepted end
c2 = connect(socket.AF_INET6, "::1", 2222)
s2, _ = l6.accept()
keep.append(s2)
tw_listener = tcp(socket.AF_INET, "192.0.2.1", 2300)
tw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tw.connect(("192.0.2.1", 2300))
tws, _ = tw_listener.accept()
tw.close()
tws.close()
pending = connect(socket.AF_INET, "192.0.2.1", 443)  # in the accept queue: Recv-Q 1

# UDP: bound (UNCONN), connected (ESTAB), v6 both ways, a service port.
for fam, addr, port, v6only in [
    (socket.AF_INET, "127.0.0.1", 5353, None),
    (socket.AF_INET, "0.0.0.0", 53, None),
    (socket.AF_INET6, "::", 5354, 0),
    (socket.AF_INET6, "::", 5355, 1),
    (socket.AF_INET6, "2001:db8::1", 5356, 1),
]:
    u = socket.socket(fam, socket.SOCK_DGRAM)
    if v6only is not None:
        u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    u.bind((addr, port))
    keep.append(u)
uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
uc.bind(("127.0.0.1", 5400))
uc.connect(("127.0.0.1", 5353))
keep.append(uc)

# Raw sockets.
keep.append(socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
keep.append(socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))

# Unix: path, abstract (with a NUL inside), unnamed pairs, every type.
ul = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ul.bind(os.path.join(d, "stream.sock"))
ul.listen(8)
keep.append(ul)
uc1 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
uc1.connect(os.path.join(d, "stream.sock"))
keep.append(uc1)
ua = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ua.bind("\0rss-abstract\0name")
ua.listen(1)
keep.append(ua)
keep.extend(socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM))
keep.extend(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
ud = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ud.bind(os.path.join(d, "dgram.sock"))
keep.append(ud)
udc = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
udc.connect(os.path.join(d, "dgram.sock"))
keep.append(udc)
udc.send(b"queued")
useq = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
useq.bind(os.path.join(d, "seq.sock"))
useq.listen(4)
keep.append(useq)

# Packet sockets: every protocol, bound to lo, a named ethertype, an unnamed one.
pall = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
pall.bind(("lo", 0))
keep.append(pall)
pl = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
pl.bind(("v1", 0))
keep.append(pl)
keep.append(socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x88CC)))
keep.append(socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x1234)))

# Netlink: one per protocol family that shows a name.
for proto in (0, 4, 15):
    n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
    n.bind((0, 0))
    keep.append(n)

# More holders of the same sockets: a forked child holds all of them; a second child
# gets one listener by SCM_RIGHTS onto another fd number.
r, w = os.pipe()
child = os.fork()
if child == 0:
    os.close(w)
    os.read(r, 1)
    os._exit(0)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
receiver = os.fork()
if receiver == 0:
    # Only the parent holds the pipe's write end: when it goes (even killed), both
    # children read end-of-file and exit instead of outliving the test.
    os.close(w)
    a.close()
    msg, fds, _, _ = socket.recv_fds(b, 1, 1)
    moved = os.dup2(fds[0], 77)
    os.write(b.fileno(), b"k")
    os.read(r, 1)
    os._exit(0)
socket.send_fds(a, [b"x"], [l22.fileno()])
a.recv(1)
time.sleep(0.05)
print("ready", os.getpid(), child, receiver, flush=True)
sys.stdin.read()
os.close(w)
os.waitpid(child, 0)
os.waitpid(receiver, 0)
