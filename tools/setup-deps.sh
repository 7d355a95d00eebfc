#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install what deskphone needs to build and test, on Debian 12. Run as root;
# run it again at any time: packages already installed are skipped, and when
# nothing is missing it returns at once without touching apt.
set -euo pipefail

# Build: compiler, meson, the libraries the services link.
build_packages=(
        meson ninja-build pkg-config gcc
        libdbus-1-dev libsystemd-dev libgnutls28-dev libsofia-sip-ua-dev libsrtp2-dev
        libasound2-dev libevdev-dev libcurl4-gnutls-dev libopus-dev libspandsp-dev
)
# Tests: the bus, real peers on loopback, audio without a sound card,
# packet capture, and the checkers of the integration files.
test_packages=(
        dbus dbus-daemon systemd python3 python3-dbus iproute2 libxml2-utils
        gnutls-bin kamailio kamailio-tls-modules sip-tester baresip lighttpd lighttpd-mod-openssl
        python3-pyftpdlib
        libasound2-plugins alsa-utils pulseaudio pulseaudio-utils sox espeak-ng tshark
)
# Nice to have: clang for the fuzzers (libFuzzer). Its absence is not an error.
optional_packages=(clang)

lists_max_age_days=1

log() {
        echo "setup-deps: $*"
}
die() {
        echo "setup-deps: $*" >&2
        exit 1
}

# Print the packages among "$@" that are not installed.
missing() {
        local p status
        for p in "$@"; do
                status=$(dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null || true)
                grep -qx installed <<<"$status" || echo "$p"
        done
}

lists_are_fresh() {
        find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -"$lists_max_age_days" 2>/dev/null |
                grep -q .
}

apt_install() {
        apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "$@"
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
        die "this script is for Debian (12, bookworm): dpkg-query and apt-get are missing"
fi

mapfile -t need < <(missing "${build_packages[@]}" "${test_packages[@]}")
mapfile -t nice < <(missing "${optional_packages[@]}")

if ((${#need[@]} == 0 && ${#nice[@]} == 0)); then
        log "all $((${#build_packages[@]} + ${#test_packages[@]} + ${#optional_packages[@]})) packages installed"
        exit 0
fi

if [[ $(id -u) != 0 ]]; then
        if ((${#need[@]} > 0)); then
                die "missing packages: ${need[*]}
setup-deps: run this as root (e.g. sudo $0) to install them"
        fi
        log "optional packages not installed (run as root to add them): ${nice[*]}"
        exit 0
fi

export DEBIAN_FRONTEND=noninteractive

# tshark asks whether non-root users may capture; answer no, without asking.
if [[ " ${need[*]} " == *" tshark "* ]]; then
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
fi

updated=0
if ! lists_are_fresh; then
        log "package lists are older than $lists_max_age_days day(s): apt-get update"
        apt-get update
        updated=1
fi

if ((${#need[@]} > 0)); then
        log "installing: ${need[*]}"
        if ! apt_install "${need[@]}"; then
                ((updated)) && die "apt-get install failed"
                # Fresh lists can still name versions the mirror dropped today.
                log "apt-get install failed; updating the package lists and trying again"
                apt-get update
                updated=1
                apt_install "${need[@]}" || die "apt-get install failed"
        fi
fi

if ((${#nice[@]} > 0)); then
        log "installing optional: ${nice[*]}"
        apt_install "${nice[@]}" || log "optional packages not installed, continuing: ${nice[*]}"
fi

mapfile -t still < <(missing "${build_packages[@]}" "${test_packages[@]}")
((${#still[@]} == 0)) || die "still missing after apt-get install: ${still[*]}"
log "done"
