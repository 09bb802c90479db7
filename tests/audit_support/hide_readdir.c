/* The common userland process hider (libprocesshider's way), for
 * tests/audit_hidden.rs: an LD_PRELOAD library whose readdir and readdir64 skip the
 * entry named $RNT_HIDE_PID when reading the root of a procfs. ps, netstat -p and
 * lsof list /proc through libc's readdir and lose the process; rnetstat lists it
 * with the getdents64 system call itself and does not.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define PROC_SUPER_MAGIC 0x9fa0

static int is_proc_root(DIR *d)
{
	struct statfs sfs;
	struct stat st;
	int fd = dirfd(d);
	return fd >= 0 && fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC && fstat(fd, &st) == 0 &&
	       st.st_ino == 1;
}

static int hidden(DIR *d, const char *name)
{
	const char *pid = getenv("RNT_HIDE_PID");
	return pid && strcmp(name, pid) == 0 && is_proc_root(d);
}

struct dirent *readdir(DIR *d)
{
	static struct dirent *(*next)(DIR *);
	if (!next)
		next = (struct dirent * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir");
	struct dirent *e;
	do
		e = next(d);
	while (e && hidden(d, e->d_name));
	return e;
}

struct dirent64 *readdir64(DIR *d)
{
	static struct dirent64 *(*next)(DIR *);
	if (!next)
		next = (struct dirent64 * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir64");
	struct dirent64 *e;
	do
		e = next(d);
	while (e && hidden(d, e->d_name));
	return e;
}
