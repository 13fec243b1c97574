# pxrun simulator: curl / wget. The simulator has no network: known installer URLs (Docker's
# get.docker.com, Tailscale's install.sh, their signing keys) answer with stand-ins that
# install the docker / tailscale shims through the package-manager shim; any other URL fails
# as a DNS failure would.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log "$tool" "$@"
url=""; out=""; want_out=0
for a in "$@"; do
    if [ "$want_out" = 1 ]; then out=$a; want_out=0; continue; fi
    case "$a" in
        http://*|https://*) url=$a ;;
        --output|-O|-o) if [ "$tool" = curl ] && [ "$a" = -O ]; then out=REMOTE; else want_out=1; fi ;;
        --output=*|--output-document=*) out=${a#*=} ;;
        --*) ;;
        -*O-) out=- ;;
        -*o|-*O) if [ "$tool" = curl ] && [ "${a#${a%?}}" = O ]; then out=REMOTE; else want_out=1; fi ;;
        -*O*) [ "$tool" = wget ] && out=${a#*O} ;;
    esac
done
host=${url#*://}; host=${host%%/*}
[ "$out" = REMOTE ] && out=${url##*/}
[ "$tool" = wget ] && [ -z "$out" ] && out=${url##*/}
[ -n "$out" ] || out=-
body() {
    case "$url" in
        https://get.docker.com|https://get.docker.com/*|https://test.docker.com*)
            cat <<'SCRIPT'
#!/bin/sh
# Stand-in for https://get.docker.com served by the pxrun simulator.
set -e
echo "# Executing docker install script (pxrun simulator)"
if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq docker-ce docker-ce-cli containerd.io docker-compose-plugin docker-buildx-plugin >/dev/null
elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q docker-ce docker-ce-cli containerd.io docker-compose-plugin >/dev/null
elif command -v apk >/dev/null 2>&1; then
    apk add --no-cache docker docker-cli-compose >/dev/null
    rc-update add docker default >/dev/null
fi
echo "Docker installed (simulated)."
SCRIPT
            ;;
        https://tailscale.com/install.sh*|https://pkgs.tailscale.com/*install.sh*)
            cat <<'SCRIPT'
#!/bin/sh
# Stand-in for https://tailscale.com/install.sh served by the pxrun simulator.
set -e
if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null; apt-get install -y -qq tailscale >/dev/null
elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q tailscale >/dev/null
elif command -v apk >/dev/null 2>&1; then
    apk add --no-cache tailscale >/dev/null; rc-update add tailscale default >/dev/null
elif command -v pacman >/dev/null 2>&1; then
    pacman -S --noconfirm tailscale >/dev/null
fi
echo "Installation complete! Log in to start using Tailscale by running:"
echo
echo "tailscale up"
SCRIPT
            ;;
        *.gpg|*.asc|*/gpg)
            printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n(pxrun simulator stand-in)\n-----END PGP PUBLIC KEY BLOCK-----\n' ;;
        *) return 1 ;;
    esac
}
if ! body > /dev/null; then
    if [ "$tool" = curl ]; then echo "curl: (6) Could not resolve host: $host" >&2; exit 6; fi
    echo "wget: unable to resolve host address '$host'" >&2; exit 4
fi
if [ "$out" = - ]; then body; else body > "$out"; fi
exit 0
