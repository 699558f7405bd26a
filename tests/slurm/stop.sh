#!/usr/bin/env bash
# Stop the SLURM that tests/slurm/start.sh DIR started: cancel its jobs, then end its daemons by
# the PIDs in their pid files (and munged only if start.sh started it).
set -uo pipefail
dir=$(realpath -m "${1:?usage: stop.sh DIR}")
export SLURM_CONF="$dir/slurm.conf"
# array tasks of a failed sweep keep running otherwise
scancel --user="$(id -un)" 2>/dev/null
for name in slurmd slurmctld; do
  pidfile="$dir/$name.pid"
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
done
if [ -e "$dir/munged.started" ] && [ -s /run/munge/munged.pid ]; then
  kill "$(cat /run/munge/munged.pid)" 2>/dev/null
  rm -f "$dir/munged.started"
fi
exit 0
