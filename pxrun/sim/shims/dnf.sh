# pxrun simulator: dnf / yum / rpm. Records the call; installs into the package list.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
if [ "$tool" = rpm ]; then
    query=0; rc=0
    for a in "$@"; do
        case "$a" in
            -q|-qa|--query) query=1 ;;
            -*) ;;
            *) if [ "$query" = 1 ]; then
                   if pxsim_is_installed "$a"; then echo "$a-$(pxsim_version "$a").x86_64";
                   else echo "package $a is not installed"; rc=1; fi
               fi ;;
        esac
    done
    exit $rc
fi
action=""; pkgs=""
for a in "$@"; do
    case "$a" in
        -*) ;;
        *) if [ -z "$action" ]; then action=$a; else pkgs="$pkgs $a"; fi ;;
    esac
done
case "$action" in
    install|reinstall) for p in $pkgs; do pxsim_install "$p"; echo "Installed: $p-$PXSIM_VERSION"; done; echo "Complete!" ;;
    remove|erase) for p in $pkgs; do pxsim_remove "$p"; done; echo "Complete!" ;;
esac
exit 0
