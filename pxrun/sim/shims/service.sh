# pxrun simulator: systemctl / service / rc-service / rc-update. Records the call; keeps
# enabled/active flags per unit so is-active / is-enabled / status answer consistently.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
mkdir -p "$PXSIM_STATE/enabled" "$PXSIM_STATE/active"
unit() { u=${1%.service}; printf '%s' "${u%.socket}"; }
on() { : > "$PXSIM_STATE/$1/$(unit "$2")"; }
off() { rm -f "$PXSIM_STATE/$1/$(unit "$2")"; }
is() { [ -f "$PXSIM_STATE/$1/$(unit "$2")" ]; }
case "$tool" in
    service) set -- "$2" "$1" ;;                       # service UNIT ACTION
    rc-service) set -- "$2" "$1" ;;                    # rc-service UNIT ACTION
    rc-update) case "$1" in add) set -- enable "$2" ;; del) set -- disable "$2" ;; *) exit 0 ;; esac ;;
esac
now=0; action=""; units=""
for a in "$@"; do
    case "$a" in
        --now) now=1 ;;
        -*) ;;
        *) if [ -z "$action" ]; then action=$a; else units="$units $a"; fi ;;
    esac
done
rc=0
for u in $units; do
    case "$action" in
        enable) on enabled "$u"; [ "$now" = 1 ] && on active "$u" ;;
        disable) off enabled "$u"; [ "$now" = 1 ] && off active "$u" ;;
        start|restart|reload|try-restart|reload-or-restart) on active "$u" ;;
        stop) off active "$u" ;;
        is-active) if is active "$u"; then echo active; else echo inactive; rc=3; fi ;;
        is-enabled) if is enabled "$u"; then echo enabled; else echo disabled; rc=1; fi ;;
        status) if is active "$u"; then echo "* $u.service - $u (simulated)"; echo "     Active: active (running)";
                else echo "* $u.service - $u (simulated)"; echo "     Active: inactive (dead)"; rc=3; fi ;;
    esac
done
exit $rc
