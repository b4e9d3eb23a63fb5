#!/bin/bash
# The newsroom example (`make run`): make a scratch tenant repo, check the
# example files, and start keeper on them.
#
#   crews/run-example.sh KEEPER_BIN      seed the site if needed, then run
#   crews/run-example.sh --seed SITE     only seed SITE (the tests use it)
#
# The site is /tmp/keeper-newsroom-site (KEEPER_EXAMPLE_SITE), its state
# SITE-state (KEEPER_EXAMPLE_DATA), the dashboard on 127.0.0.1:8080
# (KEEPER_EXAMPLE_LISTEN). Seeding is idempotent: an existing site keeps
# its history, so a restart carries on where the crew left off.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

seed() {
	local site=$1
	if [ -d "$site/.git" ]; then
		return 0
	fi
	mkdir -p "$site"
	git -C "$site" init -q
	cat > "$site/README.org" <<'ORG'
#+TITLE: The Newsroom
A newsroom that reports on the server it runs on, staffed by keeper
agents: desk assigns beats (queue/), moss researches them (notes/), wren
writes drafts (drafts/), hale edits and publishes them (stories/,
index.html). Every change here is a commit by the agent that made it.
ORG
	git -C "$site" add README.org
	git -C "$site" -c user.name=keeper -c user.email=keeper@keeper.invalid \
	    commit -q -m "newsroom: a fresh site"
}

if [ "${1:-}" = --seed ]; then
	seed "${2:?usage: crews/run-example.sh --seed SITE}"
	exit 0
fi

keeper=${1:?usage: crews/run-example.sh KEEPER_BIN}
site=${KEEPER_EXAMPLE_SITE:-/tmp/keeper-newsroom-site}
data=${KEEPER_EXAMPLE_DATA:-$site-state}
listen=${KEEPER_EXAMPLE_LISTEN:-127.0.0.1:8080}

seed "$site"
mkdir -p "$data"
"$keeper" check "$here/newsroom.org" "$here/writer-loop.org" \
    "$here"/../agents/*.org

# Read the whole help first: grep -q leaving early must not fail the pipe.
help=$("$keeper" --help)
if ! grep -q '^  run ' <<<"$help"; then
	echo "run-example: this keeper has no 'run' command yet; the examples" \
	    "check clean. Try one by hand:" >&2
	echo "  (cd $site && $keeper exec-def $here/../agents/desk.org)" >&2
	exit 0
fi
echo "run-example: the newsroom works in $site (state in $data);" \
    "dashboard on http://$listen/" >&2
case $listen in
*:0) echo "run-example: port 0 picks a free port; the bound address is" \
    "written to $data/http.addr" >&2 ;;
esac
if [ -z "${KEEPER_LLM_URL:-}" ]; then
	echo "run-example: no KEEPER_LLM_URL: wren writes without a model" >&2
fi
exec "$keeper" run --crew "$here/newsroom.org" --repo "$site" \
    --data "$data" --listen "$listen"
