/* replay.c -- run a fuzz target's corpus without libFuzzer, for make check.
 *
 * Linked with one tests/fuzz/fuzz_X.c in place of libFuzzer's main: each
 * file named on the command line (a directory stands for the files in it,
 * in name order) is read whole and fed once to LLVMFuzzerTestOneInput,
 * and each prints one TAP line, "ok N - file", so automake's TAP driver
 * counts every input. A crash or an abort() in the target prints
 * "not ok N - file # crashed" before the process dies, so the log names
 * the input (the driver also reports the missing plan); a file that
 * cannot be read is "not ok" too.
 *
 * With no arguments the corpus is $SG_SRCDIR/tests/fuzz/corpus/X, X being
 * the program's name without its "fuzz_" prefix, so make check can list
 * the binaries as tests as they are. The target's LLVMFuzzerInitialize,
 * if it has one, runs first, as libFuzzer would run it.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPLAY_FILE_MAX (1 << 20) /* corpora hold small files */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int count, failed;

/* The TAP line for the input being replayed should it crash, written
 * beforehand so that the signal handler only has to write(2) it. */
static char crash_line[512];
static size_t crash_line_len;

static void on_crash(int sig)
{
    if (crash_line_len && write(STDOUT_FILENO, crash_line, crash_line_len))
        crash_line_len = 0;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* "token/hs256-valid" for ".../tests/fuzz/corpus/token/hs256-valid":
 * the file and its directory are name enough, and stable across trees. */
static const char *short_name(const char *path)
{
    const char *p = path + strlen(path);
    int slashes = 0;

    while (p > path && !(p[-1] == '/' && ++slashes == 2))
        p--;
    return p;
}

static void result(int ok, const char *path, const char *why)
{
    const char *name = short_name(path);

    count++;
    printf("%sok %d - %s%s%s\n", ok ? "" : "not ", count, name,
           why ? " # " : "", why ? why : "");
    if (!ok)
        failed++;
    fflush(stdout);
}

/* Read path whole into a buffer of exactly its size, so that a target
 * reading past the end of its input is caught by ASan or valgrind. */
static void replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long size = -1;

    if (f && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (!f || size < 0 || size > REPLAY_FILE_MAX || fseek(f, 0, SEEK_SET)) {
        result(0, path, "cannot read");
        goto out;
    }
    data = malloc(size ? (size_t)size : 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        result(0, path, "cannot read");
        goto out;
    }
    fflush(stdout);
    snprintf(crash_line, sizeof(crash_line), "not ok %d - %s # crashed\n",
             count + 1, short_name(path));
    crash_line_len = strlen(crash_line);
    LLVMFuzzerTestOneInput(data, (size_t)size);
    crash_line_len = 0;
    result(1, path, NULL);
out:
    free(data);
    if (f)
        fclose(f);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, **grown;
    size_t n = 0, cap = 0, len;

    if (!d) {
        result(0, dir, "cannot open directory");
        return;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') /* ".", "..", and hidden files */
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            if (!(grown = realloc(names, cap * sizeof(*names))))
                break;
            names = grown;
        }
        len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len)))
            break;
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n == 0)
        result(0, dir, "empty corpus");
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        replay_file(names[i]);
        free(names[i]);
    }
    free(names);
}

static void replay(const char *path)
{
    struct stat st;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        replay_dir(path);
    else
        replay_file(path);
}

int main(int argc, char **argv)
{
    const char *srcdir = getenv("SG_SRCDIR");
    const char *base = strrchr(argv[0], '/');
    char corpus[4096];

    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);
    signal(SIGABRT, on_crash);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            replay(argv[i]);
    } else {
        base = base ? base + 1 : argv[0];
        if (strncmp(base, "fuzz_", 5) == 0)
            base += 5;
        snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s",
                 srcdir && *srcdir ? srcdir : ".", base);
        replay(corpus);
    }
    printf("1..%d\n", count);
    return failed ? 1 : 0;
}
