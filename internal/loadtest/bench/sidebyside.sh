#!/usr/bin/env bash
# Old and new dashboards, the seed stack and a bare net/http handler, side by
# side in one sitting with ../shared/bench/compare.sh's wrk settings,
# alternated twice (docs/benchmarks.md, "Speed"). Run from the checkout:
#   bash internal/loadtest/bench/sidebyside.sh OLD_COMMIT
# Needs wrk, node/npm (the seed stack), redis-server, curl.
set -eu
old=${1:?usage: sidebyside.sh OLD_COMMIT}
proj=$(pwd)
seed=$(cd "$proj/../shared/bench/seedstack" && pwd)
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/old"
git archive "$old" | tar -x -C "$work/old"
(cd "$work/old" && go build -o "$work/lxcm-old" ./cmd/lxc-manager)
go build -o "$work/lxcm-new" ./cmd/lxc-manager
cat > "$work/bare.go" <<'GO'
package main

import "net/http"

func main() {
	_ = http.ListenAndServe("127.0.0.1:18193", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	}))
}
GO
(cd "$work" && go mod init bare >/dev/null 2>&1 && go build -o bare bare.go)
wrkargs="-t2 -c64 -d10s --latency"
redis-server --port 16481 --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & echo $! > "$work/redis.pid"
"$work/lxcm-new" pvesim --listen 127.0.0.1:18107 --user root@pam:Bench-root-1 > "$work/sim.log" 2>&1 & echo $! > "$work/sim.pid"
for i in $(seq 100); do grep -q fingerprint "$work/sim.log" && break; sleep 0.1; done
fp=$(sed -n 's/.*fingerprint:* *\([0-9A-F:]\{95\}\).*/\1/p' "$work/sim.log" | head -1)
start() { # name binary port database; prints the session cookie
  PROXMOX_HOST=127.0.0.1 PROXMOX_PORT=18107 PROXMOX_TLS_FINGERPRINT="$fp" \
  SESSION_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuv REDIS_URL=redis://127.0.0.1:16481/$4 \
  LISTEN_ADDR=127.0.0.1:$3 COOKIE_SECURE=false LOG_LEVEL=error METRICS_ADDR=off \
    "$2" serve > "$work/$1.log" 2>&1 & echo $! > "$work/$1.pid"
  for i in $(seq 100); do curl -sf http://127.0.0.1:$3/healthz >/dev/null 2>&1 && break; sleep 0.1; done
  curl -s -c "$work/$1.jar" -o /dev/null -H "Origin: http://127.0.0.1:$3" \
    --data-urlencode username=root --data-urlencode realm=pam --data-urlencode password=Bench-root-1 http://127.0.0.1:$3/login
  awk '$6=="lxc-session" {print "lxc-session=" $7}' "$work/$1.jar"
}
cold=$(start old "$work/lxcm-old" 18191 1)
cnew=$(start new "$work/lxcm-new" 18192 2)
"$work/bare" & echo $! > "$work/bare.pid"
sleep 0.5
pick() { awk '/Requests\/sec/ {r=$2} $1=="50%" {p=$2} END {print r, p}'; }
for round in 1 2; do
  echo "round $round"
  echo "  old signed-in: $(wrk $wrkargs -H "Cookie: $cold" http://127.0.0.1:18191/bench-missing-page | pick)"
  echo "  new signed-in: $(wrk $wrkargs -H "Cookie: $cnew" http://127.0.0.1:18192/bench-missing-page | pick)"
  echo "  seed:          $(bash "$seed/run.sh" | pick)"
  echo "  old /healthz:  $(wrk $wrkargs http://127.0.0.1:18191/healthz | pick)"
  echo "  new /healthz:  $(wrk $wrkargs http://127.0.0.1:18192/healthz | pick)"
  echo "  bare net/http: $(wrk $wrkargs http://127.0.0.1:18193/ | pick)"
done
