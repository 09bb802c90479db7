# Holds a known set of sockets inside a private network namespace for the ss filter
# corpus test (tests/ss_filter.rs): TCP v4/v6 listeners and connections in several
# states, UDP, unix sockets with paths, abstract and autobound names. Documentation
# addresses only; the namespace is the test's own. Prints "ready", then holds
# everything until stdin closes.
import os
import socket
import sys

d = sys.argv[1]
keep = []


def tcp(fam, addr, port, listen=True, v6only=None, dev=None, mark=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev)
    if mark is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    s.bind((addr, port))
    if listen:
        s.listen(16)
    keep.append(s)
    return s


def connect(fam, src, dst, server):
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.bind(src)
    c.connect(dst)
    a, _ = server.accept()
    keep.extend([c, a])
    return c, a


s4 = tcp(socket.AF_INET, "192.0.2.1", 8080)
s6 = tcp(socket.AF_INET6, "2001:db8::1", 8443)
sany = tcp(socket.AF_INET, "0.0.0.0", 2222)
sdual = tcp(socket.AF_INET6, "::", 3333, v6only=0)
slo = tcp(socket.AF_INET, "127.0.0.1", 5000)
tcp(socket.AF_INET, "0.0.0.0", 6000, dev=b"veth0")
tcp(socket.AF_INET, "192.0.2.2", 7777, mark=0x2A)
tcp(socket.AF_INET6, "::1", 9090, v6only=1)

connect(socket.AF_INET, ("192.0.2.2", 0), ("192.0.2.1", 8080), s4)
connect(socket.AF_INET6, ("2001:db8::2", 0), ("2001:db8::1", 8443), s6)
connect(socket.AF_INET, ("192.0.2.2", 0), ("192.0.2.1", 3333), sdual)
# An explicitly bound port inside the ephemeral range: not "autobound" to the kernel.
connect(socket.AF_INET, ("192.0.2.2", 40000), ("192.0.2.1", 2222), sany)
c5, a5 = connect(socket.AF_INET, ("127.0.0.1", 0), ("127.0.0.1", 5000), slo)
c5.shutdown(socket.SHUT_WR)  # c5 FIN-WAIT-2, a5 CLOSE-WAIT

# SYN-SENT for as long as the test runs: the neighbour answers nothing.
syn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
syn.setblocking(False)
try:
    syn.connect(("198.51.100.77", 9))
except BlockingIOError:
    pass
keep.append(syn)

u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("192.0.2.1", 5353))
u2 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u2.bind(("2001:db8::1", 7000))
u2.connect(("2001:db8::2", 7001))
u3 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u3.bind(("0.0.0.0", 0))
keep.extend([u1, u2, u3])

x1 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
x1.bind(os.path.join(d, "stream.sock"))
x1.listen(4)
x2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
x2.bind("\0rssf-abstract-%d" % os.getpid())
x2.listen(4)
x3a, x3b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
x4 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
x4.bind(os.path.join(d, "Dgram.sock"))
x5 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
x5.bind("")  # autobind: an abstract five-hex-digit name
x6 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
x6.connect(os.path.join(d, "stream.sock"))
x6a, _ = x1.accept()
keep.extend([x1, x2, x3a, x3b, x4, x5, x6, x6a])

print("ready", flush=True)
sys.stdin.read()
