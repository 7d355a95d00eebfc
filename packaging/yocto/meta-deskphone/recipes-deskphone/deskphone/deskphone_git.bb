# SPDX-License-Identifier: LGPL-2.1-or-later
SUMMARY = "Userspace of a Linux IP desk phone"
DESCRIPTION = "SIP accounts and calls (TLS, SRTP), RTP audio through ALSA, \
keypad, display and LEDs, and Yealink-compatible provisioning over HTTPS: \
four sandboxed D-Bus services under systemd, plus phonectl."
SECTION = "network"
LICENSE = "LGPL-2.1-or-later"
# Point this at the project's license file once the tree has one.
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/LGPL-2.1-or-later;md5=2a4f4fd2128ea2f65047ee63fbca9f68"

# Set SRC_URI/SRCREV to where your tree lives; AUTOREV follows the branch
# (fine for development, pin SRCREV for a release image).
SRC_URI = "git://github.com/deskphone/deskphone.git;protocol=https;branch=main"
SRCREV ?= "${AUTOREV}"
PV = "0.1.0+git${SRCPV}"
S = "${WORKDIR}/git"

# sofia-sip caveat. meta-oe's sofia-sip recipe builds the FreeSWITCH fork,
# 1.13.x (git://github.com/freeswitch/sofia-sip.git, with glib, dbus-glib
# and OpenSSL), while deskphone is developed and tested against Debian 12's
# sofia-sip 1.12.11 (2011 snapshot + Debian patches). sipd does TLS with
# GnuTLS by supplying its own versions of functions of sofia's internal TLS
# layer (tls_init_master, tls_read, tls_write, ...), and that code depends
# on the layouts in sofia's tport_tls.h and tport_internal.h, which differ
# between the two. Until sipd states and tests support for 1.13.x, build
# this layer with a sofia-sip that matches Debian's (a sofia-sip recipe or
# sofia-sip_%.bbappend in this layer that pins 1.12.11 with Debian's
# patches), and run the integration tests against it. Everything else here
# (provd, mediad, uid, phonectl) does not touch sofia-sip.
DEPENDS = " \
    dbus \
    systemd \
    gnutls \
    curl \
    sofia-sip \
    libsrtp \
    opus \
    spandsp \
"

inherit meson pkgconfig systemd useradd features_check
REQUIRED_DISTRO_FEATURES = "systemd"

PACKAGECONFIG ??= "alsa evdev"
PACKAGECONFIG[alsa] = "-Dalsa=enabled,-Dalsa=disabled,alsa-lib"
PACKAGECONFIG[evdev] = "-Devdev=enabled,-Devdev=disabled,libevdev"

# -Werror is for the project's CI; the integration tests need peers
# (Kamailio, SIPp, baresip) that an image build does not run.
EXTRA_OEMESON = " \
    -Dwerror=false \
    -Dsystemd=enabled \
    -Dintegration_tests=disabled \
"

# The service users. The units also ship a sysusers.d file; creating the
# users at image build time works for read-only root file systems too.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system deskphone"
USERADD_PARAM:${PN} = " \
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group deskphone-provd; \
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group deskphone-sipd; \
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group deskphone-mediad; \
    --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin --user-group deskphone-uid \
"

# deskphone.target pulls in every service (static .wants links); the
# services also start on demand through D-Bus activation.
SYSTEMD_SERVICE:${PN} = "deskphone.target"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

FILES:${PN} += " \
    ${libexecdir}/deskphone \
    ${datadir}/dbus-1 \
    ${systemd_user_unitdir} \
    ${nonarch_libdir}/sysusers.d \
    ${nonarch_libdir}/tmpfiles.d \
"

# spandsp is loaded by mediad when a call needs it (services/mediad/spandsp-dl.h): no link, so name it
RDEPENDS:${PN} = "dbus spandsp"
