/* config.h -- sessiongate.conf: parse, validate, defaults.
 *
 * The file is "key = value" lines; '#' starts a comment line; blank lines
 * are ignored. Every key has a default (see conf/sessiongate.conf, which
 * documents each one), unknown and repeated keys are errors, and an error
 * names the file, the line and the key. Durations take a unit suffix
 * (ms, s, m, h, d; a bare number is seconds), sizes an optional k/K or m/M
 * (KiB, MiB). Secrets are never inline: they are read from the files the
 * *_file keys name.
 *
 * The config is parsed once at start (and again on SIGHUP in the master)
 * and is read-only afterwards.
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include "sg.h"

enum sg_log_level { SG_LOG_ERROR, SG_LOG_WARN, SG_LOG_INFO, SG_LOG_DEBUG };

enum sg_store_error_policy { SG_FAIL_CLOSED, SG_VERIFY_SIGNATURE_ONLY };
enum sg_verify_mode { SG_VERIFY_ROUNDTRIP, SG_VERIFY_LOCAL };

/* What a rate-limit policy counts per: the client IP, the account (email)
 * named in the request, the session, or the authenticated user. */
enum sg_limit_key {
    SG_LIMIT_IP,
    SG_LIMIT_ACCOUNT,
    SG_LIMIT_SESSION,
    SG_LIMIT_USER
};

/* "LIMIT/WINDOW KEY" in the file, e.g. "10/1m ip"; "off" is limit 0. */
struct sg_rate_policy {
    int limit;
    int64_t window_ms;
    enum sg_limit_key key;
};

struct sg_config {
    char *path; /* file it was read from, or NULL */

    /* process */
    int workers;     /* -1: not set (spawned: 0, standalone: 2) */
    int socket_mode; /* unix socket permissions in standalone mode */
    enum sg_log_level log_level;
    size_t max_body_bytes;
    /* the longest wait on a FastCGI peer (fcgi_io_timeout) */
    int64_t fcgi_io_timeout_ms;
    char *trusted_proxies; /* CIDR list, comma or space separated */
    char *mount; /* the API's path prefix; NULL: SCRIPT_NAME says */

    /* redis */
    char *redis; /* "unix:/path/redis.sock" or "host:port" */
    char *redis_password_file;
    int redis_db;
    char *redis_sentinels;   /* "host:port, ...": ask them for the master */
    char *redis_master_name; /* the name the sentinels monitor it by */
    char *redis_cluster;     /* "host:port, ...": a cluster's seed nodes */
    char *redis_sentinel_password_file;
    int64_t redis_connect_timeout_ms;
    int64_t redis_timeout_ms;
    bool redis_tls;              /* TLS to Redis (store_tls.c) */
    char *redis_tls_ca_file;     /* NULL: the system's trusted CAs */
    char *redis_tls_cert_file;   /* a client certificate, with its key */
    char *redis_tls_key_file;
    char *redis_tls_server_name; /* NULL: the host of `redis` */
    char *key_prefix;
    enum sg_store_error_policy on_store_error;

    /* verify_mode = local (issue 17: in progress, roundtrip by default) */
    enum sg_verify_mode verify_mode;
    int revocation_table_slots;
    int64_t revocation_max_lag_ms;
    int64_t activity_flush_ms;

    /* tokens (durations in seconds) */
    char *jwt_algorithm;        /* "HS256", "RS256" or "ES256" */
    char *jwt_secret_file;      /* HS256: at least 32 bytes */
    char *jwt_private_key_file; /* RS256/ES256: PEM */
    char *jwt_kid;
    char *jwt_public_keys; /* extra verification keys: "kid=path, ..." */
    char *jwt_issuer;
    char *jwt_audience;
    int64_t access_token_ttl;
    int64_t refresh_token_ttl;
    int64_t refresh_reuse_grace_ms; /* 0: a rotated token is reuse at once */
    int64_t clock_skew;

    /* sessions (seconds) */
    int64_t session_idle_timeout;
    int64_t session_lifetime;
    int max_sessions_per_user;

    /* users */
    bool registration_open;
    int password_min_length;
    int pbkdf2_iterations;

    /* browsers */
    bool cookie_auth;      /* tokens also travel as HttpOnly cookies */
    bool cookie_secure;    /* Secure + __Host- names; off only for http dev */
    char *allowed_origins; /* extra origins for the CSRF check */
    char *signin_url;      /* authorizer: where to send a browser on 401 */

    /* rate limits (sliding windows shared through Redis) */
    struct sg_rate_policy ratelimit_signin;         /* every sign-in */
    struct sg_rate_policy ratelimit_signin_failure; /* failed sign-ins */
    struct sg_rate_policy ratelimit_register;
    struct sg_rate_policy ratelimit_refresh;
    struct sg_rate_policy ratelimit_user; /* every authenticated route */
    struct sg_rate_policy ratelimit_refresh_failure; /* per address */
    int ipv6_prefix; /* IPv6 clients are counted per block of this size */

    /* observability */
    bool metrics;        /* GET /metrics answers (metrics.c) */
    char *metrics_allow; /* CIDR list of who may scrape it */
    bool audit;          /* the audit trail (audit.c), whatever log_level */
};

/* Parse path into a new config (defaults for every key not in the file).
 * On failure returns NULL and writes "file:line: key: reason" to err. */
struct sg_config *sg_config_load(const char *path, char *err, size_t errlen);

/* Parse text[0..len) as if it were a file named name. For tests, and the
 * body of sg_config_load. */
struct sg_config *sg_config_parse(const char *name, const char *text,
                                  size_t len, char *err, size_t errlen);

/* A config holding only the defaults. */
struct sg_config *sg_config_new_default(void);

void sg_config_free(struct sg_config *cfg);

/* cfg as "key = value" lines, every key once, in the order of
 * conf/sessiongate.conf: text that parses back to the same settings (it
 * holds file names, never secrets). For printing the effective config,
 * and for the test that keeps the sample file and the defaults in step.
 * The caller frees; NULL when out of memory. */
char *sg_config_dump(const struct sg_config *cfg);

/* Parse a duration ("500ms", "30s", "15m", "24h", "30d", "90" = seconds)
 * into milliseconds. 0 or SG_EINVAL. */
int sg_config_parse_duration_ms(const char *s, int64_t *ms);

/* Read a whole small file (a secret or a key) into a new NUL-terminated
 * buffer; trailing newlines are stripped when strip is true. Files over
 * max bytes are refused. The caller frees *out (and should wipe it). */
int sg_config_read_file(const char *path, size_t max, bool strip, char **out,
                        size_t *outlen);

#endif
