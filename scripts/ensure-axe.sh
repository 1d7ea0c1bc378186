#!/usr/bin/env bash
# axe-core (the accessibility rules engine) for the accessibility tests, which inject its
# axe.min.js into pages in Debian's chromium (tests/api/a11y.py). Installed with npm from the
# registry at a pinned version into .assess/node (gitignored), and checked against the
# tarball's pinned integrity so a clean clone gets exactly these bytes. Idempotent; prints
# the path of axe.min.js on its last line; one line on stderr on failure.
set -euo pipefail

VERSION=4.14.1
INTEGRITY='sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=='

repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=${ASSESS_NODE:-$repo/.assess/node}
pkg=$prefix/node_modules/axe-core
lock=$prefix/node_modules/.package-lock.json

installed() {
  # The version in the package's own manifest and the integrity npm recorded on install.
  [ -f "$pkg/axe.min.js" ] && [ -f "$lock" ] || return 1
  node -e '
    const [pkgDir, lock, version, integrity] = process.argv.slice(1);
    const meta = require(pkgDir + "/package.json");
    const entry = (require(lock).packages || {})["node_modules/axe-core"] || {};
    process.exit(meta.version === version && entry.integrity === integrity ? 0 : 1);
  ' "$pkg" "$lock" "$VERSION" "$INTEGRITY"
}

if ! installed; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-axe: installing npm from Debian's packages" >&2
    (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null \
      && apt-get install -y -qq --no-install-recommends npm >/dev/null) || true
  fi
  command -v npm >/dev/null 2>&1 || {
    echo "ensure-axe: npm is missing (Debian: apt-get install npm)" >&2
    exit 1
  }
  mkdir -p "$prefix"
  # --ignore-scripts: nothing from the package runs here; we only read one of its files.
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --ignore-scripts \
    --loglevel=error "axe-core@$VERSION" >/dev/null
  installed || {
    echo "ensure-axe: axe-core@$VERSION installed in $prefix but not with integrity $INTEGRITY" >&2
    exit 1
  }
fi
echo "ensure-axe: axe-core $VERSION"
echo "$pkg/axe.min.js"
