#!/usr/bin/env bash
# 04 — List the registry's repositories and a repository's tags, page by
# page, following the Link header.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
need_registry
manifest lab/base 1.0 >/dev/null 2>&1 || die "lab/base:1.0 is not in the registry yet: run tutorials 02 and 03 first"

title "04 · list repositories and tags"
explain "Two listing endpoints: GET /v2/_catalog (every repository) and GET /v2/<name>/tags/list (the tags of one). Both can be asked for pages of n entries; a 'Link: <…>; rel=\"next\"' response header gives the URL of the next page, and its absence says this was the last."
pause

# next_link: the URL of the next page from the last response's Link header.
next_link() {
	hdr Link | sed -n 's/^<\([^>]*\)>.*rel="\{0,1\}next"\{0,1\}.*/\1/p'
}

step "All repositories at once"
http GET /v2/_catalog
jq -r '.repositories[]' "$HTTP_BODY" >"$LAB_TMP/catalog.all"
for repo in lab/base lab/app lab/tools; do
	check "catalog-lists-$repo" "the catalog lists $repo" grep -qx "$repo" "$LAB_TMP/catalog.all"
done
pause

step "The same list, two at a time"
url="/v2/_catalog?n=2"
: >"$LAB_TMP/catalog.pages"
pages=0
while [[ -n "$url" ]]; do
	http GET "$url"
	pages=$((pages + 1))
	jq -r '.repositories[]' "$HTTP_BODY" >>"$LAB_TMP/catalog.pages"
	url="$(next_link)"
	[[ -z "$url" ]] || explain "Link says the next page is $url — the 'last' parameter is the last name of this page; the list is sorted, so the next page starts after it."
	((pages < 20)) || die "more than 20 pages: the Link header does not end"
done
explain "No Link header on the last page: $pages pages for $(wc -l <"$LAB_TMP/catalog.all") repositories."
check_eq catalog-pages-same "page by page gives the same catalog" "$(cat "$LAB_TMP/catalog.pages")" "$(cat "$LAB_TMP/catalog.all")"
check catalog-paged "the catalog took more than one page of 2" test "$pages" -gt 1
pause

step "The tags of lab/base"
http GET /v2/lab/base/tags/list
jq -r '.tags[]' "$HTTP_BODY" >"$LAB_TMP/tags.all"
explain "Tags are listed in lexical order. A tag is a movable name; the manifest digest is the fixed one."
check base-tags "lab/base has the tags 1.0 and latest" grep -qx latest "$LAB_TMP/tags.all"
pause

step "One tag per page"
url="/v2/lab/base/tags/list?n=1"
: >"$LAB_TMP/tags.pages"
tag_pages=0
while [[ -n "$url" ]]; do
	http GET "$url"
	tag_pages=$((tag_pages + 1))
	jq -r '.tags[]' "$HTTP_BODY" >>"$LAB_TMP/tags.pages"
	url="$(next_link)"
	((tag_pages < 20)) || die "more than 20 pages: the Link header does not end"
done
check_eq tags-pages-same "page by page gives the same tags" "$(cat "$LAB_TMP/tags.pages")" "$(cat "$LAB_TMP/tags.all")"
check_eq tags-one-per-page "one tag per page: as many pages as tags" "$tag_pages" "$(wc -l <"$LAB_TMP/tags.all" | tr -d ' ')"
pause

step "What each tag points at"
n=0
while read -r tag; do
	n=$((n + 1))
	http HEAD "/v2/lab/base/manifests/$tag" -H "Accept: $ACCEPT_MANIFESTS"
	printf '%s\n' "$(hdr Docker-Content-Digest)" >>"$LAB_TMP/tag-digests"
done <"$LAB_TMP/tags.all"
distinct="$(sort -u "$LAB_TMP/tag-digests" | wc -l)"
if ((distinct == 1)); then
	explain "Every tag of lab/base answers with the same Docker-Content-Digest: $n names, one image."
else
	explain "$n tags, $distinct different Docker-Content-Digest values: some tags point at other manifests (1.0-index, from tutorial 05, is an index)."
fi
check_eq latest-is-1.0 "1.0 and latest point at one manifest" "$(manifest lab/base latest >/dev/null && hdr Docker-Content-Digest)" "$(manifest lab/base 1.0 >/dev/null && hdr Docker-Content-Digest)"

step "A repository that does not exist"
http GET /v2/lab/nothing-here/tags/list
check_eq unknown-404 "tags of an unknown repository: 404" "$HTTP_STATUS" 404
check_eq unknown-code "… with the code NAME_UNKNOWN" "$(jq -r '.errors[0].code' "$HTTP_BODY" 2>/dev/null || true)" NAME_UNKNOWN
finish
