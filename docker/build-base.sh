#!/usr/bin/env bash
# Builds the base image the Dockerfiles start FROM without any registry:
# debootstrap --variant=minbase of this machine's Debian release, trimmed the
# way the official slim image is, then `docker import` under the exact name
# the Dockerfiles use (debian:<codename>-slim). A user whose Docker pulls from
# a registry never needs this; CI has no registry, so it runs it first.
#
#   docker/build-base.sh            # builds debian:<codename>-slim if missing
#   FORCE=1 docker/build-base.sh    # rebuild even if present
#   MIRROR=http://... docker/build-base.sh
set -euo pipefail

codename=$( . /etc/os-release && echo "${VERSION_CODENAME:-}" )
if [[ -z "$codename" ]]; then
    echo "build-base: /etc/os-release has no VERSION_CODENAME (not Debian?)" >&2
    exit 1
fi
image="debian:${codename}-slim"
mirror="${MIRROR:-http://deb.debian.org/debian}"

if [[ -z "${FORCE:-}" ]] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "build-base: $image already present"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "build-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

root=$(mktemp -d /tmp/rsredis-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "build-base: debootstrap --variant=minbase $codename from $mirror"
debootstrap --variant=minbase "$codename" "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# The same sources as the machine's (updates and security too), so images
# built FROM it get current packages.
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror $codename main
deb $mirror $codename-updates main
deb http://deb.debian.org/debian-security $codename-security main
SRC
# What the official slim image drops: docs, man pages, locales, apt lists.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
CFG
echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log "$root"/tmp/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true

tar --numeric-owner -C "$root" -c . | docker import \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$image" >/dev/null
echo "build-base: built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
