# shellcheck shell=bash
# tests/net.sh -- loopback ports and test certificates, shared by
# tests/stack.sh and tests/integration/lib.sh (both source this file).

# sg_port_listening PORT: some socket listens on PORT (any address).
sg_port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v hex="$hex" '$4 == "0A" { n = split($2, a, ":"); if (a[n] == hex) found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# sg_pick_port: a free loopback port, random from 20000 up to the
# kernel's ephemeral range, not listening now. Below the ephemeral ports:
# a port that is some client's local end (curl, redis-cli, a worker's
# link) does not listen, yet a server cannot bind it.
sg_pick_port() {
    local port i span lo
    read -r lo _ 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range || lo=32768
    span=$((lo - 20000))
    [ "$span" -ge 1000 ] || span=40000
    for ((i = 0; i < 50; i++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % span))
        sg_port_listening "$port" || {
            echo "$port"
            return 0
        }
    done
    return 1
}

# sg_tls_certs DIR: DIR/ca.pem, a test CA, and DIR/redis.pem and
# DIR/redis.key, a certificate it signed for 127.0.0.1 and localhost
# (P-256, valid two days: a test run's); DIR and the CA readable by the
# stacks' app user. Kept if DIR/redis.pem is there already.
sg_tls_certs() {
    local d=$1
    [ -s "$d/redis.pem" ] && return 0
    mkdir -p "$d" && chmod 0755 "$d" || return 1
    (
        set -e
        umask 077
        openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=sessiongate-test-ca
        openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -keyout "$d/redis.key" -out "$d/redis.csr" -subj /CN=127.0.0.1
        printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$d/ext"
        openssl x509 -req -in "$d/redis.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
            -CAcreateserial -days 2 -extfile "$d/ext" -out "$d/redis.pem"
    ) >"$d/openssl.out" 2>&1 || { cat "$d/openssl.out" >&2; return 1; }
    chmod 0644 "$d/ca.pem"
}
