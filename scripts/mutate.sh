#!/usr/bin/env bash
# Mutation testing of the security-critical packages with gremlins
# (docs/security.md "Mutation testing"). Each package is mutated and its own
# tests run against every covered mutant; server is limited to the
# middleware and the session handlers, and to the tests that guard them
# (SERVER_TESTS, passed to go test as -run through GOFLAGS): the whole
# server suite per mutant would take hours. Results:
# build/mutate/<pkg>.txt and a summary line per package. Slow (minutes per
# package): not in make test.
set -euo pipefail
cd "$(dirname "$0")/.."
GREMLINS="${GREMLINS:-go run github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0}"
PACKAGES="${PACKAGES:-magiclink limit token password webauthn server}"
WORKERS="${WORKERS:-1}"
out=build/mutate
mkdir -p "$out"

# The server files mutated: middleware, token and session checks, the
# session handlers, the body parser, the rate-limit wrappers.
SERVER_FILES="middleware.go auth.go sessions.go json.go limits.go idle.go"
# The tests that guard them: session_test, hygiene_test, rules_test,
# signin_test, panic_test and the few others that exercise these files.
SERVER_TESTS="${SERVER_TESTS:-^(TestRefreshRotation|TestConcurrentRefreshLeavesAtMostOneLiveSuccessor|TestLogoutStopsRefresh|\
TestSessionAbsoluteAndIdleLimits|TestForgedAccessTokens|TestHugeTokenOverTheWire|TestWrongAudienceRejected|\
TestAccessTokenVerifiesFromJWKS|TestBadInputIsAProblemNeverA5xx|TestOversizedBody|TestSecurityHeaders|\
TestOperations|TestNoSecretsInLogs|TestLinkTokenStoredAsItsSHA256|TestJSONEndpointsRefuseOtherContentTypes|\
TestSessionLimitsAtTheBoundary|TestCodesPerAccountHour|TestRefreshCookieAttributes|TestRegisterFinishNeedsRecentSignIn|\
TestAuditEventFields|TestPasswordLoginsPerIPHour|TestEmailStartPerAddressDay|TestPanicAnswers500AndLogsStack|\
TestDisabledAccountRefusedOnEveryWayIn|TestEndedSessionTokenChangesNothing|TestFailedSignInsNameTheUser|\
TestIdleConnectionsClosedSilently|TestOtherIPCannotBlockSignInMail|TestEmailStartCeilingPerAddress|\
TestOAuthEndpointsLimitedPerIP|TestEmailStartLimitedPerAddress|TestEmailStartLimitedPerIP|TestRegisterNeedsRecentSignIn|\
TestRecoveryCodesNeedRecentSignIn|TestMeNamesTheWebAuthnUserHandle|TestMFATokenIsNotABearer|\
TestOriginAndFetchSiteChecked|TestRecentSignInWindowEdges|TestTokenForAnotherUsersSession|TestSessionAnswer|\
TestRefreshCookieLifetime|TestActivityAndNotices)\$}"

for pkg in $PACKAGES; do
  excludes=()
  goflags="${GOFLAGS:-}"
  if [ "$pkg" = server ]; then
    for f in server/*.go; do
      case "$f" in
        *_test.go) ;;
        *) [[ " $SERVER_FILES " == *" ${f#server/} "* ]] || excludes+=(-E "^${f#server/}\$") ;;
      esac
    done
    goflags="$goflags -run=$SERVER_TESTS"
  fi
  echo "== $pkg"
  GOFLAGS="$goflags" $GREMLINS unleash "./$pkg" --workers "$WORKERS" --timeout-coefficient 10 \
    "${excludes[@]}" >"$out/$pkg.txt" 2>&1 || true
  grep -E '^ *(LIVED|TIMED OUT)' "$out/$pkg.txt" || true
  grep -E '^(Killed|Test efficacy|Mutator coverage)' "$out/$pkg.txt" | tr '\n' ' '
  echo
done
