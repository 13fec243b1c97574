# pxrun simulator: getent. The `hosts` databases answer from /etc/hosts, then from a
# simulated DNS that resolves every name to a documentation address (198.51.100.0/24) when
# the container has a default route and a nameserver; other databases are the real getent.
tool=$1; shift
case "$1" in
    hosts|ahosts|ahostsv4) ;;
    *) exec /opt/pxrun-sim/host/getent "$@" ;;
esac
. /opt/pxrun-sim/lib/lib.sh
pxsim_log "$tool" "$@"
shift
rc=0
online() {
    awk '$4 != "-" { found = 1 } END { exit !found }' "$PXSIM_STATE/network" 2>/dev/null &&
        grep -q '^nameserver' /etc/resolv.conf 2>/dev/null
}
for name in "$@"; do
    found=$(awk -v n="$name" '!/^#/ { for (i = 2; i <= NF; i++) if ($i == n) { print $1; exit } }' /etc/hosts 2>/dev/null)
    if [ -z "$found" ] && online; then
        sum=$(printf '%s' "$name" | cksum | cut -d' ' -f1)
        found="198.51.100.$((sum % 254 + 1))"
    fi
    if [ -n "$found" ]; then printf '%-15s %s\n' "$found" "$name"; else rc=2; fi
done
exit $rc
