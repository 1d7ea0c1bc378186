#!/usr/bin/env bash
# Find a working Docker engine, or (as root on Debian) install docker.io and start dockerd.
# Also installs debootstrap, which builds the base image when no registry answers, and
# gVisor's runsc, registered as the engine's "runsc" runtime (a second sandbox backend,
# proven by tests/grader/sandbox/test_conformance.py; ASSESS_GVISOR=0 leaves it out).
#
# Reuses an engine that already answers; otherwise starts one in the background with its
# log in $ASSESS_DOCKERD_LOG and waits until it answers. Exits non-zero with one clear line
# when no engine can be had. Idempotent: safe to call before every test run.
set -euo pipefail

log=${ASSESS_DOCKERD_LOG:-/var/log/assess-dockerd.log}
wait_s=${ASSESS_DOCKERD_WAIT:-90}

answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1 && [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: no Docker client or engine here, and not root to install one" >&2
  exit 1
fi

need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io iptables ca-certificates)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-docker: installing ${need[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# gVisor: optional, so a failure here only warns. The sandbox never gives runs a network, so
# runsc is registered without one (it refuses to share the host's namespace otherwise).
daemon_json=/etc/docker/daemon.json
runsc_json='{"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}}}'
registered_now=0
if [ "${ASSESS_GVISOR:-1}" != 0 ] && [ "$(id -u)" = 0 ]; then
  if ! command -v runsc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-docker: installing runsc (gVisor) from Debian's packages"
    (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null \
      && apt-get install -y -qq --no-install-recommends runsc >/dev/null) \
      || echo "ensure-docker: warning: runsc could not be installed; the gVisor backend is skipped" >&2
  fi
  if command -v runsc >/dev/null 2>&1; then
    if [ ! -e "$daemon_json" ]; then
      mkdir -p /etc/docker && printf '%s\n' "$runsc_json" >"$daemon_json" && registered_now=1
    elif ! grep -q '"runsc"' "$daemon_json"; then
      echo "ensure-docker: $daemon_json exists without runsc; add $runsc_json to use gVisor" >&2
    fi
  fi
fi

if command -v docker >/dev/null 2>&1 && answers; then
  if [ "$registered_now" = 1 ] && pgrep -x dockerd >/dev/null 2>&1; then
    # dockerd reloads its runtimes on SIGHUP: no restart, running containers untouched.
    kill -HUP "$(pgrep -x dockerd | head -n 1)" && sleep 1
  fi
  echo "ensure-docker: engine answers ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: no Docker engine answers and only root can start one; start dockerd or join the docker group" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: dockerd is missing and this is not a Debian-like system (no apt-get); install Docker Engine" >&2
  exit 1
fi

# A dockerd may be running but not yet answering (just started by a parallel caller).
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-docker: starting dockerd (log: $log)"
  mkdir -p "$(dirname "$log")"
  # setsid + nohup: the engine must outlive the make/test process that started it.
  setsid nohup dockerd >>"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_s"); do
  if answers; then
    echo "ensure-docker: engine answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "ensure-docker: dockerd did not answer within ${wait_s}s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
