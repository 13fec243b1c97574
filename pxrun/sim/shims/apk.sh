# pxrun simulator: apk. Records the call; installs into the package list.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
action=""; pkgs=""; exists=0; rc=0; skip=0
for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$a" in
        -e|--installed) exists=1 ;;
        -X|--repository|-p|--root) skip=1 ;;
        -*) ;;
        *) if [ -z "$action" ]; then action=$a; else pkgs="$pkgs $a"; fi ;;
    esac
done
case "$action" in
    add) for p in $pkgs; do pxsim_install "$p"; echo "(1/1) Installing $p ($PXSIM_VERSION)"; done; echo "OK" ;;
    del) for p in $pkgs; do pxsim_remove "$p"; done ;;
    info)
        for p in $pkgs; do
            if pxsim_is_installed "$p"; then echo "$p"; else rc=1; fi
        done
        [ "$exists" = 1 ] || [ -n "$pkgs" ] || cut -d' ' -f1 "$PXSIM_STATE/packages" ;;
esac
exit $rc
