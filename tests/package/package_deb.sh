#!/usr/bin/env bash
# The Debian package end to end (issue 14): builds the .deb from the build
# folder with CPack, installs it into a scratch root made here (dpkg --root
# with --force-script-chrootless: the maintainer scripts run with DPKG_ROOT
# set), and checks what a city's server would get: the files where they
# belong, the laporsms user and group, the folders' modes, the conffile, the
# service enabled, the installed example passing `laporsmsd --check-config`,
# the unit verifying against the installed binary and man pages, every config
# key in laporsmsd.toml(5), postinst starting the service only from an edited
# configuration that checks out, and purge keeping the database unless
# LAPORSMS_PURGE_DATA=1. Then lintian, failing on any E: line. Needs root
# (dpkg --root, a mount namespace), as CI has.
#   package_deb.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# --- build -------------------------------------------------------------------
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 || {
  cat "$work/cpack.log"
  exit 1
}
debs=("$work"/out/laporsms_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || {
  echo "FAIL: cpack made no laporsms_*.deb"
  cat "$work/cpack.log"
  exit 1
}
echo "built $(basename "$deb")"

# --- the control part -----------------------------------------------------------
mkdir "$work/control"
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$work/control"
grep -qx /etc/laporsms/laporsmsd.toml "$work/control/conffiles" ||
  fail "conffiles does not list /etc/laporsms/laporsmsd.toml"
for field in Package:laporsms Section:comm Priority:optional; do
  value=$(dpkg-deb -f "$deb" "${field%%:*}")
  [ "$value" = "${field#*:}" ] || fail "${field%%:*} is '$value', not '${field#*:}'"
done
depends=$(dpkg-deb -f "$deb" Depends)
# shlibdeps: the libraries the binaries link, by their Debian package.
for lib in libc6 libsqlite3-0 libssl3 libsmpp34-1; do
  grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "the control part has no executable $script"
done

# --- install into a scratch root ---------------------------------------------
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status"
install_deb() {
  # The scratch root has no libc6 or systemd package: Depends cannot hold.
  dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null -i "$deb" \
    >"$work/dpkg.log" 2>&1 || {
    cat "$work/dpkg.log"
    echo "FAIL: dpkg -i into the scratch root"
    exit 1
  }
}
purge_deb() {
  dpkg --root="$root" --force-script-chrootless --log=/dev/null --purge laporsms \
    >"$work/dpkg.log" 2>&1 || {
    cat "$work/dpkg.log"
    echo "FAIL: dpkg --purge in the scratch root"
    exit 1
  }
}
install_deb
status=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' laporsms)
[ "$status" = "install ok installed" ] || fail "the package is '$status' after dpkg -i"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}\n' laporsms |
  grep -q '^ /etc/laporsms/laporsmsd.toml [0-9a-f]\{32\}$' ||
  fail "dpkg does not hold /etc/laporsms/laporsmsd.toml as a conffile"

for f in usr/sbin/laporsmsd usr/bin/laporctl; do
  [ -x "$root/$f" ] || fail "/$f is missing or not executable"
done
for f in lib/systemd/system/laporsmsd.service usr/lib/sysusers.d/laporsms.conf \
  usr/lib/tmpfiles.d/laporsms.conf etc/laporsms/laporsmsd.toml \
  usr/share/doc/laporsms/README.md usr/share/doc/laporsms/LICENSE \
  usr/share/doc/laporsms/copyright usr/share/doc/laporsms/changelog.gz \
  usr/share/doc/laporsms/examples/prometheus/alerts.yml \
  usr/share/doc/laporsms/examples/grafana/laporsms.json \
  usr/share/man/man8/laporsmsd.8.gz usr/share/man/man8/laporctl.8.gz \
  usr/share/man/man5/laporsmsd.toml.5.gz; do
  [ -f "$root/$f" ] || fail "/$f is missing"
done
# The man pages render without a warning and say what they are.
for page in man8/laporsmsd.8 man8/laporctl.8 man5/laporsmsd.toml.5; do
  file="$root/usr/share/man/$page.gz"
  [ -f "$file" ] || continue
  warnings=$(zcat "$file" | groff -man -Tutf8 -ww -z 2>&1 || true)
  [ -z "$warnings" ] || fail "$page: groff warns: $warnings"
  zcat "$file" | grep -q '^\.SH "\?NAME"\?$' || fail "$page has no NAME section"
done
# Every key of the shipped example (also those shown commented out) is in
# laporsmsd.toml(5).
if [ -f "$root/usr/share/man/man5/laporsmsd.toml.5.gz" ]; then
  documented=$(zcat "$root/usr/share/man/man5/laporsmsd.toml.5.gz")
  keys=$(sed -n -E 's/^#? ?([a-z_]+) +=.*/\1/p' "$root/etc/laporsms/laporsmsd.toml" | sort -u)
  [ -n "$keys" ] || fail "found no keys in the example configuration"
  for key in $keys; do
    grep -qF "\\fB$key\\fR" <<<"$documented" || fail "laporsmsd.toml(5) does not document '$key'"
  done
fi

# The user and group (systemd-sysusers --root) and the folders (tmpfiles).
uid=$(awk -F: '$1 == "laporsms" { print $3 }' "$root/etc/passwd" 2>/dev/null || true)
gid=$(awk -F: '$1 == "laporsms" { print $3 }' "$root/etc/group" 2>/dev/null || true)
[ -n "$uid" ] || fail "no laporsms user in the scratch root's /etc/passwd"
[ -n "$gid" ] || fail "no laporsms group in the scratch root's /etc/group"
grep -q '^laporsms:[^:]*:[0-9]*:[0-9]*:[^:]*:/var/lib/laporsms:' "$root/etc/passwd" ||
  fail "the laporsms user's home is not /var/lib/laporsms"
expect_stat() { # PATH MODE UID GID
  local got
  got=$(stat -c '%a %u %g' "$root/$1" 2>/dev/null || echo missing)
  [ "$got" = "$2 $3 $4" ] || fail "/$1 is '$got', not '$2 $3 $4' (mode uid gid)"
}
expect_stat var/lib/laporsms 750 "$uid" "$gid"
expect_stat etc/laporsms 750 0 "$gid"
expect_stat etc/laporsms/laporsmsd.toml 640 0 "$gid"
expect_stat etc/laporsms/credentials 700 0 0
expect_stat etc/laporsms/credentials/smpp-password 600 0 0
expect_stat etc/laporsms/credentials/lapor-token 600 0 0
# Enabled (deb-systemd-helper under DPKG_ROOT), not started: nothing runs here.
wants="$root/etc/systemd/system/multi-user.target.wants/laporsmsd.service"
[ "$(readlink "$wants" 2>/dev/null)" = /lib/systemd/system/laporsmsd.service ] ||
  fail "laporsmsd.service is not enabled (no multi-user.target.wants link)"

# The installed example passes the installed daemon's check as shipped.
if ! out=$("$root/usr/sbin/laporsmsd" --check-config --config "$root/etc/laporsms/laporsmsd.toml" 2>&1); then
  fail "laporsmsd --check-config on the installed example: $out"
elif ! grep -q '^config ok$' <<<"$out"; then
  fail "laporsmsd --check-config printed '$out', not 'config ok'"
fi

# The installed unit verifies against the installed binary and man pages.
sed "s#/usr/sbin/laporsmsd#$root/usr/sbin/laporsmsd#g" "$root/lib/systemd/system/laporsmsd.service" \
  >"$work/laporsmsd.service"
if ! out=$(MANPATH="$root/usr/share/man" systemd-analyze verify "$work/laporsmsd.service" 2>&1) ||
  [ -n "$out" ]; then
  fail "systemd-analyze verify on the installed unit: $out"
fi

# --- the start decision: postinst where systemd runs ----------------------------
# In a mount namespace of its own, where /run/systemd/system exists (systemd
# "runs"), the scratch root's /etc is /etc, and systemctl, deb-systemd-invoke
# and the rest are doubles that write down what they were asked: the service
# starts only from an edited configuration that passes --check-config.
shim="$work/shim"
mkdir "$shim"
for c in systemctl deb-systemd-invoke deb-systemd-helper systemd-sysusers systemd-tmpfiles; do
  printf '#!/bin/bash\necho "%s $*" >>"%s/calls"\n' "$c" "$shim" >"$shim/$c"
  chmod +x "$shim/$c"
done
ln -s "$root/usr/sbin/laporsmsd" "$shim/laporsmsd"
postinst_starts() { # ARGS... : prints what postinst asked deb-systemd-invoke
  : >"$shim/calls"
  if ! SHIM="$shim" ROOTDIR="$root" unshare -m --propagation private bash -c '
      set -euo pipefail
      mount -t tmpfs tmpfs /run
      mkdir -p /run/systemd/system
      mount --bind "$ROOTDIR/etc" /etc
      PATH="$SHIM:$PATH" DPKG_ADMINDIR="$ROOTDIR/var/lib/dpkg" \
        bash "$ROOTDIR/var/lib/dpkg/info/laporsms.postinst" "$@"' _ "$@" >"$work/postinst.log" 2>&1; then
    cat "$work/postinst.log"
    fail "postinst $* failed"
  fi
  sed -n 's/^deb-systemd-invoke //p' "$shim/calls" | tr '\n' ' '
}
config="$root/etc/laporsms/laporsmsd.toml"
cp -p "$config" "$work/example.toml"
got=$(postinst_starts configure "")
[ -z "$got" ] || fail "postinst started the service on the shipped example: '$got'"
grep -q 'is the shipped example' "$work/postinst.log" || fail "postinst did not say the example needs editing"
sed -i 's/^system_id = "metro1708"/system_id = "city1708"/' "$config"
got=$(postinst_starts configure "")
[ "$got" = "start laporsmsd.service " ] || fail "postinst on an edited, sound config asked '$got', not 'start'"
got=$(postinst_starts configure 0.0.9)
[ "$got" = "restart laporsmsd.service " ] || fail "postinst upgrading from 0.0.9 asked '$got', not 'restart'"
sed -i 's/^port = 2775/port = 99999/' "$config"
got=$(postinst_starts configure "")
[ -z "$got" ] || fail "postinst started the service on a config with a fault: '$got'"
grep -q "key 'smsc\[0\].port'" "$work/postinst.log" || fail "postinst did not show the config's fault"
cp -p "$work/example.toml" "$config"

# --- purge: the database stays unless asked -----------------------------------
echo "a report" >"$root/var/lib/laporsms/laporsms.db"
purge_deb
[ ! -e "$root/etc/laporsms" ] || fail "purge left /etc/laporsms"
[ -f "$root/var/lib/laporsms/laporsms.db" ] || fail "purge removed the database without LAPORSMS_PURGE_DATA=1"
[ ! -e "$root/usr/sbin/laporsmsd" ] || fail "purge left /usr/sbin/laporsmsd"
install_deb
LAPORSMS_PURGE_DATA=1 purge_deb
[ ! -e "$root/var/lib/laporsms" ] || fail "purge with LAPORSMS_PURGE_DATA=1 left /var/lib/laporsms"

# --- lintian ---------------------------------------------------------------------
# As an unprivileged user when there is one: lintian warns when run as root.
lintian_cmd=(lintian --no-cfg --fail-on error "$deb")
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  chmod 0755 "$work" "$work/out"
  chmod 0644 "$deb"
  lintian_cmd=(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp "${lintian_cmd[@]}")
fi
set +e
# From a folder it may enter: the test runs in the build tree, which may sit
# under a private (0700) folder such as a mktemp -d.
lintian_out=$(cd "$work" && "${lintian_cmd[@]}" 2>&1)
lintian_rc=$?
set -e
echo "lintian (exit $lintian_rc):"
echo "${lintian_out:-  (nothing to report)}"
# 0: nothing it fails on; 2: an error tag (--fail-on error, its default);
# 1: lintian itself failed.
if [ "$lintian_rc" -eq 1 ]; then
  fail "lintian did not run"
elif [ "$lintian_rc" -ne 0 ] || grep -q '^E: ' <<<"$lintian_out"; then
  fail "lintian reports errors"
fi
# Debian's hardening: lintian's tag for it is only an info, so it is
# checked here, on the programs the package was made of.
for program in laporsmsd laporctl; do
  # Read whole first: grep -q stops early, and pipefail would count the
  # writer's SIGPIPE as a failure.
  symbols=$(readelf --dyn-syms --wide "$build_dir/$program")
  grep -q '__[a-z_]*_chk@' <<<"$symbols" ||
    fail "$program is built without _FORTIFY_SOURCE (no fortified calls)"
done

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "package ok: files, user, folders, conffile, enabled unit, check-config, verify, start decision, purge, lintian"
