# jamikit — see README.md. `make demo` and `make test` are the two set-up commands.
GO       ?= go
PREFIX   ?= /usr/local
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/jamikit/jamikit/lib/cli.Version=$(VERSION) -X github.com/jamikit/jamikit/lib/cli.Commit=$(COMMIT)
TOOLS    := $(notdir $(wildcard cmd/*))
FUZZTIME ?= 5s

.PHONY: all build test check fuzz interop demo docs bench install clean contract

all: build

build:
	@mkdir -p bin
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# Everything CI runs: static checks, unit + end-to-end + interop tests, short fuzzing.
test: check
	$(GO) test -count=1 -timeout 40m ./...
	FUZZTIME=$(FUZZTIME) tests/fuzz.sh

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz:
	FUZZTIME=$(FUZZTIME) tests/fuzz.sh

# Interop tests only (real jamid / dhtnode; needs root and the Debian packages).
interop:
	$(GO) test -count=1 -timeout 40m -v ./tests/interop/...

demo: build
	tests/demo.sh

docs: build
	@mkdir -p man completions/bash completions/zsh completions/fish
	@for t in $(TOOLS); do \
	  bin/$$t man > man/$$t.1 && \
	  bin/$$t completion bash > completions/bash/$$t && \
	  bin/$$t completion zsh > completions/zsh/_$$t && \
	  bin/$$t completion fish > completions/fish/$$t.fish || exit 1; \
	done; echo "docs written for: $(TOOLS)"

bench: build
	tests/bench/run.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 $(addprefix bin/,$(TOOLS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 completions/bash/* $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	install -m 0644 completions/zsh/* $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/
	install -m 0644 completions/fish/* $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/

clean:
	rm -rf bin

# The JamiNS registrar: recompile Registrar.sol with solc-js (npm) and regenerate
# its ABI, bytecode and abigen --v2 bindings. The outputs are committed; CI never needs npm.
contract:
	lib/ns/registrar/generate.sh
