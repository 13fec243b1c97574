# pxrun simulator: helpers shared by the shims (sourced, POSIX sh).
# Why: package and service managers inside a simulated container must "succeed" without a
# network and leave a trace tests can read: one JSON line per call in
# /var/log/pxrun-sim/<tool>.log, installed packages in /var/lib/pxrun-sim/packages
# ("name version" lines), services in /var/lib/pxrun-sim/{enabled,active}/<unit>.
# Values after --authkey/--auth-key/--password (and their = forms) are never written down,
# except a `file:/path` reference (Tailscale's way to read the key from a file), which is
# what a careful caller passes and what a test wants to see.

PXSIM_STATE=/var/lib/pxrun-sim
PXSIM_LOG=/var/log/pxrun-sim
PXSIM_VERSION=1.0-sim

pxsim_esc() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' \
        | awk 'BEGIN { ORS = "" } NR > 1 { print "\\n" } { print }'
}

pxsim_log() {
    _tool=$1; shift
    mkdir -p "$PXSIM_LOG"
    _json="{\"tool\":\"$_tool\",\"argv\":["
    _sep=""; _hide=0
    for _a in "$@"; do
        if [ "$_hide" = 1 ]; then case "$_a" in file:*) ;; *) _a="***" ;; esac; _hide=0; fi
        case "$_a" in
            --authkey|--auth-key|--password) _hide=1 ;;
            --authkey=file:*|--auth-key=file:*) ;;
            --authkey=*|--auth-key=*|--password=*) _a="${_a%%=*}=***" ;;
            tskey-*) _a="***" ;;
        esac
        _json="$_json$_sep\"$(pxsim_esc "$_a")\""
        _sep=","
    done
    _json="$_json],\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
    printf '%s\n' "$_json" >> "$PXSIM_LOG/$_tool.log"
}

pxsim_is_installed() {
    [ -f "$PXSIM_STATE/packages" ] && grep -q "^$1 " "$PXSIM_STATE/packages"
}

pxsim_version() {
    grep "^$1 " "$PXSIM_STATE/packages" 2>/dev/null | head -n 1 | cut -d' ' -f2
}

# A stub command in the container's own /usr/local/bin that runs a shim implementation.
pxsim_stub() {
    mkdir -p /usr/local/bin
    printf '#!/bin/sh\nexec /bin/sh /opt/pxrun-sim/lib/%s.sh %s "$@"\n' "$2" "$1" \
        > "/usr/local/bin/$1"
    chmod 755 "/usr/local/bin/$1"
}

pxsim_service_on() {
    mkdir -p "$PXSIM_STATE/enabled" "$PXSIM_STATE/active"
    : > "$PXSIM_STATE/enabled/$1"
    : > "$PXSIM_STATE/active/$1"
}

pxsim_install() {
    _pkg=${1%%=*}
    mkdir -p "$PXSIM_STATE"
    pxsim_is_installed "$_pkg" && return 0
    printf '%s %s\n' "$_pkg" "$PXSIM_VERSION" >> "$PXSIM_STATE/packages"
    case "$_pkg" in
        docker|docker-ce|docker.io|moby-engine|docker-engine)
            pxsim_stub docker docker; pxsim_service_on docker
            grep -q '^docker:' /etc/group 2>/dev/null || groupadd -r docker 2>/dev/null ;;
        docker-ce-cli) pxsim_stub docker docker ;;
        tailscale)
            pxsim_stub tailscale tailscale; pxsim_stub tailscaled tailscale
            pxsim_service_on tailscaled ;;
    esac
}

pxsim_remove() {
    _pkg=${1%%=*}
    [ -f "$PXSIM_STATE/packages" ] || return 0
    grep -v "^$_pkg " "$PXSIM_STATE/packages" > "$PXSIM_STATE/packages.new" || true
    mv "$PXSIM_STATE/packages.new" "$PXSIM_STATE/packages"
    case "$_pkg" in
        docker|docker-ce|docker.io|moby-engine) rm -f /usr/local/bin/docker ;;
        tailscale) rm -f /usr/local/bin/tailscale /usr/local/bin/tailscaled ;;
    esac
}
