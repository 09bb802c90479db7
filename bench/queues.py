#!/usr/bin/env python3
"""Times `rnetstat --queues` on N TCP connections (1 KiB unread each), N UDP sockets
(4 datagrams of 200 bytes each) and N unix stream pairs (1 KiB unread), held by one
process in a private network namespace. Run as root: bench/queues.py [N] [BINARY]."""
import os, resource, shutil, socket, subprocess, sys, tempfile, time

def hold(n):
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    held = []
    l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096); held.append(l)
    for _ in range(n):
        c = socket.create_connection(l.getsockname()); s, _ = l.accept()
        c.send(os.urandom(1024)); held += [c, s]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
        snd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); held += [u, snd]
        for _ in range(4):
            snd.sendto(os.urandom(200), u.getsockname())
        a, b = socket.socketpair(); a.send(os.urandom(1024)); held += [a, b]
    print("ready", flush=True)
    sys.stdin.readline()

def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--hold":
        return hold(int(sys.argv[2]))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/rnetstat"
    holder = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$1" --hold "$2"',
         sys.executable, os.path.abspath(__file__), str(n)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        for _ in range(3):
            tmp = tempfile.mkdtemp()
            out = os.path.join(tmp, "dump")
            start = time.monotonic()
            r = subprocess.run(["/usr/bin/time", "-f", "cpu %U user %S sys %M KB", binary, "--queues", out, "-a", "--netns", str(holder.pid)],
                               capture_output=True, text=True)
            took = time.monotonic() - start
            size = sum(os.path.getsize(os.path.join(out, "queues", f))
                       for f in os.listdir(os.path.join(out, "queues")))
            print("%.2f s wall, exit %d, %d bytes written; %s" % (took, r.returncode, size,
                  "; ".join(r.stderr.strip().splitlines()[-2:])))
            shutil.rmtree(tmp)
    finally:
        holder.kill()

main()
