# pxrun simulator: locale-gen / update-locale / localedef. The host's locale data is
# read-only underneath, so generating only records which locales were asked for (in
# /var/lib/pxrun-sim/locales); update-locale writes /etc/default/locale as Debian's does.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
mkdir -p "$PXSIM_STATE"
add() { grep -qx "$1" "$PXSIM_STATE/locales" 2>/dev/null || echo "$1" >> "$PXSIM_STATE/locales"; }
case "$tool" in
    locale-gen)
        echo "Generating locales (this might take a while)..."
        if [ $# -gt 0 ]; then wanted="$*"
        else wanted=$(grep -v '^[[:space:]]*#' /etc/locale.gen 2>/dev/null | awk 'NF { print $1 }'); fi
        for l in $wanted; do echo "  $l... done"; add "$l"; done
        echo "Generation complete." ;;
    update-locale)
        touch /etc/default/locale 2>/dev/null || { mkdir -p /etc/default; touch /etc/default/locale; }
        for a in "$@"; do
            case "$a" in
                *=*) name=${a%%=*}
                     grep -v "^$name=" /etc/default/locale > /etc/default/locale.pxsim || true
                     echo "$a" >> /etc/default/locale.pxsim
                     mv /etc/default/locale.pxsim /etc/default/locale ;;
            esac
        done ;;
    localedef)
        last=""; for a in "$@"; do last=$a; done
        [ -n "$last" ] && add "$last" ;;
esac
exit 0
