#!/bin/sh
# Shared build step of every Cronium runner image: install what is missing of the image's
# packages, create the sandbox user 1000:1000, then remove package managers and setuid bits.
# Usage: prepare.sh PACKAGE...
set -eu

missing=""
for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
    apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

# The sandbox user, whatever the base image already had under uid or gid 1000.
existing="$(getent passwd 1000 | cut -d: -f1)"
[ -z "$existing" ] || userdel "$existing"
existing="$(getent group 1000 | cut -d: -f1)"
[ -z "$existing" ] || groupdel "$existing"
groupadd --gid 1000 cronium
useradd --uid 1000 --gid 1000 --home-dir /workspace --no-create-home --shell /bin/bash cronium
mkdir -p /workspace /run/cronium
chown cronium:cronium /workspace

# The helpers (copied to /opt/cronium next) where scripts written for Cronium look for them:
# Bash scripts that source /usr/local/bin/cronium.sh, and ES modules, which do not read
# NODE_PATH and find `cronium` in /node_modules from anywhere.
mkdir -p /usr/local/bin
ln -sf /opt/cronium/bash/cronium.sh /usr/local/bin/cronium.sh
ln -sfn /opt/cronium/node /node_modules

# No package managers, no setuid or setgid bits.
rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    /usr/bin/apt* /usr/bin/dpkg* /usr/lib/apt /var/lib/dpkg /etc/apt \
    /usr/bin/pip* /usr/bin/npm /usr/bin/npx /usr/bin/yarn /usr/lib/node_modules/npm
find / -xdev -type f -perm /6000 -exec chmod ug-s {} +
rm -f "$0"
