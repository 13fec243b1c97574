# pxrun simulator: pacman. Records the call; installs into the package list.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
op=""; pkgs=""; rc=0
for a in "$@"; do
    case "$a" in
        -S*|-R*|-Q*) op=$(printf '%s' "$a" | cut -c2) ;;
        -*) ;;
        *) pkgs="$pkgs $a" ;;
    esac
done
for p in $pkgs; do
    case "$op" in
        S) pxsim_install "$p" ;;
        R) pxsim_remove "$p" ;;
        Q) if pxsim_is_installed "$p"; then echo "$p $(pxsim_version "$p")"; else
               echo "error: package '$p' was not found" >&2; rc=1; fi ;;
    esac
done
exit $rc
