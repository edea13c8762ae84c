#!/usr/bin/env bash
# shellcheck disable=SC2016 # the single-quoted scripts run in the busybox container
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
[[ -n "$(registry_container)" ]] || die "this tutorial reads the storage of the lab's container: start it with docker compose up -d"
ROOT=/var/lib/registry

# sh_in_storage SCRIPT: runs a shell script in a throwaway busybox container
# that mounts the registry's volume read-only (the registry image has no
# shell: the registry binary is its only file).
sh_in_storage() {
	show_line "docker run --rm --volumes-from <registry container>:ro $LAB_BUSYBOX sh -c '$1'"
	storage_shell sh -c "cd $ROOT && $1" | sed 's/^/     /'
}
q() { storage_shell sh -c "cd $ROOT && $1"; }

title "10 · what kind of database does the registry use?"
explain "None — no server, no SQL, no index file. The registry's 'database' is a directory tree: blobs named by their digest, and tiny text files that link names to digests. Every question about the registry is a walk of that tree, which is also why the answers are crash-safe: each file is written to a temp file and renamed into place, all or nothing."
pause

step "The top of the tree"
sh_in_storage "ls -l; echo; find repositories -maxdepth 3 | sort | head -20"
explain "blobs/ holds content (every layer, config and manifest, once). repositories/ holds names: which blobs a repository may serve (_layers), which manifests it has (_manifests/revisions) and its tags (_manifests/tags). uploads/ holds pushes in progress, tmp/ files being written."
pause

step "A table of tags: SELECT repository, tag, digest FROM tags"
sh_in_storage 'for f in $(find repositories -path "*/_manifests/tags/*" -type f | sort); do r=${f#repositories/}; r=${r%%/_manifests/*}; printf "%-14s %-10s %s\n" "$r" "${f##*/}" "$(cat "$f")"; done'
tag_file="$(q 'cat repositories/lab/base/_manifests/tags/1.0')"
api_digest="$(manifest lab/base 1.0 >/dev/null && hdr Docker-Content-Digest)"
explain "A tag is a file holding a digest, replaced atomically when the tag moves. The HTTP API says the same: GET /v2/lab/base/tags/list, then HEAD …/manifests/<tag> for Docker-Content-Digest ($api_digest)."
pause

step "Follow the digest: the manifest is a blob too"
hex="${api_digest#sha256:}"
show_line "docker run … cat $ROOT/blobs/sha256/${hex:0:2}/$hex | jq"
storage_shell cat "$ROOT/blobs/sha256/${hex:0:2}/$hex" >"$LAB_TMP/manifest.json"
pretty "$LAB_TMP/manifest.json"
blob_sum="$(sha256_of "$LAB_TMP/manifest.json")"
sh_in_storage "cat repositories/lab/base/_manifests/revisions/sha256/$hex; echo"
explain "The file name is the sha256 of its content (check: $blob_sum) — that is what content-addressable means, and why a blob can never be silently corrupted: sha256sum detects it. The revision link records the media type the manifest was pushed with, so it is served back the same way."
pause

step "One blob, two repositories"
layer="$(jq -r '.layers[0].digest' "$LAB_TMP/manifest.json")"
lhex="${layer#sha256:}"
sh_in_storage "ls -l repositories/*/*/_layers/sha256/$lhex; echo; cat repositories/lab/app/_layers/sha256/$lhex; echo; echo; ls -l blobs/sha256/${lhex:0:2}/"
links="$(q "ls repositories/*/*/_layers/sha256/$lhex | wc -l" | tr -d ' ')"
copies="$(q "find blobs -name $lhex | wc -l" | tr -d ' ')"
explain "The base's biggest layer, ${layer:0:19}…: $links repositories hold a link to it (a few bytes each: the digest), and there is $copies file with its bytes. That is deduplication — no reference counts, no rows: a repository may serve a blob when its link exists."
pause

step "More questions, asked of the tree"
explain "Which repositories can serve a given blob?"
sh_in_storage "find repositories -path '*/_layers/sha256/$lhex' | cut -d/ -f2,3"
explain "The five largest blobs:"
sh_in_storage "find blobs -type f -exec ls -l {} + | sort -k5 -n -r | head -5 | awk '{ print \$5, \$9 }'"
explain "How much the blobs take, and how many there are:"
sh_in_storage "du -sh blobs; find blobs -type f | wc -l"
explain "Is every blob intact? (the name must be the hash of the content)"
sh_in_storage 'bad=0; for f in $(find blobs -type f); do [ "$(sha256sum "$f" | cut -d" " -f1)" = "${f##*/}" ] || { echo "CORRUPT $f"; bad=1; }; done; [ $bad = 0 ] && echo "all blobs intact"'
pause

step "Take a copy and query it with jq"
id="$(registry_container)"
copy="$LAB_TMP/registry-copy"
show_cmd docker cp "$(docker inspect --format '{{.Name}}' "$id" | tr -d /):$ROOT" ./registry-copy
docker cp "$id:$ROOT" "$copy" >/dev/null
show_line "for t in registry-copy/repositories/*/*/_manifests/tags/*; do d=\$(cat \$t); jq -c --arg t \"\$t\" '{tag: \$t, mediaType, layers: (.layers // .manifests | length)}' registry-copy/blobs/sha256/\${d:7:2}/\${d#sha256:}; done"
for t in "$copy"/repositories/*/*/_manifests/tags/*; do
	d="$(cat "$t")"
	jq -c --arg t "${t#"$copy/repositories/"}" '{tag: ($t | sub("/_manifests/tags/"; ":")), mediaType, entries: ((.layers // .manifests) | length)}' \
		"$copy/blobs/sha256/${d:7:2}/${d#sha256:}"
done | sed 's/^/     /'
copy_blobs="$(find "$copy/blobs" -type f | wc -l | tr -d ' ')"
explain "A copy of the tree is a complete, consistent backup of the registry (take it while nothing is pushed, or stop the registry first) — and a database you can query with the tools you already have."
pause

step "The same answers over HTTP"
explain "The API gives the logical view — catalog, tags, manifests — and /api/du the totals of the tree:"
show_line "curl -s $REGISTRY_URL/api/du | jq '{blobs, physical_bytes, shared_blobs, dedup_saved_bytes}'"
api GET /api/du >"$LAB_TMP/du.json"
jq '{blobs, physical_bytes, shared_blobs, dedup_saved_bytes}' "$LAB_TMP/du.json" | pretty
api_blobs="$(jq .blobs "$LAB_TMP/du.json")"

step "Checks"
check_eq "the tag file holds the digest the API serves" "$tag_file" "$api_digest"
check_eq "the manifest blob's name is the hash of its bytes" "$blob_sum" "$api_digest"
check "the base layer is linked by at least two repositories ($links)" test "$links" -ge 2
check_eq "… and stored once" "$copies" 1
check_eq "the copy has as many blobs as /api/du counts" "$copy_blobs" "$api_blobs"
check "every blob is intact" bash -c "for f in \$(find '$copy/blobs' -type f); do [ \"\$(sha256sum \"\$f\" | cut -d' ' -f1)\" = \"\${f##*/}\" ] || exit 1; done"
finish
