# pxrun simulator: `ip`, showing the container's own interfaces from its config (written by
# the simulator to /var/lib/pxrun-sim/network: `name mac address/prefix gateway` lines).
# The command runs in the host's network namespace, so nothing is ever changed: every
# other use answers as an unprivileged container would.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
net=$PXSIM_STATE/network
obj=""
for a in "$@"; do
    case "$a" in
        add|del|delete|set|change|replace|flush|append|prepend)
            echo "RTNETLINK answers: Operation not permitted" >&2; exit 2 ;;
        -*) ;;
        *) [ -z "$obj" ] && obj=$a ;;
    esac
done
case "$obj" in
    r|ro|rou|rout|route)
        awk '$4 != "-" && !d { print "default via " $4 " dev " $1; d = 1 }' "$net" 2>/dev/null
        case " $* " in *" default"*) exit 0 ;; esac
        awk '$3 != "-" { split($3, a, "/"); split(a[1], o, "."); p = a[2];
             n = o[1] * 16777216 + o[2] * 65536 + o[3] * 256 + o[4];
             m = 2 ^ 32 - 2 ^ (32 - p); n = n - n % (2 ^ (32 - p));
             printf "%d.%d.%d.%d/%d dev %s proto kernel scope link src %s\n",
                 int(n / 16777216), int(n / 65536) % 256, int(n / 256) % 256, n % 256, p, $1, a[1] }' "$net" 2>/dev/null ;;
    a|ad|add|addr|addre|addres|address|l|li|lin|link|"")
        echo "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN"
        echo "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"
        case "$obj" in l*) ;; *) echo "    inet 127.0.0.1/8 scope host lo" ;; esac
        awk -v show="$obj" '{ i = NR + 1; printf "%d: %s@if%d: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP\n", i, $1, 100 + i;
             printf "    link/ether %s brd ff:ff:ff:ff:ff:ff\n", $2;
             if (show !~ /^l/ && $3 != "-") printf "    inet %s scope global %s\n", $3, $1 }' "$net" 2>/dev/null ;;
    *) echo "RTNETLINK answers: Operation not permitted" >&2; exit 2 ;;
esac
exit 0
