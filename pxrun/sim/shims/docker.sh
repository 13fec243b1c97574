# pxrun simulator: the docker CLI installed by a Docker package. Records the call; needs the
# docker service active (systemctl shim) for commands that talk to the daemon.
. /opt/pxrun-sim/lib/lib.sh
tool=$1; shift
pxsim_log docker "$@"
case "$1" in
    --version|-v) echo "Docker version 27.3.1-sim, build pxrunsim"; exit 0 ;;
    ""|help|--help) echo "Usage:  docker [OPTIONS] COMMAND"; exit 0 ;;
esac
if [ ! -f "$PXSIM_STATE/active/docker" ]; then
    echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
    exit 1
fi
case "$1" in
    version) printf 'Client: Docker Engine - Community\n Version:           27.3.1-sim\n\nServer: Docker Engine - Community\n Engine:\n  Version:          27.3.1-sim\n' ;;
    info) printf 'Client:\n Context:    default\n\nServer:\n Containers: 0\n Server Version: 27.3.1-sim\n' ;;
    compose) [ "$2" = version ] && echo "Docker Compose version v2.29.7-sim" ;;
    ps) echo "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES" ;;
esac
exit 0
