#!/usr/bin/env bash
# Builds the .deb and checks it as an admin would use it, on this (Debian-like) machine, as
# root: install, `jobo --version`, `man jobo`, start the installed jobod the way
# jobod.service does (there is no systemd in CI, so directly), run a job as an ordinary user
# in group jobo through the system socket and check it ran as that user, stop jobod, purge,
# and check the data is gone.
# .ci/run calls it after the tests. A second run on the same machine passes too: it only adds
# what is missing and removes what it added.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
  echo "packaging/deb/ci-check.sh: needs root (dpkg -i, useradd); skipped" >&2
  exit 0
fi
step() { echo "deb: $* ($((SECONDS - started)) s)"; }
started=$SECONDS
user=jobo-ci-user
unit=/usr/lib/systemd/system/jobod.service
pid=

# Whatever happens, stop the jobod we started and leave no stale system socket behind: `jobo`
# would pick /run/jobo/jobod.sock over the per-user daemon as long as it exists.
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f /run/jobo/jobod.sock
}
trap cleanup EXIT

if ! command -v cargo-deb >/dev/null 2>&1; then
  cargo install cargo-deb --locked
  step "installed cargo-deb"
fi
deb=$(cargo deb --locked --fast | tail -n 1)
test -f "$deb"
step "built $deb"

# --path-include keeps the man pages even on images whose dpkg config excludes them.
dpkg --path-include='/usr/share/man/*' -i "$deb"
jobo --version
test "$(jobo --version)" = "jobo $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
MANWIDTH=80 man -P cat jobo | grep -q 'jobo - Submit batch jobs'
MANWIDTH=80 man -P cat 8 jobod | grep -q 'jobod - The jobo server'
getent group jobo >/dev/null
getent passwd jobo-run >/dev/null
test "$(stat -c '%U %a' /var/lib/jobo)" = "root 711"
test "$(stat -c '%U %a' /etc/jobo/jobod.toml)" = "root 600"
step "installed: jobo --version, man jobo and man 8 jobod work; jobo-run, group jobo and /var/lib/jobo exist"

# The units' syntax, their ExecStart binaries and Documentation= man pages.
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify "$unit" "${unit%/*}/jobod-worker.service"
  step "systemd-analyze verify: both units are valid"
else
  echo "deb: systemd-analyze is not installed: the units' syntax is not checked"
fi

# As jobod.service would: as root (the unit names no User=, so that jobod can run each job as
# its user), its RuntimeDirectory (/run/jobo, 0755), its ExecStart.
if grep -q '^User=' "$unit"; then
  echo "deb: $unit names a User=: jobod must run as root to run jobs as their users" >&2
  exit 1
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
install -d -m 0755 /run/jobo
log=$(mktemp)
# shellcheck disable=SC2086  # ExecStart is split into words, as systemd does
$exec_start 2>"$log" &
pid=$!
for _ in $(seq 200); do
  [ -S /run/jobo/jobod.sock ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.05
done
test -S /run/jobo/jobod.sock
test "$(stat -c '%U %G %a' /run/jobo/jobod.sock)" = "root jobo 660"
test "$(stat -c '%U %a' /var/lib/jobo/jobo.db)" = "root 600"
step "jobod started as root: $exec_start"

# An ordinary user, in group jobo, runs a job with the installed jobo and no --host.
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
usermod -aG jobo "$user"
out=$(runuser -u "$user" -- bash -c '
  set -e
  cd
  rm -rf job jobo-*
  mkdir job
  printf "echo \"hello from \$JOBO_USER as \$(id -un)\"\n" > job/run.sh
  jobo run job --service example
  test -f jobo-*/run.sh')
echo "$out"
test "$out" = "hello from $user as $user"
status=$(jobo --json list --user "$user" --limit 1)
echo "$status" | grep -q '"state": *"succeeded"'
echo "$status" | grep -q "\"run_as\": *\"$user\""
step "a job of $user (group jobo) ran through the system socket, as $user"

kill -TERM "$pid"
wait "$pid"
pid=
test ! -e /run/jobo/jobod.sock
step "jobod stopped on SIGTERM (exit 0), socket removed"

dpkg --purge jobo
test ! -e /var/lib/jobo
test ! -e /usr/bin/jobod
test ! -e /etc/jobo
userdel --remove "$user" 2>/dev/null || true
step "purged: /var/lib/jobo, /etc/jobo and the binaries are gone"
