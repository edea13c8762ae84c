#!/usr/bin/env bash
# Creates, without pulling anything, local stand-ins for the two public base
# images the lab's Dockerfiles start from:
#
#   debian:bookworm-slim  (BASE_IMAGE)  a Debian 12 root filesystem made from
#                                       Debian packages (apt-get download +
#                                       dpkg-deb), cached in ~/.cache/layerlab
#   golang:1.26-bookworm  (GO_IMAGE)    the Go toolchain installed on this
#                                       machine, busybox, CA certificates and
#                                       the module cache of go.sum, so that
#                                       `go mod download` in the Dockerfile
#                                       needs no network
#
# An image already present under that name is left alone (a real pulled one,
# or a stand-in made earlier whose go.sum still matches). Use it on machines
# that cannot pull from Docker Hub; elsewhere `docker pull` the real ones.
#
#   bash scripts/make-base-images.sh           # create what is missing
#   FORCE=1 bash scripts/make-base-images.sh   # recreate the stand-ins
#   BASE_IMAGE=... GO_IMAGE=... bash scripts/make-base-images.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
GO_IMAGE="${GO_IMAGE:-golang:1.26-bookworm}"
FORCE="${FORCE:-0}"
STANDIN_LABEL="org.layerlab.standin"

# shellcheck source=scripts/lib.sh disable=SC1091
. "$ROOT/scripts/lib.sh"

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine (is it running? may you use it?)"

work="$LAB_TMP/work"
mkdir -p "$work"
# Go's module cache is read-only: make it writable so it can be removed.
# shellcheck disable=SC2016 # expanded when it runs
on_exit 'chmod -R u+w "$work" 2>/dev/null || true'

# label IMAGE KEY: prints the image's label KEY, empty when absent.
label() {
	docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null | sed 's/<no value>//'
}

# find_busybox: a statically linked busybox on this machine, installing
# Debian's busybox-static when there is none.
find_busybox() {
	local candidate
	for candidate in /bin/busybox /usr/bin/busybox; do
		if [[ -x "$candidate" ]] && file_is_static "$candidate"; then
			echo "$candidate"
			return 0
		fi
	done
	if command -v apt-get >/dev/null; then
		say "installing busybox-static with apt-get" >&2 # stdout carries the path
		local sudo=()
		[[ $(id -u) -eq 0 ]] || sudo=(sudo)
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null ||
			{ "${sudo[@]}" apt-get update -qq >&2 && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null; }
		for candidate in /bin/busybox /usr/bin/busybox; do
			if [[ -x "$candidate" ]] && file_is_static "$candidate"; then
				echo "$candidate"
				return 0
			fi
		done
	fi
	die "no statically linked busybox found: install Debian's busybox-static"
}

# file_is_static FILE: true when FILE runs as busybox and links no shared
# library (so it runs in an otherwise empty rootfs).
file_is_static() {
	"$1" --list >/dev/null 2>&1 && ! ldd "$1" >/dev/null 2>&1
}

# busybox_rootfs DIR: a minimal busybox filesystem, like the official image.
busybox_rootfs() {
	local dir="$1" bb applet
	bb="$(find_busybox)"
	mkdir -p "$dir"/{bin,etc,root,tmp,var/tmp,home,usr/bin,usr/sbin,sbin,proc,sys,dev}
	chmod 1777 "$dir/tmp" "$dir/var/tmp"
	cp "$bb" "$dir/bin/busybox"
	chmod 0755 "$dir/bin/busybox"
	while read -r applet; do
		[[ -n "$applet" && "$applet" != busybox ]] || continue
		ln -sf busybox "$dir/bin/$applet"
	done < <("$bb" --list)
	cat >"$dir/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
	cat >"$dir/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
}

# import DIR IMAGE CHANGES...: a one-layer image from a directory.
import() {
	local dir="$1" image="$2"
	shift 2
	local changes=()
	local c
	for c in "$@"; do changes+=(--change "$c"); done
	tar --numeric-owner --owner=0 --group=0 -C "$dir" -c . |
		docker import "${changes[@]}" - "$image" >/dev/null
}

# The Debian packages of the base stand-in and what they depend on: about
# the userland of debian:bookworm-slim (its "required" packages and apt), and
# busybox for the lab app's web server.
DEBIAN_PACKAGES="apt base-files base-passwd bash busybox coreutils dash debianutils diffutils findutils grep gzip hostname libc-bin login mawk ncurses-base ncurses-bin perl-base sed tar util-linux"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/layerlab"

# debian_rootfs TARBALL: a Debian root filesystem, as a tar archive, made
# from this machine's apt sources: each package of DEBIAN_PACKAGES and its
# dependencies downloaded with apt-get and unpacked with dpkg-deb (no
# maintainer scripts run: the few files they would make are written here).
debian_rootfs() {
	local out="$1" dir="$work/debian" debs="$work/debs" pkgs
	if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
		die "apt-get and dpkg-deb are needed to make the Debian base stand-in"
	fi
	mkdir -p "$dir" "$debs"
	# shellcheck disable=SC2086 # a list of package names
	pkgs="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances $DEBIAN_PACKAGES 2>/dev/null | grep -vE '^ |<' |
		grep -vxE 'gawk|original-awk|libsigsegv2|libmpfr6' | sort -u)" || true
	[[ -n "$pkgs" ]] || die "apt-cache knows none of: $DEBIAN_PACKAGES (run apt-get update)"
	# shellcheck disable=SC2086 # a list of package names
	if ! (cd "$debs" && apt-get download -qq $pkgs >/dev/null 2>&1); then
		[[ $(id -u) -eq 0 ]] || die "apt-get download failed: run 'sudo apt-get update' and try again"
		apt-get update -qq >/dev/null
		# shellcheck disable=SC2086 # a list of package names
		(cd "$debs" && apt-get download -qq $pkgs >/dev/null 2>&1) || die "apt-get download failed"
	fi
	local deb d
	for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
	# Merged /usr, as Debian 12 installs it: /bin, /sbin, /lib* are links.
	for d in bin sbin lib lib64; do
		[[ -e "$dir/$d" && ! -L "$dir/$d" ]] || continue
		mkdir -p "$dir/usr/$d"
		cp -a "$dir/$d/." "$dir/usr/$d/"
		rm -rf "${dir:?}/$d"
		ln -s "usr/$d" "$dir/$d"
	done
	# What maintainer scripts would have made: /bin/sh, the alternatives.
	[[ -e "$dir/bin/sh" ]] || ln -s dash "$dir/usr/bin/sh"
	[[ -e "$dir/usr/bin/awk" ]] || ln -s mawk "$dir/usr/bin/awk"
	[[ -e "$dir/usr/bin/which" || ! -e "$dir/usr/bin/which.debianutils" ]] || ln -s which.debianutils "$dir/usr/bin/which"
	cp "$dir/usr/share/base-passwd/passwd.master" "$dir/etc/passwd"
	cp "$dir/usr/share/base-passwd/group.master" "$dir/etc/group"
	mkdir -p "$dir/tmp" "$dir/root" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/run" "$dir/var/tmp"
	chmod 1777 "$dir/tmp" "$dir/var/tmp"
	# As in debian:bookworm-slim: no manual pages or translations.
	rm -rf "$dir"/usr/share/{man,info,locale,doc}
	if command -v ldconfig >/dev/null && [[ $(id -u) -eq 0 ]]; then ldconfig -r "$dir" 2>/dev/null || true; fi
	printf '%s\n' "$pkgs" >"$dir/etc/layerlab-packages"
	mkdir -p "$(dirname "$out")"
	tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$dir" -cf "$out.tmp" .
	mv "$out.tmp" "$out"
}

make_base() {
	if [[ "$FORCE" != 1 ]] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
		say "$BASE_IMAGE is present: keeping it"
		return 0
	fi
	# The tarball is kept in the user's cache, outside the clone: the next
	# stand-in (after make clean-lab, in another clone) is made in seconds.
	local tarball="$CACHE_DIR/debian-bookworm-rootfs.tar"
	if [[ "$FORCE" == 1 || ! -s "$tarball" ]]; then
		say "making a Debian 12 root filesystem from apt packages (cached in $tarball)"
		debian_rootfs "$tarball"
	fi
	say "creating $BASE_IMAGE from $tarball (no pull)"
	docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' --change "LABEL $STANDIN_LABEL=debian" - "$BASE_IMAGE" <"$tarball" >/dev/null
	say "$BASE_IMAGE stand-in works: $(docker run --rm "$BASE_IMAGE" sh -c '. /etc/os-release; echo "$PRETTY_NAME, $(wc -l </etc/layerlab-packages) packages"')"
}

make_go() {
	local sum want
	sum="$(cat "$ROOT/go.mod" "$ROOT/go.sum" | sha256sum | cut -c1-16)"
	if [[ "$FORCE" != 1 ]] && docker image inspect "$GO_IMAGE" >/dev/null 2>&1; then
		want="$(label "$GO_IMAGE" "$STANDIN_LABEL.gosum")"
		if [[ -z "$(label "$GO_IMAGE" "$STANDIN_LABEL")" ]]; then
			say "$GO_IMAGE is present (not a stand-in): keeping it"
			return 0
		fi
		if [[ "$want" == "$sum" ]]; then
			say "$GO_IMAGE stand-in is present and matches go.sum: keeping it"
			return 0
		fi
		say "$GO_IMAGE stand-in was made for another go.sum: recreating it"
	fi
	command -v go >/dev/null || die "go is not installed: the Go builder stand-in copies this machine's toolchain"
	local goroot goversion
	goroot="$(go env GOROOT)"
	goversion="$(go env GOVERSION)"
	say "creating $GO_IMAGE from $goroot ($goversion) with the module cache of go.sum (no pull)"
	local dir="$work/go"
	busybox_rootfs "$dir"
	mkdir -p "$dir/usr/local" "$dir/etc/ssl/certs" "$dir/go/pkg/mod" "$dir/go/bin"
	cp -a "$goroot" "$dir/usr/local/go"
	rm -rf "$dir/usr/local/go/pkg/obj" "$dir/usr/local/go/.git"
	if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
		cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
	fi
	# The project's modules, taken from this machine's cache when it has
	# them, else from the module proxy.
	local hostcache
	hostcache="$(go env GOMODCACHE)"
	(cd "$ROOT" && GOMODCACHE="$dir/go/pkg/mod" GOFLAGS=-modcacherw GOWORK=off \
		GOPROXY="file://$hostcache/cache/download,$(go env GOPROXY)" go mod download)
	import "$dir" "$GO_IMAGE" \
		'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'ENV GOPATH=/go' \
		'ENV GOTOOLCHAIN=local' \
		'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
		'WORKDIR /go' \
		'CMD ["sh"]' \
		"LABEL $STANDIN_LABEL=golang $STANDIN_LABEL.gosum=$sum"
	docker run --rm "$GO_IMAGE" go version
}

make_base
make_go
say "done:"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' | grep -E "^(${BASE_IMAGE%%:*}|${GO_IMAGE%%:*}):" || true
