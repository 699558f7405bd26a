#!/usr/bin/env bash
# Start a single-node SLURM (slurmctld + slurmd, munge auth) whose every file lives in DIR.
#   tests/slurm/start.sh DIR      then: export SLURM_CONF=DIR/slurm.conf PATH=DIR/bin:$PATH
# Needs root and the Debian packages slurm-wlm and munge (.ci/run installs them). Stop it with
# tests/slurm/stop.sh DIR. Ports: $SLURMCTLD_PORT (6817) and $SLURMD_PORT (6818).
set -euo pipefail
dir=$(realpath -m "${1:?usage: start.sh DIR}")
mkdir -p "$dir"/{state,spool,log,bin}
host=$(hostname -s)
cpus=$(nproc)
# RealMemory above the real memory drains the node: announce 80% of it
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)

cat > "$dir/slurm.conf" <<CONF
ClusterName=sparsitylab
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=5
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF

# Without slurmdbd there is no working sacct, and submitit would never learn that a job died:
# answer its `sacct -o JobID,State,NodeList --parsable2 -j ID ...` from squeue.
cat > "$dir/bin/sacct" <<'SH'
#!/bin/sh
ids=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-j" ]; then shift; ids="$ids,$1"; fi
  shift
done
echo "JobID|State|NodeList"
[ -n "$ids" ] && squeue -h -t all -j "${ids#,}" -o '%i|%T|%N' 2>/dev/null
exit 0
SH
chmod +x "$dir/bin/sacct"

if ! pgrep -x munged >/dev/null; then
  install -d -o munge -g munge /run/munge
  runuser -u munge -- /usr/sbin/munged
  touch "$dir/munged.started"
fi
export SLURM_CONF="$dir/slurm.conf"
/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 100); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  if [ "$state" = "idle" ]; then
    echo "slurm up: SLURM_CONF=$SLURM_CONF, node $host idle with $cpus CPUs"
    exit 0
  fi
  sleep 0.2
done
echo "slurm did not come up (node state: ${state:-none}); logs in $dir/log" >&2
exit 1
