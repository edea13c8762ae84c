#!/usr/bin/env bash
# shellcheck disable=SC2016 # the single-quoted scripts run in a container
# 10 — What kind of database does the registry use? Can we query it?
# Explore the storage tree and answer with find, cat, jq — and the HTTP API.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker
for r in base app; do
	manifest "lab/$r" 1.0 >/dev/null 2>&1 || die "lab/$r:1.0 is not in the registry yet: run tutorials 02 and 03 first"
done
[[ -n "$(registry_container)" ]] || die "this tutorial reads the storage of the lab's container: start it with make up"

# in_storage SCRIPT [| HOST-PIPELINE]: prints and runs (run) a shell script in
# a throwaway container of the base image, in the registry's storage mounted
# read-only (the registry image has no shell: the registry binary is its
# only file). The script must not contain single quotes.
in_storage() {
	run "$(storage_cmd "$1")${2:+ $2}"
}

title "10 · what kind of database does the registry use?"
explain <<'TEXT'
None — no server, no SQL, no index file. The registry's 'database' is a directory tree: blobs
named by their digest, and tiny text files that link names to digests. Every question about the
registry is a walk of that tree, which is also why the answers are crash-safe: each file is
written to a temp file and renamed into place, all or nothing.

The registry image holds nothing but the registry binary, so we read its storage from a
throwaway container of the base image: --volumes-from mounts the registry's volume (read-only),
-w starts in it, /var/lib/registry.
TEXT
pause

step "The top of the tree"
in_storage "ls -F; echo; find repositories -maxdepth 3 | sort | head -20"
explain <<'TEXT'
blobs/ holds content (every layer, config and manifest, once). repositories/ holds names: which
blobs a repository may serve (_layers), which manifests it has (_manifests/revisions) and its
tags (_manifests/tags). uploads/ holds pushes in progress, tmp/ files being written.
TEXT
pause

step "A table of tags: SELECT repository, tag, digest FROM tags"
in_storage 'for f in $(find repositories -path "*/_manifests/tags/*" -type f | sort); do r=${f#repositories/}; r=${r%%/_manifests/*}; printf "%-14s %-10s %s\n" "$r" "${f##*/}" "$(cat "$f")"; done'
tag_file="$(grep -E '^lab/base +1\.0 ' "$OUT" | awk '{ print $3 }')"
api_digest="$(manifest lab/base 1.0 >/dev/null && hdr Docker-Content-Digest)"
check_eq tag-file "the tag file holds the digest the API serves" "$tag_file" "$api_digest"
explain <<TEXT
A tag is a file holding a digest, replaced atomically when the tag moves. The HTTP API says the
same: HEAD /v2/lab/base/manifests/1.0 answers Docker-Content-Digest: $api_digest.
TEXT
pause

step "Follow the digest: the manifest is a blob too"
hex="${api_digest#sha256:}"
in_storage "cat blobs/sha256/${hex:0:2}/$hex" "| jq ."
in_storage "sha256sum blobs/sha256/${hex:0:2}/$hex; cat repositories/lab/base/_manifests/revisions/sha256/$hex; echo"
blob_sum="sha256:$(awk 'NR == 1 { print $1 }' "$OUT")"
check_eq blob-name-is-hash "the manifest blob's name is the hash of its bytes" "$blob_sum" "$api_digest"
explain <<'TEXT'
The file name is the sha256 of its content — that is what content-addressable means, and why a
blob can never be silently corrupted: sha256sum detects it. The revision link records the media
type the manifest was pushed with, so it is served back the same way.
TEXT
pause

step "One blob, two repositories"
layer="$(manifest lab/base 1.0 | jq -r '.layers[0].digest')"
lhex="${layer#sha256:}"
in_storage "ls -l repositories/*/*/_layers/sha256/$lhex; echo; cat repositories/lab/app/_layers/sha256/$lhex; echo; echo; ls -l blobs/sha256/${lhex:0:2}/"
in_storage "ls repositories/*/*/_layers/sha256/$lhex | wc -l; find blobs -name $lhex | wc -l"
links="$(sed -n 1p "$OUT" | tr -d ' ')" copies="$(sed -n 2p "$OUT" | tr -d ' ')"
check linked-twice "the base layer is linked by at least two repositories ($links)" test "$links" -ge 2
check_eq stored-once "… and stored once" "$copies" 1
explain <<TEXT
The base's Debian layer, ${layer:0:19}… ($(human "$(manifest lab/base 1.0 | jq '.layers[0].size')")): $links
repositories hold a link to it (a few bytes each: the digest), and there is $copies file with its
bytes. That is deduplication — no reference counts, no rows: a repository may serve a blob when
its link exists.
TEXT
pause

step "More questions, asked of the tree"
explain "Which repositories can serve a given blob?"
in_storage "find repositories -path */_layers/sha256/$lhex | cut -d/ -f2,3"
explain "The five largest blobs:"
in_storage 'find blobs -type f -exec ls -l {} + | sort -k5 -n -r | head -5 | awk "{ print \$5, \$9 }"'
explain "How much the blobs take, and how many there are:"
in_storage "du -sh blobs; find blobs -type f | wc -l"
explain "Is every blob intact? (the name must be the hash of the content)"
in_storage 'bad=0; for f in $(find blobs -type f); do [ "$(sha256sum "$f" | cut -d" " -f1)" = "${f##*/}" ] || { echo "CORRUPT $f"; bad=1; }; done; [ $bad = 0 ] && echo "all blobs intact"'
check_eq intact "every blob is intact" "$(cat "$OUT")" "all blobs intact"
pause

step "Take a copy and query it with jq"
id="$(registry_container)"
rm -rf "$W/registry-copy"
run_once "docker cp $(container_name "$id"):/var/lib/registry $W/registry-copy"
run "for t in $W/registry-copy/repositories/*/*/_manifests/tags/*; do d=\$(cat \$t); jq -c --arg t \"\${t#*/repositories/}\" '{tag: (\$t | sub(\"/_manifests/tags/\"; \":\")), mediaType, entries: ((.layers // .manifests) | length)}' $W/registry-copy/blobs/sha256/\${d:7:2}/\${d#sha256:}; done"
copy_blobs="$(find "$W/registry-copy/blobs" -type f | wc -l | tr -d ' ')"
explain <<TEXT
A copy of the tree (in $W/registry-copy) is a complete, consistent backup of the registry (take it
while nothing is pushed, or stop the registry first) — and a database you can query with the
tools you already have.
TEXT
pause

step "The same answers over HTTP"
explain "The API gives the logical view — catalog, tags, manifests — and /api/du the totals of the tree:"
run "curl -s $REGISTRY_URL/api/du | jq '{blobs, physical_bytes, shared_blobs, dedup_saved_bytes}'"
check_eq copy-blobs "the copy has as many blobs as /api/du counts" "$copy_blobs" "$(api GET /api/du | jq .blobs)"
finish
