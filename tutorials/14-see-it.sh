#!/usr/bin/env bash
# 14 — See it: the web layer explorer the registry serves at /ui/. The
# addresses of its views to open in a browser; the JSON API calls each view
# makes, with curl (compare: the layers base and derived share, the bytes
# shared and unique, what a pull of one after the other sends); then a push
# watched live: curl follows the server-sent events at /api/events in the
# background (bounded by a timeout) while docker pushes an image built on
# lab/base, and the requests and learner events it saw are shown.
#
# Needs lab/base:1.0 and lab/app:1.0 in the registry (tutorials 02 and 03).
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
need_tools docker
for r in base app; do
	manifest "lab/$r" 1.0 >/dev/null 2>&1 || die "lab/$r:1.0 is not in the registry yet: run tutorials 02 and 03 first"
done
UI="$REGISTRY_URL/ui/"
http_quiet HEAD /v2/lab/base/manifests/1.0 -H "Accept: $ACCEPT_MANIFESTS"
BASE="$(hdr Docker-Content-Digest)"
http_quiet HEAD /v2/lab/app/manifests/1.0 -H "Accept: $ACCEPT_MANIFESTS"
APP="$(hdr Docker-Content-Digest)"

title "14 · see it: the layer explorer"
explain <<TEXT
The registry serves a web explorer at $UI — plain HTML, CSS and JavaScript modules
embedded in the registry binary, no build step, nothing fetched from elsewhere. Each view has
its own address, and each is drawn from the same JSON API you can call with curl.
TEXT
pause

step "The explorer is served by the registry"
http GET /ui/ -o "$W/index.html"
explain <<'TEXT'
Content-Security-Policy allows scripts from the registry itself only: no inline script, so a
hostile tag annotation or file name in a layer can only ever be shown as text.
TEXT
check_eq ui-served "GET /ui/ answered 200" "$HTTP_STATUS" 200
check ui-csp "with a Content-Security-Policy that allows no inline script" bash -c "grep -i '^content-security-policy:' '$HTTP_HEADERS' | grep -q \"script-src 'self'\" && ! grep -i '^content-security-policy:' '$HTTP_HEADERS' | grep -q unsafe-inline"
pause

step "The views: open these in a browser"
cat <<TEXT | show
repositories          $UI#/
a repository          $UI#/repo/lab/app
the derived image     $UI#/image/$APP
compare base vs app   $UI#/compare/$BASE,$APP
family                $UI#/family
storage               $UI#/storage
live                  $UI#/live
TEXT
explain <<'TEXT'
The digests in these addresses are the manifests' digests (Docker-Content-Digest of lab/base:1.0
and lab/app:1.0). With authentication on, the explorer asks for a login and shows only the
repositories that user may pull; a tag's Delete button appears only when deletes are enabled and
that user may delete there.
TEXT
pause

step "Repositories: GET /api/repositories"
http_once GET /api/repositories -o "$W/repositories.json"
run "jq -r '.repositories[] | \"\\(.name)  tags=\\(.tags)  size=\\(.logical_bytes)  only-here=\\(.unique_bytes)\"' $W/repositories.json"
explain <<'TEXT'
size counts every blob a repository links, once; only-here the blobs no other repository links.
lab/app's only-here is small: most of its bytes are lab/base's layers, stored once for both.
TEXT
check api-repositories "/api/repositories lists lab/base and lab/app" bash -c "jq -e '[.repositories[].name] | index(\"lab/base\") and index(\"lab/app\")' '$W/repositories.json'"
pause

step "The derived image: GET /api/images/<digest>"
http GET "/api/images/$APP" -o "$W/app.json"
run "jq '{repositories, size, layers: [.layers[] | {digest: .digest[7:19], size, created_by: (.created_by // \"\")[0:60]}]}' $W/app.json"
explain <<'TEXT'
The image view draws these layers as a stack, base first, each with the Dockerfile step that made
it (from the config's history). For each layer it also asks which other images hold it — the
"also in: lab/base:1.0, lab/tools:1.0" line:
TEXT
first="$(jq -r '.layers[0].digest' "$W/app.json")"
http_once GET "/api/blobs/$first/images" -o "$W/first-layer.json"
run "jq -r '.images[] | [.repositories[] | .name + \":\" + (.tags | join(\",\"))] | join(\" \")' $W/first-layer.json"
check first-layer-shared "lab/app's first layer is also in lab/base:1.0" bash -c "jq -e '[.images[].repositories[] | select(.name == \"lab/base\")] | length > 0' '$W/first-layer.json'"
pause

step "Compare lab/base and lab/app: which layers are shared"
http GET "/api/images/$BASE" -o "$W/base.json"
explain <<'TEXT'
The compare view fetches both images (the two GETs above) and lines up their layers. The same
with jq: the layers both hold, the bytes shared and unique, and what a pull of lab/app after
lab/base sends — only the layers lab/base does not have:
TEXT
run "jq -n --slurpfile a $W/base.json --slurpfile b $W/app.json '(\$a[0].layers | map(.digest)) as \$inA | {shared_layers: [\$b[0].layers[] | select(.digest | IN(\$inA[]))] | length, shared_bytes: ([\$b[0].layers[] | select(.digest | IN(\$inA[])) | .size] | add), unique_to_app: [\$b[0].layers[] | select(.digest | IN(\$inA[]) | not) | .size] | add, pull_app_after_base: {layers: [\$b[0].layers[] | select(.digest | IN(\$inA[]) | not)] | length, bytes: ([\$b[0].layers[] | select(.digest | IN(\$inA[]) | not) | .size] | add)}}'"
cp "$OUT" "$W/compare.json"
nbase="$(jq '.layers | length' "$W/base.json")"
base_bytes="$(jq '[.layers[].size] | add' "$W/base.json")"
app_bytes="$(jq '[.layers[].size] | add' "$W/app.json")"
check_eq compare-shared "all $nbase of lab/base's layers are shared with lab/app" "$(jq .shared_layers "$W/compare.json")" "$nbase"
check_eq compare-shared-bytes "the shared bytes are lab/base's layer bytes ($(human "$base_bytes"))" "$(jq .shared_bytes "$W/compare.json")" "$base_bytes"
check_eq pull-after "a pull of lab/app after lab/base sends only lab/app's own layers ($(human $((app_bytes - base_bytes))))" \
	"$(jq .pull_app_after_base.bytes "$W/compare.json")" "$((app_bytes - base_bytes))"
pause

step "Family: GET /api/tree"
http_once GET /api/tree -o "$W/tree.json"
run "jq -r '.images[] | \"\\(.digest[7:19])  parent=\\((.parent // \"-\")[7:19])  \\([.repositories[] | .name + \":\" + (.tags | join(\",\"))] | join(\" \"))\"' $W/tree.json"
explain <<'TEXT'
Each image names the nearest image whose layers start its own: its parent. The family view draws
that as a tree — lab/app and lab/tools under lab/base.
TEXT
check_eq family-parent "lab/app's parent in the tree is lab/base:1.0" "$(jq -r --arg d "$APP" '.images[] | select(.digest == $d) | .parent' "$W/tree.json")" "$BASE"
pause

step "Storage: GET /api/storage"
http_once GET /api/storage -o "$W/storage.json"
run "jq '{physical_bytes, logical_bytes, dedup_saved_bytes, shared_blobs, unreferenced_bytes: (.unreferenced_bytes // 0)}' $W/storage.json"
explain <<'TEXT'
physical: what the blob files take; logical: what the repositories' images reference, counted
per repository; the difference is what storing each blob once saves. unreferenced_bytes is what
'registry gc' would free. The storage view draws these as bars.
TEXT
check storage-dedup "deduplication saves at least lab/base's bytes" test "$(jq '.dedup_saved_bytes // 0' "$W/storage.json")" -ge "$base_bytes"
pause

# lab/live starts each run without the base's layers, so the push below
# mounts them from lab/base again (an earlier run linked them).
for d in $(jq -r '.layers[].digest' "$W/base.json"); do
	http_quiet DELETE "/v2/lab/live/blobs/$d"
done

step "Live: watch a push as it happens"
explain <<TEXT
The live view reads GET /api/events: server-sent events, one 'request' per request the registry
answers and one 'event' per thing it did, in plain words. curl -N follows the same stream; start
it in the background, bounded by a timeout, its output in a file:
TEXT
rm -f "$W/events.sse"
run_once "timeout 120 curl -sS -N $REGISTRY_URL/api/events >$W/events.sse 2>&1 & echo \$! >$W/watch.pid"
on_exit "kill \"\$(cat '$W/watch.pid' 2>/dev/null)\" 2>/dev/null"
for _ in $(seq 50); do
	grep -q '^: live' "$W/events.sse" 2>/dev/null && break
	sleep 0.1
done
explain "Now an image built on lab/base, with one layer of its own (a file that changes each run):"
mkdir -p "$W/live"
cat >"$W/live/Dockerfile" <<'DOCKERFILE'
ARG REGISTRY=127.0.0.1:5000
FROM ${REGISTRY}/lab/base:1.0
COPY pushed-at.txt /srv/lab/pushed-at.txt
DOCKERFILE
run "cat $W/live/Dockerfile"
run_once "date -u +%Y-%m-%dT%H:%M:%SZ >$W/live/pushed-at.txt && DOCKER_BUILDKIT=0 docker build -q --build-arg REGISTRY=$REGISTRY -t $REGISTRY/lab/live:1.0 $W/live"
((RC == 0)) || die "docker build failed"
run_once "docker push $REGISTRY/lab/live:1.0"
explain "And the same push again: every layer is there now."
run_once "docker push $REGISTRY/lab/live:1.0"
# The stream gets a request once it is answered: wait for the last PUT.
for _ in $(seq 100); do
	[[ "$(grep -c '"method":"PUT","path":"/v2/lab/live/manifests/1.0"' "$W/events.sse" 2>/dev/null)" -ge 2 ]] && break
	sleep 0.1
done
run_once "kill \"\$(cat $W/watch.pid)\""

step "What the stream showed"
explain "Each request of the pushes (lab/live only), with the learner events the registry attached to it:"
run "grep '^data: ' $W/events.sse | cut -c7- | jq -rs '(map(select(.kind == \"event\")) | group_by(.request_id) | map({key: .[0].request_id, value: map(.message)}) | from_entries) as \$ev | .[] | select(.kind == \"request\" and (.path | startswith(\"/v2/lab/live/\"))) | \"\\(.method) \\(.path | sub(\"sha256:(?<h>.{12}).{52}\"; \"sha256:\\(.h)…\")) → \\(.status)\", (\$ev[.request_id] // [] | .[] | \"    · \\(.)\")'"
cp "$OUT" "$W/live.txt"
explain <<TEXT
The first push: HEAD finds a blob missing in lab/live (404); POST …?mount=<digest>&from=lab/base
links one of the base's layers without a byte sent ("blob mounted from lab/base" — docker names
the repository it last pushed that layer to, so lab/app or lab/tools is as likely); the new layer
and the config go up with POST (an upload session), PATCH (the bytes) and PUT (the digest,
verified); the manifest comes last. The second push: HEAD answers 200 for every blob ("blob
already exists here") and only the manifest is sent. Open the live view ($UI#/live) and push
again to watch it there.
TEXT
for m in HEAD POST PATCH PUT; do
	check "live-$m" "the stream showed $m requests of the push" grep -q "^$m /v2/lab/live/" "$W/live.txt"
done
check live-mounted "… the base's layers \"mounted from\" lab/base or an image built on it" grep -qE 'blob mounted from lab/(base|app|tools) ' "$W/live.txt"
check live-exists "… and on the second push \"already exists\"" grep -q 'blob already exists here' "$W/live.txt"
finish
