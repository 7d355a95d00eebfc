#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The system bus policy (dbus/org.deskphone.conf) does what it says, on a
# private dbus-daemon configured like Debian's system bus:
#   - each service user owns its own names and no other's;
#   - everyone reads Config1 and uses Sip1 and Ui1;
#   - Config1.Set/Reset/Import, Certificates1's writes and Provision1 only for root, the group
#     "deskphone" and the UI's user (and Provision1.Start for sipd's user: check-sync);
#   - Media1 only for sipd's user and root.
# The deskphone users do not exist on a build machine, so the policy is loaded
# with their names mapped to users every Debian system has (base-passwd).
# Also checks that the bus accepts the activation files, and that the
# session bus starts a built service through its file (Exec= fallback).
#
# Usage: test-dbus-policy.sh DBUS_SRC DBUS_BUILD SERVICES_BUILD LIBEXECDIR
# Needs root (to act as other users), dbus-daemon, dbus-send and python3-dbus
# (to own names); exits 77 (skip) without them.
set -euo pipefail

src=$1 build=$2 services=$3 libexecdir=$4

skip() {
        echo "skipped: $*"
        exit 77
}
[[ $(id -u) == 0 ]] || skip "needs root to act as other users"
for tool in dbus-daemon dbus-send setpriv; do
        command -v "$tool" >/dev/null || skip "$tool not found"
done
/usr/bin/python3 -c "import dbus" 2>/dev/null || skip "python3-dbus (for /usr/bin/python3) not installed"

# deskphone user -> stand-in. "games" is in the stand-in for group "deskphone".
declare -A as=(
        [deskphone-provd]=sys
        [deskphone-sipd]=daemon
        [deskphone-mediad]=bin
        [deskphone-uid]=sync
        [admin]=games
        [other]=nobody
)
for u in "${as[@]}"; do
        getent passwd "$u" >/dev/null || skip "user $u missing"
done
getent group games >/dev/null || skip "group games missing"

tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
        for p in "${pids[@]}"; do
                kill "$p" 2>/dev/null || true
        done
        # Reap them here: an init that does not reap would keep zombies.
        wait "${pids[@]}" 2>/dev/null || true
        rm -rf "$tmp"
}

# Start dbus-daemon in the background (not --fork, and not in a subshell, so
# it stays our child); set bus_pid once it listens.
start_bus() { # config
        local out="$tmp/address.$RANDOM"
        dbus-daemon --config-file="$1" --nofork --nopidfile --nosyslog --print-address >"$out" 2>>"$tmp/dbus-daemon.log" &
        local pid=$!
        for _ in $(seq 100); do
                [[ -s "$out" ]] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        [[ -s "$out" ]] || { echo "FAIL: dbus-daemon did not start with $1"; exit 1; }
        bus_pid=$pid
}
trap cleanup EXIT
chmod 0755 "$tmp"
mkdir -m 1777 "$tmp/reports"
failed=0
fail() {
        echo "FAIL: $*"
        failed=1
}

sed -e "s/\"deskphone-provd\"/\"${as[deskphone-provd]}\"/" \
    -e "s/\"deskphone-sipd\"/\"${as[deskphone-sipd]}\"/" \
    -e "s/\"deskphone-mediad\"/\"${as[deskphone-mediad]}\"/" \
    -e "s/\"deskphone-uid\"/\"${as[deskphone-uid]}\"/" \
    -e 's/group="deskphone"/group="games"/' \
    "$src/org.deskphone.conf" > "$tmp/policy.conf"
chmod 0644 "$tmp/policy.conf"

# The default context of Debian's /usr/share/dbus-1/system.conf, then ours.
cat > "$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$tmp/policy.conf</include>
</busconfig>
EOF
start_bus "$tmp/bus.conf"
pids+=("$bus_pid")
address="unix:path=$tmp/bus"

# A name owner: requests names, reports each as owned/denied, then stays on
# the bus without answering (a call that passes the policy ends in NoReply).
cat > "$tmp/owner.py" <<'EOF'
import sys, time, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
out = []
for name in sys.argv[3:]:
    try:
        r = bus.request_name(name, dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
        out.append(("owned " if r == dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER else "taken ") + name)
    except dbus.exceptions.DBusException as e:
        out.append(("denied " if e.get_dbus_name() == "org.freedesktop.DBus.Error.AccessDenied" else "error ") + name)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("\n".join(out) + "\n")
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
while True:
    time.sleep(3600)
EOF
chmod 0644 "$tmp/owner.py"

run_as() { # user command...
        local user=$1
        shift
        local gid
        gid=$(id -g "$user")
        setpriv --reuid="$(id -u "$user")" --regid="$gid" --init-groups -- "$@"
}

own() { # who report names...
        local who=$1 report=$2
        shift 2
        local user=${as[$who]}
        # Not through run_as: $! must be the owner itself, for the cleanup.
        setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --init-groups -- \
                /usr/bin/python3 "$tmp/owner.py" "$address" "$tmp/reports/$report" "$@" &
        pids+=($!)
}

own deskphone-provd provd org.deskphone.Config1 org.deskphone.Provision1
own deskphone-sipd sipd org.deskphone.Sip1 org.deskphone.Config1
own deskphone-mediad mediad org.deskphone.Media1
own deskphone-uid uid org.deskphone.Ui1
own other other org.deskphone.Sip1 org.deskphone.Media1
for r in provd sipd mediad uid other; do
        for _ in $(seq 100); do
                [[ -f "$tmp/reports/$r" ]] && break
                sleep 0.1
        done
        [[ -f "$tmp/reports/$r" ]] || { fail "name owner $r did not report"; exit 1; }
done

expect_report() { # report line
        if grep -qx "$2" "$tmp/reports/$1"; then
                echo "ok: $1: $2"
        else
                fail "$1: expected \"$2\", got: $(tr '\n' ' ' < "$tmp/reports/$1")"
        fi
}
expect_report provd "owned org.deskphone.Config1"
expect_report provd "owned org.deskphone.Provision1"
expect_report sipd "owned org.deskphone.Sip1"
expect_report sipd "denied org.deskphone.Config1"
expect_report mediad "owned org.deskphone.Media1"
expect_report uid "owned org.deskphone.Ui1"
expect_report other "denied org.deskphone.Sip1"
expect_report other "denied org.deskphone.Media1"

# expect who allow|deny destination interface.member
# A call that passes the policy reaches an owner that never answers and ends
# in NoReply; a denied one ends in AccessDenied at once. The checks run in
# parallel, so the allowed ones wait out their timeouts together.
mkdir "$tmp/results"
checks=()
check() { # who want dest method
        local who=$1 want=$2 dest=$3 method=$4 out got
        local path="/${dest//.//}"
        out=$(run_as "${as[$who]:-$who}" dbus-send --bus="$address" --print-reply --reply-timeout=2000 \
                --dest="$dest" "$path" "$method" string:x 2>&1 || true)
        case "$out" in
        *org.freedesktop.DBus.Error.AccessDenied*) got=deny ;;
        *org.freedesktop.DBus.Error.NoReply*) got=allow ;;
        *) got="unexpected: $out" ;;
        esac
        if [[ "$got" == "$want" ]]; then
                echo "ok: $who $want $dest $method"
        else
                echo "FAIL: $who $dest $method: expected $want, got $got"
        fi
}
expect() {
        check "$@" > "$tmp/results/${#checks[@]}" &
        checks+=($!)
}

for who in other admin deskphone-uid deskphone-sipd deskphone-mediad deskphone-provd root; do
        expect $who allow org.deskphone.Config1 org.deskphone.Config1.Get
        expect $who allow org.deskphone.Config1 org.deskphone.Config1.GetAll
        expect $who allow org.deskphone.Config1 org.deskphone.Config1.Describe
        expect $who allow org.deskphone.Config1 org.freedesktop.DBus.Properties.GetAll
        expect $who allow org.deskphone.Config1 org.freedesktop.DBus.Introspectable.Introspect
        expect $who allow org.deskphone.Sip1 org.deskphone.Sip1.Dial
        expect $who allow org.deskphone.Ui1 org.deskphone.Ui1.PressKey
        expect $who allow org.deskphone.Provision1 org.freedesktop.DBus.Properties.GetAll
        expect $who allow org.deskphone.Media1 org.freedesktop.DBus.Introspectable.Introspect
        expect $who allow org.deskphone.Config1 org.deskphone.Certificates1.ListCa
        expect $who allow org.deskphone.Config1 org.deskphone.Certificates1.GetTrustedCertificates
        expect $who allow org.deskphone.Config1 org.deskphone.Certificates1.GetDeviceCertificate
done

for who in other deskphone-sipd deskphone-mediad; do
        for m in Set Reset Import; do
                expect $who deny org.deskphone.Config1 org.deskphone.Config1.$m
        done
        for m in InstallCa RemoveCa InstallDevice; do
                expect $who deny org.deskphone.Config1 org.deskphone.Certificates1.$m
        done
        [ $who = deskphone-sipd ] || expect $who deny org.deskphone.Provision1 org.deskphone.Provision1.Start
done
# sipd relays a registrar's NOTIFY check-sync: Start only (provd takes no other Start from it
# than {"reason": "check-sync"})
expect deskphone-sipd allow org.deskphone.Provision1 org.deskphone.Provision1.Start
expect deskphone-sipd deny org.deskphone.Provision1 org.deskphone.Provision1.Cancel
expect deskphone-sipd deny org.deskphone.Provision1 org.deskphone.Provision1.Rollback
for who in admin deskphone-uid root; do
        for m in Set Reset Import; do
                expect $who allow org.deskphone.Config1 org.deskphone.Config1.$m
        done
        for m in InstallCa RemoveCa InstallDevice; do
                expect $who allow org.deskphone.Config1 org.deskphone.Certificates1.$m
        done
        expect $who allow org.deskphone.Provision1 org.deskphone.Provision1.Start
done

for who in other admin deskphone-uid deskphone-provd; do
        expect $who deny org.deskphone.Media1 org.deskphone.Media1.CreateStream
        expect $who deny org.deskphone.Media1 org.freedesktop.DBus.Properties.GetAll
        expect $who deny org.deskphone.Media1 org.freedesktop.DBus.ObjectManager.GetManagedObjects
done
for who in deskphone-sipd root; do
        expect $who allow org.deskphone.Media1 org.deskphone.Media1.CreateStream
        expect $who allow org.deskphone.Media1 org.freedesktop.DBus.Properties.GetAll
done

wait "${checks[@]}"
cat "$tmp/results"/*
if grep -q '^FAIL' "$tmp/results"/*; then
        failed=1
        echo "--- dbus-daemon:"
        cat "$tmp/dbus-daemon.log"
fi

# Call Config1 on a bus where provd is not running: the bus must start it
# from its activation file. Then stop it, so the bus reaps it.
activate() { # socket
        local out pid
        out=$(XDG_STATE_HOME="$tmp/state" dbus-send --bus="unix:path=$1" --print-reply --reply-timeout=10000 \
                --dest=org.deskphone.Config1 /org/deskphone/Config1 org.deskphone.Config1.Get \
                string:sip.listen_port 2>&1) || true
        if [[ "$out" == *'string "'* ]]; then
                echo "ok: session bus activation starts provd"
        else
                fail "session bus activation of org.deskphone.Config1: $out"
        fi
        pid=$(dbus-send --bus="unix:path=$1" --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.GetConnectionUnixProcessID string:org.deskphone.Config1 2>/dev/null |
                sed -n 's/^ *uint32 //p') || true
        if [[ -n "$pid" ]]; then
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.05
                done
        fi
}

# Activation files: the bus lists every name of every installed service.
for kind in system-services services; do
        mkdir -p "$tmp/$kind"
        n=0
        for f in "$build/$kind"/*.service; do
                [[ -e "$f" ]] || continue
                # Exec= names the installed daemon; use the built one.
                sed "s|$libexecdir/\([a-z]*\)|$services/\1/\1|g" "$f" >"$tmp/$kind/${f##*/}"
                n=$((n + 1))
        done
        if [[ $n == 0 ]]; then
                echo "note: no $kind activation files configured in this build"
                continue
        fi
        cat > "$tmp/act.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/act-bus</listen>
  <servicedir>$tmp/$kind</servicedir>
  <policy context="default"><allow user="*"/><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
EOF
        rm -f "$tmp/act-bus"
        start_bus "$tmp/act.conf"
        act_pid=$bus_pid
        names=$(dbus-send --bus="unix:path=$tmp/act-bus" --print-reply --dest=org.freedesktop.DBus \
                /org/freedesktop/DBus org.freedesktop.DBus.ListActivatableNames 2>&1) ||
                fail "ListActivatableNames ($kind): $names"
        if [[ $kind == services && -x "$services/provd/provd" ]]; then
                activate "$tmp/act-bus"
        fi
        kill "$act_pid"
        wait "$act_pid" || true
        for f in "$tmp/$kind"/*.service; do
                name=$(basename "$f" .service)
                if grep -q "\"$name\"" <<<"$names"; then
                        echo "ok: $kind/$name.service activatable"
                else
                        fail "$kind/$name.service not accepted by dbus-daemon"
                fi
                grep -q "^SystemdService=deskphone-[a-z]*\.service$" "$f" || fail "$f lacks SystemdService="
                if [[ $kind == system-services ]]; then
                        grep -q "^User=deskphone-[a-z]*$" "$f" || fail "$f lacks User="
                fi
        done
done

exit $failed
