# shellcheck shell=bash
# A one-node Slurm cluster in a temporary folder, for tests: sourced by
# scripts/slurm/test.sh. slurm_start DIR starts munged (as the munge user),
# slurmctld and slurmd with their configuration, state, logs and pid files
# under DIR and exports SLURM_CONF; slurm_stop stops what slurm_start
# started, by the pids in its pid files, and removes them. Needs root and
# Debian's slurmctld, slurmd, slurm-client and munge packages.

# slurm_missing prints what is missing to run a cluster here (empty: all
# there).
slurm_missing() {
	local c miss=()
	for c in munged slurmctld slurmd sbatch scontrol sinfo squeue runuser; do
		command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$c" >/dev/null 2>&1 || miss+=("$c")
	done
	id munge >/dev/null 2>&1 || miss+=("the munge user")
	[ "$(id -u)" = 0 ] || miss+=("root (slurmd runs jobs as root here)")
	echo "${miss[*]}"
}

# slurm_start DIR: DIR must be new or empty; everything goes under it.
slurm_start() {
	SLURM_DIR=$1
	export PATH=$PATH:/usr/sbin
	mkdir -p "$SLURM_DIR"/{munge,state,spool,log}
	# munged wants its own folder, owned by munge, that everyone may enter
	# (the socket) but nobody else may write; the key readable by munge only.
	chmod 0755 "$SLURM_DIR"
	dd if=/dev/urandom of="$SLURM_DIR/munge/munge.key" bs=1024 count=1 status=none
	chown -R munge: "$SLURM_DIR/munge"
	chmod 0755 "$SLURM_DIR/munge"
	chmod 0400 "$SLURM_DIR/munge/munge.key"
	runuser -u munge -- munged \
		--socket="$SLURM_DIR/munge/munge.sock" --key-file="$SLURM_DIR/munge/munge.key" \
		--pid-file="$SLURM_DIR/munge/munged.pid" --log-file="$SLURM_DIR/munge/munged.log" \
		--seed-file="$SLURM_DIR/munge/munged.seed" || {
		echo "slurm: munged did not start:" >&2
		cat "$SLURM_DIR/munge/munged.log" >&2 2>/dev/null
		return 1
	}

	# Ports of their own, so that a cluster of another test does not answer.
	local port=$((20000 + RANDOM % 20000))
	local node
	node=$(slurmd -C | head -n 1)
	case $node in
	NodeName=*) ;;
	*) echo "slurm: slurmd -C printed no node line: $node" >&2; return 1 ;;
	esac
	local host=${node#NodeName=}
	host=${host%% *}
	export SLURM_CONF=$SLURM_DIR/slurm.conf
	cat >"$SLURM_CONF" <<CONF
ClusterName=petlci
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$SLURM_DIR/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
KillWait=30
$node State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
	slurmctld -f "$SLURM_CONF" || { slurm_logs; return 1; }
	slurmd -f "$SLURM_CONF" || { slurm_logs; return 1; }
	local i state
	for i in $(seq 1 120); do
		state=$(sinfo -h -N -o %t 2>/dev/null | head -n 1)
		case $state in
		idle) return 0 ;;
		esac
		sleep 0.5
	done
	echo "slurm: the node is not idle after 60 s (state: ${state:-none})" >&2
	slurm_logs
	return 1
}

# slurm_logs prints the daemons' logs to standard error.
slurm_logs() {
	local f
	[ -n "${SLURM_DIR:-}" ] || return 0
	for f in "$SLURM_DIR"/log/*.log "$SLURM_DIR"/munge/munged.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
}

# slurm_kill_pidfile FILE: stops the process whose pid FILE holds, waits up
# to 20 s for it to end (then kills it), and removes FILE.
slurm_kill_pidfile() {
	local f=$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		for i in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$f"
}

# slurm_stop: cancels every job left, stops slurmd, slurmctld and munged,
# and removes their pid files. Safe to call twice and after a failed start.
slurm_stop() {
	[ -n "${SLURM_DIR:-}" ] || return 0
	if [ -f "$SLURM_DIR/slurmctld.pid" ]; then
		local ids i
		ids=$(squeue -h -o %A 2>/dev/null)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			scancel $ids 2>/dev/null
			for i in $(seq 1 60); do
				[ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
				sleep 0.5
			done
		fi
	fi
	slurm_kill_pidfile "$SLURM_DIR/slurmd.pid"
	slurm_kill_pidfile "$SLURM_DIR/slurmctld.pid"
	slurm_kill_pidfile "$SLURM_DIR/munge/munged.pid"
}
