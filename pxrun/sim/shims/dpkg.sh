# pxrun simulator: dpkg / dpkg-query, answering from the simulated package list.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
mode=""; fmt='${Package}\t${Version}\n'; rc=0
while [ $# -gt 0 ]; do
    case "$1" in
        -s|--status) mode=status ;;
        -l|--list) mode=list ;;
        -W|--show) mode=show ;;
        -f|--showformat) shift; fmt=$1 ;;
        --showformat=*|-f=*) fmt=${1#*=} ;;
        --print-architecture) echo amd64; exit 0 ;;
        -i|--install|--configure|-r|--remove|-P|--purge) mode=other ;;
        -*) ;;
        *) break ;;
    esac
    shift
done
for p in "$@"; do
    if ! pxsim_is_installed "$p"; then
        echo "dpkg-query: package '$p' is not installed and no information is available" >&2
        rc=1; continue
    fi
    v=$(pxsim_version "$p")
    case "$mode" in
        status) printf 'Package: %s\nStatus: install ok installed\nVersion: %s\nArchitecture: amd64\n\n' "$p" "$v" ;;
        show) printf '%s' "$fmt" | sed -e "s/\${Package}/$p/g" -e "s/\${binary:Package}/$p/g" \
                -e "s/\${Version}/$v/g" -e 's/\${Status}/install ok installed/g' \
                -e 's/\${db:Status-Abbrev}/ii /g' | awk '{ gsub(/\\t/, "\t"); gsub(/\\n/, "\n"); printf "%s", $0 }' ;;
        list) printf 'ii  %s  %s  amd64  (simulated)\n' "$p" "$v" ;;
    esac
done
if [ "$mode" = list ] && [ $# -eq 0 ]; then
    while read -r n v; do printf 'ii  %s  %s  amd64  (simulated)\n' "$n" "$v"; done < "$PXSIM_STATE/packages"
fi
exit $rc
