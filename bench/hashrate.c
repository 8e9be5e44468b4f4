/* hashrate.c -- the rate the configured password hash alone allows: what
 * POST /auth/signin is measured against.
 *
 *   hashrate ITERATIONS PROCS SECONDS
 *
 * Runs PROCS processes (one per sessiongate worker) that each compute
 * PBKDF2-HMAC-SHA256 with sessiongate's parameters (16-byte salt, 32-byte
 * key) at ITERATIONS in a loop for SECONDS, and prints
 *   hashrate iterations=N procs=P hashes=H seconds=S rate=R cpu_ms=C
 * where C is the CPU time (user + system) per hash, and R is the sum over the processes of hashes finished / time taken
 * by them (each process stops at the first hash that ends after SECONDS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const char pw[] = "bench-password-0123456789";
    unsigned char salt[16] = "0123456789abcdef", key[32];
    int iterations, procs, p, fds[2];
    double seconds, rate = 0, hashes = 0, cpu;
    struct rusage ru;

    if (argc != 4) {
        fprintf(stderr, "usage: hashrate ITERATIONS PROCS SECONDS\n");
        return 2;
    }
    iterations = atoi(argv[1]);
    procs = atoi(argv[2]);
    seconds = atof(argv[3]);
    if (iterations < 1 || procs < 1 || procs > 64 || seconds <= 0) {
        fprintf(stderr, "hashrate: bad arguments\n");
        return 2;
    }
    if (pipe(fds) != 0)
        return 1;
    for (p = 0; p < procs; p++) {
        if (fork() == 0) {
            double r[2] = {0, 0}, t0 = now(); /* hashes, elapsed */

            while (r[1] < seconds) {
                if (!PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt,
                                       (int)sizeof(salt), iterations,
                                       EVP_sha256(), (int)sizeof(key), key))
                    _exit(1);
                r[0] += 1;
                r[1] = now() - t0;
            }
            if (write(fds[1], r, sizeof(r)) != (ssize_t)sizeof(r))
                _exit(1);
            _exit(0);
        }
    }
    close(fds[1]);
    for (p = 0; p < procs; p++) {
        double r[2];

        if (read(fds[0], r, sizeof(r)) == (ssize_t)sizeof(r) && r[1] > 0) {
            hashes += r[0];
            rate += r[0] / r[1];
        }
    }
    while (wait(NULL) > 0)
        ;
    getrusage(RUSAGE_CHILDREN, &ru);
    cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
          (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    printf("hashrate iterations=%d procs=%d hashes=%.0f seconds=%.2f "
           "rate=%.2f cpu_ms=%.1f\n",
           iterations, procs, hashes, seconds, rate,
           hashes > 0 ? cpu / hashes : 0.0);
    return 0;
}
