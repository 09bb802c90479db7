/* A process whose thread-group leader has exited while another thread lives on
 * (tests/owners_bpf.rs): the leader is a zombie, /proc/PID/fd (its table) is empty,
 * and /proc/PID/task/TID/fd still lists the process's descriptors.
 *
 *     zombie_leader PORT
 *
 * Before its leader exits, the process listens on TCP 127.0.0.1:PORT and forks a
 * child (comm "rnt-zl-kid") that keeps that listener too; its other thread then
 * listens on TCP 127.0.0.1:PORT+1 and binds UDP 127.0.0.1:PORT+1, which only this
 * process holds. Once /proc/self/stat shows the leader as a zombie (state Z) it
 * prints "PID TID KIDPID" and waits for stdin to close; "not-zombie" if the leader
 * never became one. Every process of it ends when stdin closes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int port;
static pid_t kid;

static int bound(int type, int p)
{
    int s = socket(AF_INET, type, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        (type == SOCK_STREAM && listen(s, 8) != 0)) {
        perror("bind");
        exit(1);
    }
    return s;
}

/* The state letter of /proc/self/stat: the thread-group leader's. */
static char leader_state(void)
{
    char buf[512];
    int fd = open("/proc/self/stat", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return '?';
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* Stdin closed (or failed): the whole process and its child go. */
static void wait_for_eof(void)
{
    char c;
    while (read(0, &c, 1) > 0)
        ;
    if (kid > 0)
        kill(kid, SIGKILL);
    _exit(0);
}

static void *holder(void *arg)
{
    (void)arg;
    bound(SOCK_STREAM, port + 1);
    bound(SOCK_DGRAM, port + 1);
    for (int i = 0; i < 1000 && leader_state() != 'Z'; i++) {
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    if (leader_state() != 'Z')
        printf("not-zombie\n");
    else
        printf("%d %ld %d\n", getpid(), (long)syscall(SYS_gettid), kid);
    fflush(stdout);
    wait_for_eof();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    port = atoi(argv[1]);
    bound(SOCK_STREAM, port);
    kid = fork();
    if (kid < 0)
        return 1;
    if (kid == 0) {
        /* Not PR_SET_PDEATHSIG: that fires when the forking thread (the leader) exits. */
        char c;
        prctl(PR_SET_NAME, "rnt-zl-kid");
        while (read(0, &c, 1) > 0)
            ;
        _exit(0);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, holder, NULL) != 0)
        return 1;
    /* The leader alone exits (not exit(3), which ends every thread). */
    syscall(SYS_exit, 0);
    return 0;
}
