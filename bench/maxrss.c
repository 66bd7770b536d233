/* maxrss OUT PROG [ARGS...]: run PROG, write "<exit code> <ru_maxrss KiB>" to OUT, exit with
 * PROG's code. A small C parent, because a child forked from a big process (the Python harness)
 * starts with that process's RSS high-water mark, and ru_maxrss would report it instead. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: maxrss OUT PROG [ARGS...]\n");
		return 125;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("maxrss: fork");
		return 125;
	}
	if (pid == 0) {
		execv(argv[2], argv + 2);
		perror("maxrss: exec");
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("maxrss: wait4");
		return 125;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *f = fopen(argv[1], "w");
	if (f == NULL || fprintf(f, "%d %ld\n", code, ru.ru_maxrss) < 0 || fclose(f) != 0) {
		perror("maxrss: write result");
		return 125;
	}
	return code;
}
