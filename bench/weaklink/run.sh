#!/usr/bin/env bash
# bench/weaklink/run.sh - the phone player behind a shaped link: a network
# namespace ($NS) joined to this one by a veth pair, both ends shaped by tc
# tbf (rate), the link's delay stood in for by a relay (this kernel has no
# netem); Chromium runs in the namespace. See run.mjs for what is measured.
#
# usage: sudo bench/weaklink/run.sh        (needs root: ip netns, tc)
# env: RATES ("256 512 2000" kbit/s), DURATION (s per case, 120), DELAY_MS
#   (150 each way), WORK (/tmp/yl-bench-weaklink), YUNLING. Not a test:
#   about (DURATION + 30) s per case, 6 cases, plus a transcode.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (ip netns, tc)" >&2; exit 77; }
export NS=${NS:-ylwl} VETH=ylwl0 PEER=ylwl1 HOST_IP=10.77.0.1
export WORK=${WORK:-/tmp/yl-bench-weaklink}
mkdir -p "$WORK"

cleanup() {
    ip link del "$VETH" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add "$NS"
ip link add "$VETH" type veth peer name "$PEER"
ip link set "$PEER" netns "$NS"
ip addr add "$HOST_IP/24" dev "$VETH"
ip link set "$VETH" up
ip netns exec "$NS" ip addr add 10.77.0.2/24 dev "$PEER"
ip netns exec "$NS" ip link set "$PEER" up
ip netns exec "$NS" ip link set lo up

YL_TMPDIR=$(mktemp -d "$WORK/run.XXXXXX") node bench/weaklink/run.mjs
