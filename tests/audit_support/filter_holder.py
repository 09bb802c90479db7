# argv[1..6]: the programs as `tcpdump -ddd` prints them; argv[6]: an abstract unix
# name; argv[7] = "ebpf": also a UDP socket with an eBPF program. Prints its pid, the
# tcp, udp and plain listener ports, then the inodes of tcp, udp, unix, raw, packet
# and the plain listener (and the eBPF socket's port and inode).
import ctypes, os, socket, struct, sys, time
def attach(s, prog):
    raw = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = ctypes.create_string_buffer(raw)
    s.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HL", len(prog), ctypes.addressof(buf)))
def parse(ddd):
    return [tuple(int(x) for x in l.split()) for l in ddd.strip().split("\n")[1:]]
progs = [parse(a) for a in sys.argv[1:6]]
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(8); attach(t, progs[0])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); attach(u, progs[1])
x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); x.bind("\0" + sys.argv[6]); attach(x, progs[2])
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP); attach(r, progs[3])
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); attach(p, progs[4])
plain = socket.socket(); plain.bind(("127.0.0.1", 0)); plain.listen(8)
ino = lambda s: os.fstat(s.fileno()).st_ino
out = [os.getpid(), t.getsockname()[1], u.getsockname()[1], plain.getsockname()[1]]
out += [ino(s) for s in (t, u, x, r, p, plain)]
if len(sys.argv) > 7:
    libc = ctypes.CDLL(None, use_errno=True)
    code = struct.pack("BBhi", 0xb7, 0, 0, 0) + struct.pack("BBhi", 0x95, 0, 0, 0)
    ibuf, lic = ctypes.create_string_buffer(code), ctypes.create_string_buffer(b"GPL")
    attr = struct.pack("IIQQIIQI", 1, 2, ctypes.addressof(ibuf), ctypes.addressof(lic), 0, 0, 0, 0) + bytes(80)
    abuf = ctypes.create_string_buffer(attr)
    fd = libc.syscall(321, 5, abuf, len(attr))
    if fd < 0:
        print("bpf", ctypes.get_errno(), flush=True)
        time.sleep(300)
    e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); e.bind(("127.0.0.1", 0))
    e.setsockopt(socket.SOL_SOCKET, 50, struct.pack("i", fd))
    out += [e.getsockname()[1], ino(e)]
print(*out, flush=True)
time.sleep(300)
