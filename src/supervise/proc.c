/* /proc/PID/stat readers and exit descriptions for the master. */
#include "supervise/proc.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reads /proc/PID/stat and returns a pointer just after the command name (field 2),
 * which may hold spaces and ')'; NULL when the process is gone. */
static char *read_stat(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p + 1 : NULL;
}

pid_t proc_parent(pid_t pid)
{
    char buf[1024];
    char *p = read_stat(pid, buf, sizeof(buf));
    char state;
    int ppid;
    if (!p || sscanf(p, " %c %d", &state, &ppid) != 2 || ppid < 0)
        return 0;
    return (pid_t)ppid;
}

uint64_t proc_start_time(pid_t pid)
{
    char buf[1024];
    char *p = read_stat(pid, buf, sizeof(buf));
    if (!p)
        return 0;
    /* Fields from 3 on; the start time is field 22, so skip 19 more fields. A zombie
     * still has a start time, but its state (field 3) is 'Z': report it as gone. */
    char *save = NULL;
    char *tok = strtok_r(p, " ", &save);
    if (!tok || tok[0] == 'Z' || tok[0] == 'X')
        return 0;
    for (int field = 4; field <= 22; field++) {
        tok = strtok_r(NULL, " ", &save);
        if (!tok)
            return 0;
    }
    return strtoull(tok, NULL, 10);
}

void proc_describe_exit(int code, int status, char *buf, size_t size)
{
    if (code == CLD_EXITED)
        snprintf(buf, size, "exited with status %d", status);
    else if (code == CLD_KILLED || code == CLD_DUMPED)
        snprintf(buf, size, "was killed by signal %d (%s)", status, strsignal(status));
    else
        snprintf(buf, size, "ended (code %d, status %d)", code, status);
}
