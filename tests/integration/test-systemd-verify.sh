#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Check the systemd integration files offline:
#   - every system and user unit passes `systemd-analyze verify`, with
#     ExecStart= pointing at the built daemon (or at a stub for a daemon this
#     build does not have yet);
#   - the sysusers.d and tmpfiles.d files apply to an empty root;
#   - the D-Bus bus policy is well-formed XML that dbus-daemon accepts.
#
# Usage: test-systemd-verify.sh SYSTEMD_SRC SYSTEMD_BUILD SERVICES_BUILD LIBEXECDIR DBUS_SRC
# Exit 77 (skip) only when systemd-analyze is missing.
set -euo pipefail

src=$1 build=$2 services=$3 libexecdir=$4 dbus_src=$5

if ! command -v systemd-analyze >/dev/null; then
        echo "systemd-analyze not found, skipping"
        exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/libexec" "$tmp/system" "$tmp/user" "$tmp/runtime" "$tmp/root"
chmod 0700 "$tmp/runtime"
failed=0

fail() {
        echo "FAIL: $*"
        failed=1
}

# The daemons: the built binary where there is one, else a stub.
for svc in provd sipd mediad uid; do
        if [[ -x "$services/$svc/$svc" ]]; then
                ln -s "$services/$svc/$svc" "$tmp/libexec/$svc"
        else
                printf '#!/bin/sh\nexit 0\n' > "$tmp/libexec/$svc"
                chmod 0755 "$tmp/libexec/$svc"
        fi
done

# A unit as this build configured it, or else its template; ExecStart's
# directory replaced by ours.
place_unit() { # scope unit
        local scope=$1 unit=$2 from
        if [[ -f "$build/$scope/$unit" ]]; then
                from="$build/$scope/$unit"
        elif [[ -f "$src/$scope/$unit.in" ]]; then
                from="$src/$scope/$unit.in"
        else
                from="$src/$scope/$unit"
        fi
        sed -e "s|$libexecdir/|$tmp/libexec/|g" \
            -e "s|@libexecdir@/|$tmp/libexec/|g" \
            -e "s|@sysconfdir@|/etc|g" \
            "$from" > "$tmp/$scope/$unit"
        chmod 0644 "$tmp/$scope/$unit"
        if grep -n '@[a-z_]*@' "$tmp/$scope/$unit"; then
                fail "$scope/$unit: unsubstituted @variable@"
        fi
}

for scope in system user; do
        units=(deskphone.target)
        for svc in provd sipd mediad uid; do
                units+=("deskphone-$svc.service")
        done
        for unit in "${units[@]}"; do
                place_unit "$scope" "$unit"
        done
        # Configured units of this build must be exactly what we verify.
        for f in "$build/$scope"/deskphone-*.service; do
                [[ -e "$f" ]] || continue
                if grep -q '@libexecdir@' "$f"; then
                        fail "$f still has @libexecdir@"
                fi
                if ! grep -q "^ExecStart=$libexecdir/" "$f"; then
                        fail "$f: ExecStart= is not under $libexecdir"
                fi
        done
done

verify() { # scope files...
        local scope=$1 out
        shift
        local args=(verify --man=no --generators=no)
        [[ "$scope" == user ]] && args=(--user "${args[@]}")
        if ! out=$(cd "$tmp/$scope" && XDG_RUNTIME_DIR="$tmp/runtime" SYSTEMD_LOG_LEVEL=notice \
                        systemd-analyze "${args[@]}" "$@" 2>&1); then
                echo "$out"
                fail "systemd-analyze ${args[*]} ($scope)"
                return
        fi
        # verify exits 0 on some problems it only reports.
        if [[ -n "$out" ]]; then
                echo "$out"
                fail "systemd-analyze reported problems ($scope units)"
                return
        fi
        echo "ok: $scope units verify: $*"
}

verify system "$tmp"/system/*
verify user "$tmp"/user/*

# Every service of the system target is sandboxed the same basic way.
for svc in provd sipd mediad uid; do
        f="$tmp/system/deskphone-$svc.service"
        for key in Type=notify WatchdogSec=30s Restart=on-failure NoNewPrivileges=yes \
                   ProtectSystem=strict ProtectHome=yes PrivateTmp=yes CapabilityBoundingSet= \
                   MemoryDenyWriteExecute=yes LockPersonality=yes SystemCallFilter=@system-service \
                   "User=deskphone-$svc" "StateDirectory=deskphone/$svc" "StateDirectoryMode=0700"; do
                grep -qx -- "$key" "$f" || fail "deskphone-$svc.service lacks $key"
        done
        grep -q '^BusName=org\.deskphone\.' "$f" || fail "deskphone-$svc.service lacks BusName="
        if [[ $svc == mediad ]]; then
                grep -q '^RestrictRealtime=yes' "$f" && fail "mediad must not have RestrictRealtime=yes"
                grep -q '^LimitRTPRIO=' "$f" || fail "mediad lacks LimitRTPRIO="
        else
                grep -qx 'RestrictRealtime=yes' "$f" || fail "deskphone-$svc.service lacks RestrictRealtime=yes"
        fi
        f="$tmp/user/deskphone-$svc.service"
        grep -qx 'Environment=DESKPHONE_BUS=session' "$f" || fail "user deskphone-$svc.service lacks DESKPHONE_BUS=session"
        grep -q '^User=' "$f" && fail "user deskphone-$svc.service must not set User="
done

# sysusers.d and tmpfiles.d on an empty root.
mkdir -p "$tmp/root/etc"
if command -v systemd-sysusers >/dev/null; then
        if systemd-sysusers --root="$tmp/root" "$src/sysusers.d/deskphone.conf" >/dev/null 2>"$tmp/err"; then
                for u in deskphone-provd deskphone-sipd deskphone-mediad deskphone-uid; do
                        grep -q "^$u:" "$tmp/root/etc/passwd" || fail "sysusers did not create $u"
                done
                grep -q '^deskphone:' "$tmp/root/etc/group" || fail "sysusers did not create group deskphone"
                echo "ok: sysusers.d"
        else
                cat "$tmp/err"
                fail "systemd-sysusers"
        fi
fi
if command -v systemd-tmpfiles >/dev/null; then
        tmpfiles="$build/deskphone.conf"
        [[ -f "$tmpfiles" ]] || tmpfiles="$src/tmpfiles.d/deskphone.conf"
        sed "s|@sysconfdir@|/etc|g" "$tmpfiles" > "$tmp/tmpfiles.conf"
        # The configured file names the install prefix's sysconfdir; put it under our root.
        if systemd-tmpfiles --root="$tmp/root" --create "$tmp/tmpfiles.conf" 2>"$tmp/err"; then
                cfg=$(find "$tmp/root" -name deskphone.cfg | head -n1)
                if [[ -n "$cfg" ]] && [[ "$(head -n1 "$cfg")" == '#!version:1.0.0.1' ]]; then
                        echo "ok: tmpfiles.d"
                else
                        fail "tmpfiles.d did not create deskphone.cfg with the version header"
                fi
        else
                cat "$tmp/err"
                fail "systemd-tmpfiles"
        fi
fi

# The bus policy: XML, then dbus-daemon itself.
policy="$dbus_src/org.deskphone.conf"
if command -v xmllint >/dev/null; then
        xmllint --noout "$policy" || fail "xmllint $policy"
fi
if command -v dbus-daemon >/dev/null; then
        cat > "$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/runtime/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/></policy>
  <include>$policy</include>
</busconfig>
EOF
        # In the background rather than --fork, so that we reap it ourselves.
        dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile --nosyslog \
                --print-address >"$tmp/address" 2>"$tmp/err" &
        pid=$!
        for _ in $(seq 100); do
                [[ -s "$tmp/address" ]] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" || true
        if [[ ! -s "$tmp/address" ]]; then
                cat "$tmp/err"
                fail "dbus-daemon refused $policy"
        # Unknown users are normal (sysusers has not run here), and so is a
        # refused fd limit when not privileged; anything else is not.
        elif grep -v 'Unknown \(username\|group\)\|Failed to set fd limit' "$tmp/err" | grep -q .; then
                cat "$tmp/err"
                fail "dbus-daemon complained about $policy"
        else
                echo "ok: dbus-daemon accepts $policy"
        fi
fi

exit $failed
