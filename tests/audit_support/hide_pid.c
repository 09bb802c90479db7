/* A process hider for tests/audit_hidden.rs: `hide_pid [--lookup] PID PROGRAM ARGS...`
 * runs PROGRAM with getdents64 of /proc filtered so that the entry "PID" never appears,
 * the way a rootkit hooking proc's readdir (or a BPF program rewriting getdents64's
 * buffer) hides a process. rnetstat makes the system call itself (rustix, no libc
 * readdir), so an LD_PRELOAD library cannot reach it; a seccomp user-notification
 * filter can: every getdents64 of PROGRAM (and its threads) stops in the kernel and
 * this supervisor performs it on a duplicate of the caller's descriptor (same open
 * file, same offset), drops the entry, writes the rest into the caller's buffer and
 * returns its length. getdents64 of any other directory continues unchanged.
 * Lookup of /proc/PID is not touched (a readdir-only hider), unless --lookup: then
 * open or openat of "/proc/PID" or anything under it fails with ENOENT too, as when a rootkit
 * hooks proc's lookup as well.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#define PROC_SUPER_MAGIC 0x9fa0

struct dirent64_head {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int send_fd(int sock, int fd)
{
	char data = 'x';
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int install_filter(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getdents64, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

/* Drops the entry named `name` from buf[0..len); returns the new length. */
static long drop_entry(char *buf, long len, const char *name)
{
	long in = 0, out = 0;
	while (in < len) {
		struct dirent64_head *d = (struct dirent64_head *)(buf + in);
		unsigned short rl = d->d_reclen;
		if (rl == 0 || in + rl > len)
			break;
		if (strcmp(d->d_name, name) != 0) {
			memmove(buf + out, buf + in, rl);
			out += rl;
		}
		in += rl;
	}
	return out;
}

static int hide_lookup;

/* open(path) and openat(dirfd, path): ENOENT for an absolute "/proc/PID" or a path
 * under it. */
static void handle_open(int listener, struct seccomp_notif *req, struct seccomp_notif_resp *resp, const char *name)
{
	char path[4096], prefix[64];
	struct iovec local = {.iov_base = path, .iov_len = sizeof(path) - 1};
	unsigned long addr = req->data.nr == SYS_open ? req->data.args[0] : req->data.args[1];
	struct iovec remote = {.iov_base = (void *)addr, .iov_len = sizeof(path) - 1};
	ssize_t n = hide_lookup ? process_vm_readv(req->pid, &local, 1, &remote, 1, 0) : -1;
	if (n > 0) {
		path[n] = 0;
		int len = snprintf(prefix, sizeof(prefix), "/proc/%s", name);
		if (strncmp(path, prefix, len) == 0 && (path[len] == 0 || path[len] == '/') &&
		    ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0) {
			resp->flags = 0;
			resp->error = -ENOENT;
		}
	}
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

static void handle(int listener, struct seccomp_notif *req, struct seccomp_notif_resp *resp, const char *name)
{
	memset(resp, 0, sizeof(*resp));
	resp->id = req->id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (req->data.nr == SYS_openat || req->data.nr == SYS_open) {
		handle_open(listener, req, resp, name);
		return;
	}
	int fd = (int)req->data.args[0];
	unsigned long addr = req->data.args[1];
	unsigned long count = req->data.args[2];
	int pidfd = syscall(SYS_pidfd_open, req->pid, PIDFD_THREAD);
	int dup = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	struct stat st;
	struct statfs sfs;
	if (dup >= 0 && fstat(dup, &st) == 0 && fstatfs(dup, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC &&
	    st.st_ino == 1 && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0) {
		/* The root of a procfs: list it ourselves, without the entry. */
		if (count > (1 << 20))
			count = 1 << 20;
		char *buf = malloc(count);
		long n, kept = 0;
		do {
			n = buf ? syscall(SYS_getdents64, dup, buf, count) : -ENOMEM;
			if (n < 0) {
				resp->flags = 0;
				resp->error = -errno;
				goto out;
			}
			kept = drop_entry(buf, n, name);
		} while (n > 0 && kept == 0);
		struct iovec local = {.iov_base = buf, .iov_len = kept};
		struct iovec remote = {.iov_base = (void *)addr, .iov_len = kept};
		if (kept > 0 && process_vm_writev(req->pid, &local, 1, &remote, 1, 0) != kept) {
			resp->flags = 0;
			resp->error = -EFAULT;
		} else {
			resp->flags = 0;
			resp->val = kept;
		}
	out:
		free(buf);
	}
	if (dup >= 0)
		close(dup);
	if (pidfd >= 0)
		close(pidfd);
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--lookup") == 0) {
		hide_lookup = 1;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: hide_pid [--lookup] PID PROGRAM [ARGS...]\n");
		return 2;
	}
	const char *name = argv[1];
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;
	pid_t child = fork();
	if (child < 0)
		return 2;
	if (child == 0) {
		close(sv[0]);
		int listener = install_filter();
		if (listener < 0 || send_fd(sv[1], listener)) {
			perror("hide_pid: seccomp");
			_exit(127);
		}
		close(listener);
		close(sv[1]);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	close(sv[1]);
	int listener = recv_fd(sv[0]);
	close(sv[0]);
	if (listener < 0) {
		waitpid(child, NULL, 0);
		return 2;
	}
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes))
		return 2;
	struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
	struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
	for (;;) {
		struct pollfd p = {.fd = listener, .events = POLLIN};
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p.revents & POLLIN) {
			memset(req, 0, sizes.seccomp_notif);
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
				handle(listener, req, resp, name);
			continue;
		}
		if (p.revents & (POLLHUP | POLLERR))
			break; /* every filtered task has exited */
	}
	int status;
	if (waitpid(child, &status, 0) < 0)
		return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
