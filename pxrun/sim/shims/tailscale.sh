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
        want=""; key=""
        for a in "$@"; do
            case "$want" in hostname) name=$a ;; key) key=$a ;; esac
            want=""
            case "$a" in
                --hostname) want=hostname ;; --hostname=*) name=${a#*=} ;;
                --authkey|--auth-key) want=key ;; --authkey=*|--auth-key=*) key=${a#*=} ;;
            esac
        done
        case "$key" in
            file:*) f=${key#file:}
                    if [ ! -r "$f" ]; then echo "invalid auth key file $f: no such file" >&2; exit 1; fi
                    key=$(cat "$f") ;;
        esac
        if [ -z "$key" ] && [ ! -f "$state" ]; then
            echo "To authenticate, visit: https://login.tailscale.com/a/pxrunsim" >&2; exit 1
        fi
        case "$key" in
            ""|tskey-*) ;;
            *) echo "backend error: invalid key: unable to validate API key" >&2; exit 1 ;;
        esac
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
