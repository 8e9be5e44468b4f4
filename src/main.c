/* main.c -- command line and choice of mode; nothing else.
 *
 * One binary runs five ways, chosen from how it was started, in this
 * order:
 *   fd 0 a listening socket   spawned by the web server (lighttpd, mod_fcgid)
 *   GATEWAY_INTERFACE set     plain CGI, one request
 *   user|sessions|bans ...    the operator CLI (cli.c)
 *   --listen ADDRESS          standalone FastCGI server (nginx)
 *   LISTEN_FDS from systemd   the same, on the socket systemd passed
 *   --check-config            validate the configuration and exit
 * Under a web server (the first two) argv is never read: see
 * run_under_server().
 * The configuration file is --config, else $SESSIONGATE_CONFIG, else
 * SYSCONFDIR/sessiongate/sessiongate.conf.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctx.h"
#include "log.h"
#include "server.h"
#include "transport.h"

#ifndef SG_SYSCONFDIR
#define SG_SYSCONFDIR "/etc"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

struct options {
    const char *config_path;
    const char *listen;
    int workers; /* -1: from the config */
    bool check_config;
    int activated_fd;    /* socket activation: systemd's socket, else -1 */
    char activated[128]; /* what it listens on, for the log */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sessiongate [--config FILE] [--listen unix:PATH|HOST:PORT]"
            " [--workers N]\n"
            "       sessiongate --check-config [--config FILE]\n"
            "       sessiongate user|sessions|bans ... (see: sessiongate user "
            "--help)\n"
            "       sessiongate --version | --help\n"
            "\n"
            "Started by a web server with a listening socket on fd 0 it "
            "serves FastCGI;\n"
            "with GATEWAY_INTERFACE set it answers one CGI request; in both "
            "cases it\n"
            "reads no option and the config file is $SESSIONGATE_CONFIG, "
            "else\n"
            "%s/sessiongate/sessiongate.conf. With --listen it is a "
            "standalone\n"
            "pre-forking FastCGI server whose config file is --config, else "
            "the same;\n"
            "started by systemd with a socket (LISTEN_FDS) it serves on that "
            "one.\n",
            SG_SYSCONFDIR);
}

static int parse_workers(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);

    return (*s && !*end && n >= 0 && n <= 256) ? (int)n : -2;
}

/* 0 to go on, else the exit status + 1. */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"workers", required_argument, NULL, 'w'},
        {"check-config", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    o->workers = -1;
    o->activated_fd = -1;
    while ((c = getopt_long(argc, argv, "c:l:w:tVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config_path = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'w':
            if ((o->workers = parse_workers(optarg)) < 0) {
                fprintf(stderr, "sessiongate: --workers takes 0 to 256\n");
                return 3;
            }
            break;
        case 't':
            o->check_config = true;
            break;
        case 'V':
            printf("sessiongate %s\n", PACKAGE_VERSION);
            return 1;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 3;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sessiongate: unexpected argument '%s'\n",
                argv[optind]);
        return 3;
    }
    if (!o->config_path)
        o->config_path = getenv("SESSIONGATE_CONFIG");
    if (!o->config_path)
        o->config_path = SG_SYSCONFDIR "/sessiongate/sessiongate.conf";
    return 0;
}

/* Vet everything the config names (files, keys) by building a context
 * once, so a master never forks workers that cannot start. */
static bool vet_config(const struct sg_config *cfg, char *err, size_t errlen)
{
    struct sg_ctx *ctx = sg_ctx_new(cfg, err, errlen);

    sg_ctx_free(ctx);
    return ctx != NULL;
}

static int run_cgi(struct sg_config *cfg)
{
    char err[512];
    struct sg_ctx *ctx = sg_ctx_new_once(cfg, err, sizeof(err));

    if (!ctx) {
        sg_log_error("%s", err);
        sg_cgi_fail();
        sg_config_free(cfg);
        return 1;
    }
    sg_cgi_serve(ctx);
    sg_ctx_free(ctx);
    sg_config_free(cfg);
#if !defined(__SANITIZE_ADDRESS__) && !defined(SG_COVERAGE)
    /* The answer is written and everything freed: skip the libraries' exit
     * handlers (OpenSSL's cleanup alone was 7% of a CGI request). Sanitizer
     * and coverage builds exit normally so that LeakSanitizer still checks
     * and gcov writes its counts. */
    _exit(0);
#endif
    return 0;
}

/* Standalone workers when neither --workers nor the config says: each
 * worker blocks on its Redis round trip, so a worker per core leaves the
 * cores idle while Redis answers; four per core kept them busy in
 * docs/PERFORMANCE.md (2 -> 8 workers on 2 cores: verify +50 %), at
 * ~5 MiB each. */
static int default_workers(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    if (cores < 1)
        cores = 1;
    return cores > 16 ? 64 : 4 * (int)cores;
}

static int run_fastcgi(const struct options *o, struct sg_config *cfg)
{
    struct sg_server srv = {.config_path = o->config_path, .cfg = cfg};
    char err[512];

    srv.workers = o->workers >= 0 ? o->workers : cfg->workers;
    srv.standalone = o->listen || o->activated_fd >= 0;
    if (srv.standalone && srv.workers < 0)
        srv.workers = default_workers();
    if (o->activated_fd >= 0) {
        /* systemd's socket wins: the unit's ListenStream= is the one the
         * web server was pointed at, --listen a leftover */
        if (o->listen)
            sg_log_info("socket activation: --listen %s ignored", o->listen);
        srv.listen_fd = o->activated_fd;
        sg_log_info("listening on %s (socket activation)", o->activated);
    } else if (o->listen) {
        srv.listen_fd =
            sg_server_listen(o->listen, cfg->socket_mode, err, sizeof(err));
        if (srv.listen_fd < 0) {
            sg_log_error("cannot listen: %s", err);
            sg_config_free(cfg);
            return 1;
        }
        if (strncmp(o->listen, "unix:", 5) == 0)
            srv.unix_path = o->listen + 5;
        sg_log_info("listening on %s", o->listen);
    } else if (srv.workers < 0) {
        srv.workers = 0;
    }
    return sg_server_run(&srv);
}

/* Started by a web server: as CGI, or spawned as FastCGI with the
 * listening socket on fd 0. argv then belongs to the server, and for CGI
 * to the client: RFC 3875 section 4.4 turns a query string without '='
 * into arguments ("?user+roles+EMAIL+admin"). Nothing in it is read, not
 * even --config: the configuration is $SESSIONGATE_CONFIG or the default
 * path, the workers are the config's. */
static int run_under_server(int argc, bool cgi)
{
    struct options o = {.workers = -1, .activated_fd = -1};
    struct sg_config *cfg;
    char err[512];

    o.config_path = getenv("SESSIONGATE_CONFIG");
    if (!o.config_path || !*o.config_path)
        o.config_path = SG_SYSCONFDIR "/sessiongate/sessiongate.conf";
    cfg = sg_config_load(o.config_path, err, sizeof(err));
    if (cfg && cgi) {
        sg_log_set_level(cfg->log_level);
        return run_cgi(cfg); /* builds its context once, vetting included */
    }
    if (cfg && !vet_config(cfg, err, sizeof(err))) {
        sg_config_free(cfg);
        cfg = NULL;
    }
    if (!cfg) {
        sg_log_error("%s", err);
        if (cgi)
            sg_cgi_fail();
        else if (argc > 1)
            sg_log_error("started by a web server: command-line arguments "
                         "(--config too) are ignored; set SESSIONGATE_CONFIG");
        return 1;
    }
    sg_log_set_level(cfg->log_level);
    if (argc > 1) /* the operator's bin-path, not a client's: say it once */
        sg_log_warn("started by a web server: command-line arguments are "
                    "ignored; set SESSIONGATE_CONFIG to choose the config");
    return run_fastcgi(&o, cfg);
}

int main(int argc, char **argv)
{
    struct options o = {0};
    struct sg_config *cfg;
    char err[512];
    int rc;

    /* a web server may signal a process it has only just spawned: held
     * until the server's handlers are in (or released for CGI and the
     * CLI) */
    sg_server_hold_signals();
    sg_fcgi_init();
    if (sg_fcgi_fd0_is_listener())
        return run_under_server(argc, false);
    if (getenv("GATEWAY_INTERFACE")) {
        /* RFC 3875 4.1.12: a CGI request always has REQUEST_METHOD. An
         * environment without it is a shell that inherited the variable:
         * no request to answer, and still no command run from argv. */
        if (getenv("REQUEST_METHOD")) {
            sg_server_restore_signals(); /* CGI: one request, no handlers */
            return run_under_server(argc, true);
        }
        fprintf(stderr, "sessiongate: GATEWAY_INTERFACE is set but "
                        "REQUEST_METHOD is not; refusing to run as a "
                        "command in a CGI environment (unset "
                        "GATEWAY_INTERFACE)\n");
        return 2;
    }
    if (sg_cli_is_command(argc, argv)) {
        sg_server_restore_signals();
        return sg_cli_main(argc, argv);
    }
    if ((rc = parse_args(argc, argv, &o)))
        return rc - 1;
    if (!o.check_config &&
        (o.activated_fd = sg_server_activated(o.activated, sizeof(o.activated),
                                              err, sizeof(err))) == -2) {
        sg_log_error("%s", err);
        return 1;
    }
    if (!o.listen && o.activated_fd < 0 && !o.check_config) {
        fprintf(stderr, "sessiongate: not started by a web server; use "
                        "--listen ADDRESS to serve FastCGI (see --help)\n");
        return 2;
    }
    cfg = sg_config_load(o.config_path, err, sizeof(err));
    if (cfg && !vet_config(cfg, err, sizeof(err))) {
        sg_config_free(cfg);
        cfg = NULL;
    }
    if (!cfg) {
        if (o.check_config) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        sg_log_error("%s", err);
        return 1;
    }
    sg_log_set_level(cfg->log_level);
    if (o.check_config) {
        printf("%s: configuration is valid\n", o.config_path);
        sg_config_free(cfg);
        return 0;
    }
    return run_fastcgi(&o, cfg);
}
