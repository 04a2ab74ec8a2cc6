#!/usr/bin/env bash
# A minimal Slurm on this one host, for jobo's Slurm backend (tests/slurm.rs, the README's
# "Slurm" section): munged, one slurmctld and two slurmd (nodes jobo1 and jobo2, on ports 6818
# and 6819), all on loopback, no systemd, no accounting, no cgroup plugins.
#
#   sudo scripts/slurm-dev.sh start   # writes /etc/slurm/slurm.conf, starts, waits for idle
#   sudo scripts/slurm-dev.sh stop    # stops what start started (by pid files)
#
# Needs root and Debian's packages: apt-get install slurm-wlm munge. Jobs run as whoever
# submits them (jobod's nodes submit as the service's run_as user).
set -euo pipefail

conf=/etc/slurm/slurm.conf
state=/var/spool/jobo-slurm-dev
logs=/var/log/jobo-slurm-dev
run=/run/jobo-slurm-dev
nodes=(jobo1 jobo2)

die() { echo "slurm-dev: $*" >&2; exit 1; }

# Waits up to $1 tenths of a second for the command after it to succeed.
wait_for() {
  local tries=$1; shift
  for _ in $(seq "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# The pid in a pid file, if that process is alive (and not a zombie nobody reaped).
alive_pid() {
  local pid state
  pid=$(cat "$1" 2>/dev/null) || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && echo "$pid"
}

stop_pidfile() {
  local pid
  pid=$(alive_pid "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  # Not our child (the daemons detach): poll until gone.
  for _ in $(seq 100); do
    alive_pid "$1" >/dev/null || { rm -f "$1"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

write_conf() {
  local host cpus mem
  # Never over a real cluster's configuration.
  if [ -e "$conf" ] && ! head -n 1 "$conf" | grep -q "jobo's scripts/slurm-dev.sh"; then
    die "$conf exists and is not this script's: not overwriting it"
  fi
  host=$(hostname -s)
  cpus=$(nproc)
  # Megabytes, minus a margin so slurmd's own count is never below it.
  mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  mkdir -p /etc/slurm "$state/ctld" "$logs" "$run"
  cat >"$conf" <<CONF
# Written by jobo's scripts/slurm-dev.sh: a single-host development cluster.
ClusterName=jobo-dev
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
ReturnToService=2
# Finished jobs stay in slurmctld's memory (scontrol, squeue -t all) this long: without
# accounting, that is where the exit code is read.
MinJobAge=300
KillWait=5
InactiveLimit=0
SchedulerParameters=sched_interval=2
SlurmctldPort=6817
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd-%n.pid
SlurmdSpoolDir=$state/slurmd-%n
StateSaveLocation=$state/ctld
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd-%n.log
NodeName=jobo1 NodeHostname=$host NodeAddr=127.0.0.1 Port=6818 CPUs=$cpus RealMemory=$mem State=UNKNOWN
NodeName=jobo2 NodeHostname=$host NodeAddr=127.0.0.1 Port=6819 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  [ "$(id -u)" -eq 0 ] || die "must run as root"
  command -v slurmctld >/dev/null || die "slurmctld not found: apt-get install slurm-wlm munge"
  write_conf
  # munged: as its own user, socket in /run/munge.
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  if ! alive_pid /run/munge/munged.pid >/dev/null; then
    runuser -u munge -- munged
  fi
  wait_for 50 munge -n || die "munged does not answer"
  if ! alive_pid "$run/slurmctld.pid" >/dev/null; then
    slurmctld -i
  fi
  wait_for 100 scontrol ping || die "slurmctld does not answer (see $logs/slurmctld.log)"
  for n in "${nodes[@]}"; do
    mkdir -p "$state/slurmd-$n"
    if ! alive_pid "$run/slurmd-$n.pid" >/dev/null; then
      slurmd -N "$n"
    fi
  done
  for n in "${nodes[@]}"; do
    # A node left down or drained by an earlier run comes back.
    scontrol update nodename="$n" state=resume >/dev/null 2>&1 || true
  done
  idle() { [ "$(sinfo -h -N -t idle -o '%N' | sort -u | wc -l)" -eq "${#nodes[@]}" ]; }
  wait_for 300 idle || { sinfo -N >&2; die "the nodes did not become idle (see $logs/)"; }
  sinfo -N
}

stop() {
  for n in "${nodes[@]}"; do stop_pidfile "$run/slurmd-$n.pid"; done
  stop_pidfile "$run/slurmctld.pid"
  stop_pidfile /run/munge/munged.pid
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
