#!/usr/bin/env bash
# Mutation testing of the security-critical packages with gremlins
# (docs/security.md "Mutation testing"). Each package is mutated and its own
# tests run against every covered mutant; server is limited to the
# middleware and the session handlers. Results: build/mutate/<pkg>.txt and
# a summary line per package. Slow (minutes per package): not in make test.
set -euo pipefail
cd "$(dirname "$0")/.."
GREMLINS="${GREMLINS:-go run github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0}"
PACKAGES="${PACKAGES:-magiclink limit token password webauthn server}"
WORKERS="${WORKERS:-1}"
out=build/mutate
mkdir -p "$out"

for pkg in $PACKAGES; do
  excludes=()
  if [ "$pkg" = server ]; then
    for f in server/*.go; do
      case "$f" in
        *_test.go|server/middleware.go|server/auth.go|server/sessions.go) ;;
        *) excludes+=(-E "$f") ;;
      esac
    done
  fi
  echo "== $pkg"
  $GREMLINS unleash "./$pkg" --workers "$WORKERS" --timeout-coefficient 10 \
    "${excludes[@]}" >"$out/$pkg.txt" 2>&1 || true
  grep -E '^ *(LIVED|TIMED OUT)' "$out/$pkg.txt" || true
  grep -E '^(Killed|Test efficacy|Mutator coverage)' "$out/$pkg.txt" | tr '\n' ' '
  echo
done
