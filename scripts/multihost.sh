#!/usr/bin/env bash
# Distributed training across two hosts on one machine: two network namespaces joined by a veth
# pair (10.77.0.1 and 10.77.0.2, addresses that exist inside the namespaces only), Open MPI over
# TCP with a hostfile, its daemons started in each namespace by `ip netns exec` (mpirun's
# plm_rsh_agent) instead of ssh. It
#   1. runs tests/distributed/programs/multihost_train.cpp on 2 ranks on one host, then on the
#      two namespaces as two hosts, and requires the same losses and final parameters (bit for
#      bit: two ranks sum in one order whatever the transport);
#   2. starts a long run across the two hosts, takes the link down mid-training
#      (ip link set down) and requires the job to end, non-zero, with tapegrad's timeout
#      message, within the timeout plus a margin.
# Prints the figures (times, the hash, how long the job took to end after the link dropped).
# Usage (root, Linux with ip netns; builds nothing):
#   scripts/multihost.sh [build-dir]      # default: build; needs the multihost_train target
# Environment: TIMEOUT (seconds, default 5) is the job's TAPEGRAD_DIST_TIMEOUT in part 2;
# MARGIN (default 20) the seconds allowed on top of it for Open MPI to take the job down.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
PROG=$BUILD/tests/distributed/multihost_train
TIMEOUT=${TIMEOUT:-5}
MARGIN=${MARGIN:-20}
[ -x "$PROG" ] || { echo "multihost.sh: $PROG missing: cmake --build $BUILD --target multihost_train" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "multihost.sh: needs root (ip netns)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

NS1=tg_host1 NS2=tg_host2 A=10.77.0.1 B=10.77.0.2
WORK=$(mktemp -d)
JOB=
cleanup() {
  set +e
  [ -n "$JOB" ] && kill "$JOB" 2>/dev/null
  for ns in $NS1 $NS2; do  # whatever this script started in the namespaces
    pids=$(ip netns pids $ns 2>/dev/null)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    ip netns del $ns 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

for ns in $NS1 $NS2; do ip netns del $ns 2>/dev/null || true; done
ip netns add $NS1
ip netns add $NS2
ip link add tg_veth1 type veth peer name tg_veth2
ip link set tg_veth1 netns $NS1
ip link set tg_veth2 netns $NS2
ip -n $NS1 addr add $A/24 dev tg_veth1
ip -n $NS2 addr add $B/24 dev tg_veth2
for ns in $NS1 $NS2; do
  ip -n $ns link set lo up
done
ip -n $NS1 link set tg_veth1 up
ip -n $NS2 link set tg_veth2 up
# Open MPI's runtime (mpirun and its daemons) learns of a lost host only from TCP: after
# MPI_Abort, mpirun waits until its kill message to the unreachable daemon times out, which by
# Linux's default (tcp_retries2 = 15) takes about 15 minutes. A cluster that wants a lost node
# to end the job quickly lowers it; here it is set inside the two namespaces only.
for ns in $NS1 $NS2; do
  ip netns exec $ns sysctl -q -w net.ipv4.tcp_retries2=${TCP_RETRIES2:-4}
done
ip -n $NS1 neigh flush all 2>/dev/null || true

# mpirun's remote shell: the "host" is an address, the command runs in its namespace.
cat > "$WORK/netns-rsh" <<EOF
#!/bin/sh
host=\$1; shift
case "\$host" in
  $A) ns=$NS1 ;;
  $B) ns=$NS2 ;;
  *) echo "netns-rsh: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec \$ns /bin/sh -c "\$*"
EOF
chmod +x "$WORK/netns-rsh"
printf '%s slots=1\n%s slots=1\n' $A $B > "$WORK/hosts"
TWO_HOSTS=(ip netns exec $NS1 mpirun --hostfile "$WORK/hosts" -n 2
  --mca plm_rsh_agent "$WORK/netns-rsh" --mca btl tcp,self
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
  -x OMP_NUM_THREADS -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM)

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

echo "== 1. the same run on one host and on two (20 steps, 2 ranks)"
t=$(now)
mpirun -n 2 --oversubscribe "$PROG" 20 > "$WORK/one.txt"
echo "one host:  $(since "$t") s, $(tail -1 "$WORK/one.txt")"
t=$(now)
"${TWO_HOSTS[@]}" -x TAPEGRAD_DIST_TIMEOUT=60 "$PROG" 20 > "$WORK/two.txt"
echo "two hosts: $(since "$t") s, $(tail -1 "$WORK/two.txt")"
echo "last loss: $(grep '^step 19' "$WORK/one.txt") (one host), $(grep '^step 19' "$WORK/two.txt") (two hosts)"
if ! diff "$WORK/one.txt" "$WORK/two.txt"; then
  echo "FAIL: two hosts differ from one" >&2
  exit 1
fi
echo "equal: every step's loss and the final parameters' hash"

echo "== 2. the link drops mid-training (TAPEGRAD_DIST_TIMEOUT=$TIMEOUT s)"
"${TWO_HOSTS[@]}" -x TAPEGRAD_DIST_TIMEOUT=$TIMEOUT "$PROG" 1000000 20 > "$WORK/drop.out" 2> "$WORK/drop.err" &
JOB=$!
for _ in $(seq 300); do grep -q '^step 10 ' "$WORK/drop.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^step 10 ' "$WORK/drop.out" || { echo "FAIL: the job did not start" >&2; cat "$WORK/drop.err" >&2; exit 1; }
ip -n $NS2 link set tg_veth2 down
t=$(now)
rc=0
for _ in $(seq $(( (TIMEOUT + MARGIN) * 10 ))); do kill -0 $JOB 2>/dev/null || break; sleep 0.1; done
if kill -0 $JOB 2>/dev/null; then
  echo "FAIL: the job still runs $(since "$t") s after the link dropped" >&2
  cat "$WORK/drop.err" >&2
  exit 1
fi
wait $JOB || rc=$?
JOB=
elapsed=$(since "$t")
echo "link down after $(grep -c '^step' "$WORK/drop.out") steps; the job ended $elapsed s later with exit $rc"
grep -v "^\s*$" "$WORK/drop.err" | head -20 || true
if [ "$rc" = 0 ] || ! grep -q 'tapegrad: rank [01] of 2: timed out after' "$WORK/drop.err"; then
  echo "FAIL: expected a non-zero exit and tapegrad's timeout message" >&2
  cat "$WORK/drop.err" >&2
  exit 1
fi
echo "PASS"
