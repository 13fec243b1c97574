# pxrun simulator: apt-get / apt / apt-cache. Records the call; installs into the package list.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
action=""; pkgs=""; skip=0
for a in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$a" in
        -o|-c|-t|--target-release|--option) skip=1 ;;
        -*) ;;
        *) if [ -z "$action" ]; then action=$a; else pkgs="$pkgs $a"; fi ;;
    esac
done
case "$action" in
    update) echo "Reading package lists... Done" ;;
    install|reinstall)
        for p in $pkgs; do
            case "$p" in */*|*.deb) ;; *) pxsim_install "$p"; echo "Setting up ${p%%=*} ($PXSIM_VERSION) ..." ;; esac
        done ;;
    remove|purge|autoremove)
        for p in $pkgs; do pxsim_remove "$p"; echo "Removing $p ..."; done ;;
    policy|show)
        for p in $pkgs; do
            if pxsim_is_installed "$p"; then echo "$p:"; echo "  Installed: $(pxsim_version "$p")";
            else echo "$p:"; echo "  Installed: (none)"; fi
        done ;;
    list) while read -r n v; do echo "$n/stable,now $v amd64 [installed]"; done < "$PXSIM_STATE/packages" ;;
    ""|upgrade|dist-upgrade|full-upgrade|clean|autoclean|check|-) ;;
    *) ;;
esac
exit 0
