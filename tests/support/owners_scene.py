"""Processes holding sockets for tests/owners_bpf.rs, run as PID 1 of a fresh net+pid+
mount namespace (unshare --net --pid --fork --mount-proc): when it ends, the kernel
kills everything else in the namespace.

    owners_scene.py PORT [argv]

Holders: this process (TCP listener, an established pair, UDP, unix listener, a
socketpair); a forked child sharing all of them and adding its own, renamed with a space
in its comm; a process in a nested pid namespace; a process whose leader thread has
exited (its thread holds a socket); a process with a thread that unshared its fd table
(a socket only that thread sees) and non-socket descriptors between the sockets.
With `argv`, also holders whose argv[0] (netstat's program name, from
/proc/PID/cmdline) is unusual, each listening on PORT+10 and up: see ARGV_HOLDERS.
Prints "ready" once every holder is set up, then waits for stdin to close.
"""
import ctypes
import os
import socket
import subprocess
import sys
import threading
import time

CLONE_FILES = 0x400
PR_SET_NAME = 15

libc = ctypes.CDLL(None, use_errno=True)
port = int(sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

ready_r, ready_w = os.pipe()


def tcp_listener(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(8)
    return s


def sleep_forever():
    while True:
        time.sleep(3600)


def child(setup):
    """Forks a holder: setup() runs in the child, which then tells the parent."""
    pid = os.fork()
    if pid == 0:
        try:
            keep = setup()
            os.write(ready_w, b"x")
            sleep_forever()
            del keep
        finally:
            os._exit(1)
    return pid


listener = tcp_listener(port)
client = socket.create_connection(("127.0.0.1", port))
server, _ = listener.accept()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", port))
unix_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix_listener.bind("\0rnt-owners-scene-%d" % port)
unix_listener.listen(8)
pair = socket.socketpair()
holders = 0


def renamed():
    libc.prctl(PR_SET_NAME, b"rnt owner kid", 0, 0, 0)
    return tcp_listener(port + 1)


child(renamed)
holders += 1

# A nested pid namespace: its listener's holder is numbered here as this namespace sees it.
nested = subprocess.Popen(
    ["unshare", "--pid", "--fork", "--kill-child", sys.executable, "-c",
     "import socket,os,time\n"
     "s=socket.socket(); s.bind(('127.0.0.1', %d)); s.listen(1)\n"
     "os.write(%d, b'x')\n"
     "time.sleep(1e6)" % (port + 2, ready_w)],
    pass_fds=[ready_w],
)
holders += 1


def leader_exits():
    def hold():
        keep = tcp_listener(port + 3)
        os.write(ready_w, b"x")
        sleep_forever()
        del keep
    threading.Thread(target=hold).start()
    # The leader thread exits; the process lives on in its other thread, and
    # /proc/PID/fd (the leader's table) is empty.
    libc.pthread_exit(None)


pid = os.fork()
if pid == 0:
    try:
        leader_exits()
    finally:
        os._exit(1)
holders += 1


def own_table():
    dev_null = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
    first = tcp_listener(port + 4)
    more = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
    started = threading.Event()

    def private():
        if libc.unshare(CLONE_FILES) != 0:
            os._exit(2)
        # Only this thread's table holds it: not in /proc/PID/fd.
        private.sock = tcp_listener(port + 5)
        started.set()
        sleep_forever()
    threading.Thread(target=private, daemon=True).start()
    started.wait()
    return dev_null, first, more


child(own_table)
holders += 1

# What every argv holder runs first: its own argument area's bounds from
# /proc/self/stat, and ways to rewrite it. Python has copied its arguments by then, so
# the area is free to overwrite, as setproctitle(3) does.
ARGV_PRELUDE = r"""
import ctypes, os, socket, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                       ctypes.c_ulong]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.sbrk.restype = ctypes.c_void_p
stat = open('/proc/self/stat', 'rb').read()
# Field n of stat (1-based) is f[n]; the state (field 3) is not a number.
f = [0, 0, 0, 0] + [int(x) for x in stat[stat.rindex(b')') + 2:].split()[1:]]
arg_start, arg_end, env_start, env_end = f[48], f[49], f[50], f[51]
def write(at, data):
    ctypes.memmove(at, data, len(data))
def name(data):
    assert len(data) < arg_end - arg_start
    write(arg_start, data + b'\0')
class MmMap(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        'start_code end_code start_data end_data start_brk brk start_stack '
        'arg_start arg_end env_start env_end auxv').split()] + [
        ('auxv_size', ctypes.c_uint32), ('exe_fd', ctypes.c_uint32)]
def move_args(start, length):
    # prctl(PR_SET_MM, PR_SET_MM_MAP): every field as it is but the arguments' bounds.
    m = MmMap(f[26], f[27], f[45], f[46], f[47], libc.sbrk(0), f[28], start,
              start + length, env_start, env_end, 0, 0, 0xffffffff)
    if libc.prctl(35, 14, ctypes.byref(m), ctypes.sizeof(m), 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_MM_MAP)')
def exact(n, tail):
    return b'/' + b'q' * (n - 2 - len(tail)) + b'/' + tail
"""

# What each argv holder does to its argument area before it listens: names around
# netstat's 511-byte read, an empty one, control bytes, a rename, setproctitle-style
# titles running into the environment (with and without a NUL in the first 511
# bytes), a title without a NUL in an area the environment does not follow, and
# argument areas /proc cannot read (unreadable memory; a file mapping, which /proc
# refuses to read arguments from).
ARGV_HOLDERS = [
    r"name(b'/' + b'p' * 505 + b'/abcdefgh')",
    r"name(exact(511, b'name511'))",
    r"name(exact(512, b'name512'))",
    r"name(exact(510, b'name510'))",
    r"name(b'/usr/bin/' + b's' * 700)",
    r"name(b'')",
    r"name(b'\x1b[2J\x07ctl\tname')",
    r"name(b'/tmp/\x1b[31m\n/dir/ctlpath')",
    r"name(b'/opt/before-the-rename-long'); name(b'/new/renamed')",
    r"write(arg_start, b'/usr/sbin/titled: ' + b'w' * (arg_end - arg_start) + b'\0')",
    r"write(arg_start, b'/t/' + b'x' * 600 + b'/' + b'y' * 40)",
    r"m = libc.mmap(None, 4096, 3, 0x22, -1, 0); write(m, b'/moved/no-nul-at-end-of-it'); move_args(m, 16)",
    r"move_args(libc.mmap(None, 4096, 0, 0x22, -1, 0), 16)",
    r"fd = os.memfd_create('args'); os.write(fd, b'/file/backed\0' * 64); "
    r"move_args(libc.mmap(None, 4096, 1, 1, fd, 0), 16)",
]

if sys.argv[2:3] == ["argv"]:
    env = dict(os.environ, RNT_PAD="e" * 1500)
    for i, edit in enumerate(ARGV_HOLDERS):
        code = ARGV_PRELUDE + edit + """
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', %d))
s.listen(1)
os.write(%d, b'x')
while True:
    time.sleep(3600)
""" % (port + 10 + i, ready_w)
        subprocess.Popen([sys.executable, "-c", code], pass_fds=[ready_w], env=env)
        holders += 1

got = 0
while got < holders:
    got += len(os.read(ready_r, holders - got))
print("ready", flush=True)
sys.stdin.read()
