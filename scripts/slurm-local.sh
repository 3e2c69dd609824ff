#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for the SLURM CI phase and for trying `em-lab experiment submit
# --slurm` without a cluster (recipe: ../shared/docs/slurm-local.md; Debian slurm-wlm 22.05 + munge, run as root,
# no systemd or cgroups). Its config lives under $EM_LAB_SLURM_DIR (default /tmp/em-lab-slurm), not /etc/slurm:
# commands find it through SLURM_CONF, which `start` prints. Does not depend on the host name.
#   scripts/slurm-local.sh install    apt-get install slurm-wlm munge (if missing)
#   scripts/slurm-local.sh start      start munged (if not running), slurmctld and slurmd; wait for the node
#   scripts/slurm-local.sh stop       scontrol shutdown, stop the daemons this script started
set -euo pipefail
DIR="${EM_LAB_SLURM_DIR:-/tmp/em-lab-slurm}"
CONF="$DIR/slurm.conf"
export SLURM_CONF="$CONF"

install() {
  if command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v munged >/dev/null; then return 0; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

start() {
  [ "$(id -u)" = 0 ] || { echo "slurm-local: run as root (slurmd runs jobs as their users)" >&2; exit 2; }
  mkdir -p "$DIR"/{state,spool,log} /run/munge /var/log/munge /etc/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge; chmod 400 /etc/munge/munge.key
    su munge -s /bin/sh -c /usr/sbin/munged
    touch "$DIR/started-munged"
    for _ in $(seq 1 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  local host cpus mem
  host=$(hostname -s); cpus=$(nproc); mem=$(( $(free -m | awk '/Mem/{print $2}') - 1024 ))
  cat > "$CONF" <<CONF
ClusterName=emlab
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${EM_LAB_SLURMCTLD_PORT:-6817}
SlurmdPort=${EM_LAB_SLURMD_PORT:-6818}
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldLogFile=$DIR/log/ctld.log
SlurmdLogFile=$DIR/log/d.log
SlurmctldPidFile=$DIR/ctld.pid
SlurmdPidFile=$DIR/d.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
KillWait=20
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -f "$CONF"
  slurmd -f "$CONF"
  for _ in $(seq 1 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then echo "export SLURM_CONF=$CONF"; return 0; fi
    sleep 1
  done
  echo "slurm-local: the node did not become idle in 60 s; logs in $DIR/log" >&2
  sinfo >&2 || true
  exit 1
}

stop() {
  scontrol shutdown >/dev/null 2>&1 || true
  for f in "$DIR/ctld.pid" "$DIR/d.pid"; do
    if [ -f "$f" ]; then
      pid=$(cat "$f"); for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill "$pid" 2>/dev/null || true
    fi
  done
  if [ -f "$DIR/started-munged" ] && [ -f /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; rm -f "$DIR/started-munged"; fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
