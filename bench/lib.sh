# Sourced by the bench scripts that start a keeper daemon: a temporary
# directory that goes when the script does, and the daemon (its pid in
# $daemon, empty when none runs) killed with it.
#
#   bench_tmp NAME     tmp=/tmp/kNAME.XXXXXX, removed at exit
#   bench_stop         SIGTERM the daemon and wait for it (it drains)

bench_cleanup() {
	if [ -n "${daemon:-}" ] && kill -0 "$daemon" 2>/dev/null; then
		kill -KILL "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}

bench_tmp() {
	tmp=$(mktemp -d "/tmp/k$1.XXXXXX")
	daemon=
	trap bench_cleanup EXIT INT TERM
}

bench_stop() {
	kill -TERM "$daemon"
	wait "$daemon" || true
	daemon=
}
