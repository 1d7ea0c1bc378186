#!/usr/bin/env bash
# Build the base image assess/base:bookworm without a container registry.
#
# debootstrap (minbase) a Debian bookworm root with Python 3.11, venv, pip, CA certificates,
# tini and procps from the host's Debian mirror, apply bookworm-updates/-security when the
# mirror serves them, trim apt caches and docs, then `docker import` the tree.
#
# Usage: bootstrap.sh [--force] [REF]        (REF defaults to assess/base:bookworm)
# Environment:
#   ASSESS_INPUTS         digest recorded in the label assess.inputs (set by grader/images.py);
#                         an existing image with another digest is rebuilt.
#   ASSESS_DEBIAN_MIRROR  Debian mirror URL (default: first bookworm mirror in the host's
#                         apt sources, else http://deb.debian.org/debian).
#   TMPDIR                where the root tree is assembled (default /var/tmp).
#
# Cached: if REF exists (and carries ASSESS_INPUTS, when that is set), it does nothing.
# Prints the image id on its last line. Needs root (debootstrap, chroot).
set -euo pipefail

force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
ref=${1:-assess/base:bookworm}
suite=bookworm
inputs=${ASSESS_INPUTS:-}
packages=python3,python3-venv,python3-pip,ca-certificates,tini,procps

log() { echo "bootstrap: $*"; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

if [ "$force" = 0 ] && docker image inspect "$ref" >/dev/null 2>&1; then
  have=$(docker image inspect --format '{{index .Config.Labels "assess.inputs"}}' "$ref")
  if [ -z "$inputs" ] || [ "$have" = "$inputs" ]; then
    log "$ref already exists; nothing to do"
    docker image inspect --format '{{.Id}}' "$ref"
    exit 0
  fi
  log "$ref exists with other inputs ($have); rebuilding"
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"
command -v docker >/dev/null 2>&1 || die "the docker client is not installed"

# The first bookworm (non-security) mirror named in the host's apt sources.
host_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    case "$f" in
      *.sources)
        awk 'BEGIN{RS=""; FS="\n"} {
               uris=""; suites=""; types="";
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^URIs:/)   { uris = $i;   sub(/^URIs:[ \t]*/, "", uris) }
                 if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
                 if ($i ~ /^Types:/)  { types = $i }
               }
               if (types ~ /deb([ \t]|$)/ && (" " suites " ") ~ / bookworm / ) { split(uris, u, /[ \t]+/); print u[1] }
             }' "$f" ;;
      *)
        awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                           if ($(i+1) == "bookworm") print $i }' "$f" ;;
    esac
  done | grep -v -- '-security' | head -n 1
}

mirror=${ASSESS_DEBIAN_MIRROR:-$(host_mirror || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
security=${mirror%/debian}/debian-security
log "mirror $mirror"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/assess-base.XXXXXX")
root="$work/root"
cleanup() {
  # Unmount anything left mounted inside the tree before deleting it.
  if mountpoint -q "$root/proc" 2>/dev/null; then umount -l "$root/proc" || true; fi
  if mountpoint -q "$root/dev/pts" 2>/dev/null; then umount -l "$root/dev/pts" || true; fi
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

start=$(date +%s)
log "debootstrap --variant=minbase $suite (packages: $packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror"

# Apt sources as in the official image; then pull point-release and security updates
# (best effort: a mirror that serves only the main suite leaves the tree as debootstrapped).
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# Keep later apt installs lean and clean, like debian:bookworm-slim.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  >"$root/etc/apt/apt.conf.d/docker-no-recommends"

mount -t proc proc "$root/proc"
mount --bind /dev/pts "$root/dev/pts"
if chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq update; then
  log "applying $suite-updates and $suite-security"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq upgrade
else
  log "warning: could not read updates from the mirror; keeping the debootstrapped packages"
fi
umount "$root/dev/pts" "$root/proc"

log "trimming caches and docs"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
  "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
  "$root"/usr/share/lintian "$root"/usr/share/linda
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"

log "importing as $ref"
id=$(tar --numeric-owner --xattrs -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --change 'LABEL assess.image=base' \
  --change 'LABEL assess.base.source=debootstrap' \
  --change "LABEL assess.inputs=$inputs" \
  --message "assess base: debootstrap $suite from $mirror" \
  - "$ref")
log "done in $(( $(date +%s) - start )) s"
echo "$id"
