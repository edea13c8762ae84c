#!/bin/sh
# Prints which lab image this is and the files each lab layer added.
cat /etc/motd
echo
for f in /srv/lab/*-version; do
	printf '%s: %s\n' "$f" "$(cat "$f")"
done
