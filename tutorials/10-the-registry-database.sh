#!/usr/bin/env bash
# shellcheck disable=SC2016 # the single-quoted scripts run in a container
# 10 — What kind of database does the registry use? Can we query it?
# Explore the storage tree and answer with find, cat, jq — and the HTTP API.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker sqlite3
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
None — no server, no SQL. The registry's 'database' is a directory tree: blobs
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

step "The catalog's index: one empty file per repository"
in_storage "ls catalog"
check catalog-index "catalog/ holds lab.base, the entry of lab/base" grep -qx 'lab.base' "$OUT"
explain <<'TEXT'
GET /v2/_catalog does not look inside repositories/: it lists catalog/, where each repository
holding a manifest has an empty file. '/' is written '.' (and '.' '-', '-' ','): those bytes sort
just below the ones they stand for, so ls sorts the directory the way the catalog does, and a page
from ?last= is one read of one directory — at 100,000 repositories as at 2. The registry writes a
repository's entry before its first manifest and removes it with its last.
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
run "curl -s $REGISTRY_URL/api/du | jq '{blobs, physical_bytes, shared_blobs, dedup_saved_bytes, unreferenced_bytes}'"
check_eq copy-blobs "the copy has as many blobs as /api/du counts" "$copy_blobs" "$(api GET /api/du | jq .blobs)"
pause

# ------------------------------------------------------------ the SQL half

# sql QUERY: prints and runs (run) sqlite3 on the exported database, as a
# table with a header.
DB="$W/registry.db"
sql() {
	run "sqlite3 -header -column $DB \"$1\""
}
# sql_quiet QUERY: the rows, tab-separated, for the checks.
sql_quiet() {
	sqlite3 -separator $'\t' "$DB" "$1"
}
image="$(docker inspect --format '{{.Config.Image}}' "$id")"

step "Connect to it: the tree as an SQLite database"
explain <<'TEXT'
So: no database server. But can we connect to it and query it with SQL? Yes. `registry sql`
walks the store once and builds an index — repositories, tags, manifests, the blobs each one
references, which repositories link which blob, the Dockerfile step that made each layer —
into SQLite, and either answers a query or writes the whole index to a file that sqlite3 (or
any SQLite tool) opens. The registry image holds the command: run it on the copy, mounted
read-only, as your own user so that the file it writes is yours.
TEXT
rm -f "$DB"
run_once "docker run --rm --network none --user \"\$(id -u):\$(id -g)\" -v \"\$PWD/$W/registry-copy:/store:ro\" -v \"\$PWD/$W:/out\" $image sql --root /store --export /out/registry.db"
check_eq export-ok "registry sql --export wrote $DB" "$([[ -s "$DB" ]] && echo yes)" yes
explain <<'TEXT'
A plain file, nothing listening: "connecting" is opening it. What it holds — tables for the
facts read from the tree, views for the questions learners ask:
TEXT
run "sqlite3 $DB \"SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY type, name\""
run "sqlite3 $DB '.schema tags'"
check tables-there "the schema has the tags, manifests, manifest_blobs and blob_links tables" \
	test "$(sql_quiet "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tags', 'manifests', 'manifest_blobs', 'blob_links')")" = 4
explain <<TEXT
Every table and view comes with a comment saying what it holds: docker run --rm $image sql
--schema prints them all. Now six questions, each answered in SQL and, the other way, from the
tree or the API.
TEXT
pause

step "Question 1: the tags"
sql "SELECT repository, tag, substr(digest, 1, 19) AS digest FROM tags ORDER BY repository, tag"
tree_tags="$(find "$W/registry-copy/repositories" -path '*/_manifests/tags/*' -type f | while read -r f; do
	r="${f#"$W"/registry-copy/repositories/}"
	printf '%s\t%s\t%s\n' "${r%%/_manifests/*}" "${f##*/}" "$(cat "$f")"
done | sort)"
sql_tags="$(sql_quiet "SELECT repository, tag, digest FROM tags" | sort)"
check_eq tags-sql-tree "the tags table lists exactly the tag files of the tree ($(wc -l <<<"$tree_tags") tags)" "$sql_tags" "$tree_tags"
explain <<'TEXT'
The same table the for loop over _manifests/tags/ printed at the start, as one SELECT: the
index read each tag file and its digest, nothing more.
TEXT
pause

step "Question 2: which layers are shared?"
sql "SELECT substr(digest, 1, 19) AS digest, size, images, repositories FROM shared_layers ORDER BY size DESC"
sql_images="$(sql_quiet "SELECT images FROM shared_layers WHERE digest = '$layer'")"
run "curl -s $REGISTRY_URL/api/blobs/$layer/images | jq '{size, images: [.images[] | {digest: .digest[0:19], role, position, repositories: [.repositories[].name]}]}'"
api_images="$(api GET "/api/blobs/$layer/images" | jq '[.images[] | select(.role == "layer")] | length')"
check shared-has-base "the base's Debian layer is among the shared layers" test -n "$sql_images"
check_eq shared-sql-api "… used by as many images in SQL as /api/blobs/…/images lists ($api_images)" "$sql_images" "$api_images"
explain <<TEXT
shared_layers counts, for each layer, the images that list it in their manifest and the
repositories that link it. The base's Debian layer, ${layer:0:19}…, is used by $sql_images
images: the API's /api/blobs/<digest>/images answers the same question with the images
themselves — and the tree with the ls of _layers links in step 4.
TEXT
pause

step "Question 3: which images are built on lab/base:1.0?"
sql "SELECT i.repository, i.tags, b.shared_layers, i.layers FROM built_on b JOIN images i ON i.digest = b.image WHERE b.base = (SELECT digest FROM tags WHERE repository = 'lab/base' AND tag = '1.0') ORDER BY i.repository"
sql_derived="$(sql_quiet "SELECT DISTINCT b.image FROM built_on b WHERE b.base = (SELECT digest FROM tags WHERE repository = 'lab/base' AND tag = '1.0')" | sort)"
run "curl -s $REGISTRY_URL/api/images/$api_digest/family | jq '{layers, derived: [.derived[] | {repositories: [.repositories[] | .name + \":\" + (.tags | join(\",\"))], shared_layers, layers}]}'"
api_derived="$(api GET "/api/images/$api_digest/family" | jq -r '.derived[].digest' | sort)"
check derived-some "SQL finds images built on lab/base:1.0" test -n "$sql_derived"
check_eq derived-sql-api "… the same images as /api/images/…/family" "$sql_derived" "$api_derived"
explain <<'TEXT'
An image is built on another when the base's layers are the first layers of its own, in order:
FROM lab/base:1.0 copies the base's layer list and adds to it. built_on finds those through the
layer chains (an image's chain at position i identifies its first i+1 layers); the API's
family endpoint answers from the same index.
TEXT
pause

step "Question 4: what does deduplication save?"
sql "SELECT logical_bytes, stored_bytes, saved_bytes FROM dedup"
sql_saved="$(sql_quiet "SELECT saved_bytes FROM dedup")"
api_saved="$(api GET /api/du | jq .dedup_saved_bytes)"
check_eq dedup-sql-api "saved_bytes in SQL equals /api/du's dedup_saved_bytes" "$sql_saved" "$api_saved"
explain <<TEXT
logical_bytes: what the repositories would take if each kept its own copy of every blob its
manifests reference; stored_bytes: what the disk holds for them, each blob once. The difference,
$(human "$sql_saved"), is the dedup_saved_bytes /api/du printed in the last step.
TEXT
pause

step "Question 5: the largest layers, and the Dockerfile line that made each"
sql "SELECT substr(digest, 1, 19) AS digest, size, images, substr(created_by, 1, 60) AS created_by FROM largest_layers LIMIT 3"
sql_top="$(sql_quiet "SELECT digest FROM largest_layers LIMIT 1")"
tree_top="sha256:$(find "$W/registry-copy/blobs" -type f -printf '%s %f\n' | sort -k1,1nr -k2 | head -n1 | cut -d' ' -f2)"
check_eq largest-sql-tree "the largest layer is the largest blob file of the tree" "$sql_top" "$tree_top"
steps="$(sql_quiet "SELECT count(*) FROM largest_layers WHERE created_by <> ''")"
check steps-known "SQL knows the step that made $steps of the layers" test "$steps" -gt 0
explain <<'TEXT'
The tree's five largest blobs (step 5) were names and sizes; the index joins each layer to the
image config's history, the list of the steps that built the image, so each layer comes with
its Dockerfile line (created_by). Steps that add no layer (ENV, CMD) are left out of history,
so positions line up with the layers.
TEXT
if [[ -z "$(sql_quiet "SELECT created_by FROM largest_layers LIMIT 1")" ]]; then
	explain <<TEXT
The largest, the Debian layer, has no step: $LAB_BASE_IMAGE was not built from a Dockerfile on
this machine but imported from a root filesystem (docker import, by make up when Docker Hub
could not be reached), and an imported image's history records no command. A layer pushed
with curl alone (tutorial 08) has none either: its config has no history at all.
TEXT
fi
pause

step "Question 6: what would garbage collection delete?"
sql "SELECT 'manifest' AS what, repository, substr(digest, 1, 19) AS digest FROM gc_untagged_manifests UNION ALL SELECT 'blob', '', substr(digest, 1, 19) FROM gc_unreferenced_blobs"
sql_unref="$(sql_quiet "SELECT coalesce(sum(size), 0) FROM gc_unreferenced_blobs")"
api_unref="$(api GET /api/du | jq .unreferenced_bytes)"
check_eq gc-sql-api "the unreferenced blobs in SQL add up to /api/du's unreferenced_bytes ($sql_unref)" "$sql_unref" "$api_unref"
if [[ -z "$(sql_quiet "SELECT 1 FROM gc_untagged_manifests UNION ALL SELECT 1 FROM gc_unreferenced_blobs LIMIT 1")" ]]; then
	explain <<'TEXT'
Nothing: tutorial 09 deleted a tag and ran gc, and nothing has been left behind since. Every
manifest is reached from a tag, and every blob from a manifest.
TEXT
else
	explain <<'TEXT'
These rows: manifests no tag reaches (nor an index or a referrer of a kept manifest), then
blobs no stored manifest references — what registry gc --delete-untagged --grace 0 would
remove (gc also spares what was pushed within its grace period, 15 minutes by default).
TEXT
fi
pause

step "Why the registry keeps no database server"
explain <<'TEXT'
Everything in registry.db was computed from the tree, and can be computed again at any moment:
the index is derived data. Delete the file and export again — you get the same answers. So it
can never disagree with what the registry serves, and there is nothing to back up, migrate or
keep in sync: the tree is the backup. The running registry keeps the same index in memory for
its /api/ queries and rebuilds it when the store's generation moves (a token rewritten after
every write). Registries that keep a database server (Harbor's PostgreSQL) store more than the
tree says — users, projects, scan results; this one does not.
TEXT
rm -f "$DB"
run_once "docker run --rm --network none --user \"\$(id -u):\$(id -g)\" -v \"\$PWD/$W/registry-copy:/store:ro\" -v \"\$PWD/$W:/out\" $image sql --root /store --export /out/registry.db"
check_eq rebuilt-same "deleted and exported again: the same tags and the same dedup figure" \
	"$(sql_quiet "SELECT repository, tag, digest FROM tags" | sort) $(sql_quiet "SELECT saved_bytes FROM dedup")" "$sql_tags $sql_saved"
finish
