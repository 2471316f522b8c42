#!/bin/sh
# Regenerates the committed registrar artefacts (make contract):
#   Registrar.sol --solc-js (npm solc@0.8.37)--> registrar.abi, registrar.bin
#   registrar.abi + .bin --abigen --v2 (the go-ethereum version of go.mod)--> registrar.go
# Needs node and npm; CI and `go build` never do, the outputs are committed.
set -eu
cd "$(dirname "$0")"
SOLC_VERSION=0.8.37
if [ ! -f .solc/node_modules/solc/package.json ] ||
   [ "$(node -p 'require("./.solc/node_modules/solc/package.json").version')" != "$SOLC_VERSION" ]; then
	npm install --silent --no-audit --no-fund --prefix .solc "solc@$SOLC_VERSION"
fi
node compile.js "$PWD/.solc/node_modules/solc"
# abigen runs at the module's go-ethereum version but outside the module,
# so that its own dependencies stay out of go.mod.
GETH=$(go list -m -f '{{.Version}}' github.com/ethereum/go-ethereum)
go run "github.com/ethereum/go-ethereum/cmd/abigen@$GETH" --v2 \
	--abi registrar.abi --bin registrar.bin \
	--pkg registrar --type GlobalRegistrar --out registrar.go
gofmt -l . | (! grep .)
