// steptrace [-n] OUT -- CMD [ARG...]: single-steps CMD and (unless -n) every process it forks
// or clones, and writes the distinct instruction addresses met inside CMD's own executable (as offsets from
// its load address) to OUT, one hex offset per line. A process that execs something else
// is let go. Used by order.sh to list the functions brick runs (bench/README.md).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS (1u << 22)
static uint64_t *seen;
static uint64_t lo, hi;

static void remember(uint64_t off) {
    uint64_t h = (off * 0x9E3779B97F4A7C15ull) >> 42;
    for (;; h = (h + 1) & (SLOTS - 1)) {
        if (seen[h] == off + 1) return;
        if (seen[h] == 0) { seen[h] = off + 1; return; }
    }
}

// The executable mapping range of `exe` in pid's address space (its text and everything).
static int find_range(pid_t pid, const char *exe) {
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    lo = hi = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b, off;
        char perm[8], file[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &a, &b, perm, &off, file) < 4) continue;
        if (strcmp(file, exe) != 0) continue;
        if (!lo) lo = a - off;
        if (b > hi) hi = b;
    }
    fclose(f);
    return lo ? 0 : -1;
}

int main(int argc, char **argv) {
    // -n: CMD alone; `create` leaves an init waiting for `start` that must not stay traced.
    int follow = !(argc > 1 && strcmp(argv[1], "-n") == 0);
    if (!follow) argv++, argc--;
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: steptrace [-n] OUT -- CMD [ARG...]\n");
        return 2;
    }
    char exe[4096];
    if (!realpath(argv[3], exe)) { perror(argv[3]); return 2; }
    seen = calloc(SLOTS, sizeof *seen);
    pid_t root = fork();
    if (root == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        execv(argv[3], argv + 3);
        _exit(127);
    }
    int st, code = 0, live = 1, ranged = 0;
    waitpid(root, &st, 0);
    long opts = PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (follow) opts |= PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
    ptrace(PTRACE_SETOPTIONS, root, 0, opts);
    ptrace(PTRACE_CONT, root, 0, 0);
    while (live > 0) {
        pid_t p = waitpid(-1, &st, __WALL);
        if (p < 0) break;
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (p == root) code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            live--;
            continue;
        }
        int sig = WSTOPSIG(st), ev = st >> 16;
        if (ev == PTRACE_EVENT_CLONE || ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK) {
            live++;
            sig = 0;
        } else if (ev == PTRACE_EVENT_EXEC) {
            if (p == root && !ranged) {
                ranged = find_range(p, exe) == 0;
            } else {
                ptrace(PTRACE_DETACH, p, 0, 0);  // the container's own program: not ours
                live--;
                continue;
            }
            sig = 0;
        } else if (sig == SIGTRAP || (sig == SIGSTOP && st >> 16 == 0 && p != root)) {
            sig = 0;
        }
        if (ranged) {
            struct user_regs_struct r;
            if (ptrace(PTRACE_GETREGS, p, 0, &r) == 0 && r.rip >= lo && r.rip < hi) remember(r.rip - lo);
        }
        ptrace(ranged ? PTRACE_SINGLESTEP : PTRACE_CONT, p, 0, (void *)(long)sig);
    }
    FILE *out = fopen(argv[1], "a");
    if (!out) { perror(argv[1]); return 2; }
    for (uint64_t i = 0; i < SLOTS; i++)
        if (seen[i]) fprintf(out, "%lx\n", (unsigned long)(seen[i] - 1));
    fclose(out);
    return code;
}
