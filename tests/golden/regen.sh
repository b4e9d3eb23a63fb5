#!/bin/sh
# Regenerate the expected dumps from Emacs org-element: NAME.org -> NAME.jsonl.
# Run after adding a golden file; check the result by eye before committing.
set -eu
cd "$(dirname "$0")"
for f in *.org; do
	LANG=C.UTF-8 emacs --batch -Q -l ../fidelity/org-dump.el "$f" 2>/dev/null |
	    tail -n +2 > "${f%.org}.jsonl"
done
