# pxrun simulator: chpasswd without PAM. Reads `user:password` lines from stdin (which is
# never recorded) and writes a SHA-512 crypt hash into the container's /etc/shadow, so a
# password change is observable; with -e the given hashes are stored as they are.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
encrypted=0
for a in "$@"; do case "$a" in -e|--encrypted) encrypted=1 ;; esac; done
n=0; rc=0
while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    user=${line%%:*}; pass=${line#*:}
    [ -n "$line" ] || continue
    if [ "$user" = "$line" ]; then echo "chpasswd: line $n: missing new password" >&2; rc=1; continue; fi
    if ! grep -q "^$user:" /etc/shadow 2>/dev/null; then
        echo "chpasswd: line $n: user '$user' does not exist" >&2; rc=1; continue
    fi
    if [ "$encrypted" = 1 ]; then hash=$pass
    else
        hash=$(printf '%s\n' "$pass" | openssl passwd -6 -stdin 2>/dev/null) ||
            hash="\$6\$pxrunsim\$$(printf '%s' "$pass" | sha512sum | cut -c1-86)"
    fi
    PXSIM_HASH=$hash PXSIM_DAY=$(( $(date +%s) / 86400 )) awk -v u="$user" \
        'BEGIN { FS = OFS = ":" } $1 == u { $2 = ENVIRON["PXSIM_HASH"]; $3 = ENVIRON["PXSIM_DAY"] } { print }' \
        /etc/shadow > /etc/shadow.pxsim && cat /etc/shadow.pxsim > /etc/shadow && rm -f /etc/shadow.pxsim
done
exit $rc
