# pxrun simulator: tailscale / tailscaled. Records the call with auth keys blanked; keeps a
# login state so `up`, `status`, `ip` and `logout` (run on destroy) answer consistently.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
[ "$tool" = tailscaled ] && exit 0
state=$PXSIM_STATE/tailscale
name=$(cat /etc/hostname 2>/dev/null || echo localhost)
n=$(printf '%s' "$name" | cksum | cut -d' ' -f1)
ip="100.64.$((n / 250 % 250 + 1)).$((n % 250 + 1))"
cmd=$1; [ $# -gt 0 ] && shift
daemon_up() {
    [ -f "$PXSIM_STATE/active/tailscaled" ] && return 0
    echo "failed to connect to local tailscaled; it doesn't appear to be running" >&2
    exit 1
}
case "$cmd" in
    version) echo "1.76.1-sim" ;;
    up|login)
        daemon_up
        want=0
        for a in "$@"; do
            if [ "$want" = 1 ]; then name=$a; want=0; fi
            case "$a" in --hostname) want=1 ;; --hostname=*) name=${a#*=} ;; esac
        done
        mkdir -p "$PXSIM_STATE"; printf 'up %s\n' "$name" > "$state" ;;
    down) daemon_up; [ -f "$state" ] && sed -i 's/^up /down /' "$state" ;;
    logout) daemon_up; rm -f "$state" ;;
    ip) daemon_up
        if [ ! -f "$state" ]; then echo "no current Tailscale IPs; state: NeedsLogin" >&2; exit 1; fi
        echo "$ip" ;;
    status)
        daemon_up
        if [ ! -f "$state" ]; then echo "Logged out."; exit 1; fi
        read -r st host < "$state"
        if [ "$st" != up ]; then echo "Tailscale is stopped."; exit 1; fi
        case " $* " in
            *" --json "*) printf '{"BackendState":"Running","Self":{"HostName":"%s","TailscaleIPs":["%s"],"Online":true}}\n' "$host" "$ip" ;;
            *) printf '%s  %s  pxrun@  linux  -\n' "$ip" "$host" ;;
        esac ;;
esac
exit 0
