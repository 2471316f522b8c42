package chain

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/ns"
)

// DevChainID is the chain id of the embedded chain: geth's dev chain. It is a
// private chain; the Jami chain's 1551 would only invite confusion.
const DevChainID = 1337

// devGasLimit is the block gas limit of the embedded chain: a registration
// costs about 6.8 M gas under the dev chain's newest fork rules (spec §3.6).
const devGasLimit = 60_000_000

// EmbeddedConfig configures the in-process chain.
type EmbeddedConfig struct {
	// DataDir holds the chain, the server key, the contract's address and
	// the journal; "" runs in memory (ephemeral: everything is lost at exit).
	DataDir string
	// RPCListen, when set (host:port, port 0 for any), exposes the chain's
	// JSON-RPC (eth, net, web3) over HTTP, so that other tools, or another
	// jami-ns in --rpc-url mode, can use it.
	RPCListen string
	Logger    *slog.Logger
}

// Embedded is the default backend: an in-process dev chain as `geth --dev
// --datadir` runs it (node, eth, and a simulated beacon that seals a block as
// soon as a transaction arrives), with the registrar deployed on it. With a
// data directory it persists across restarts: the genesis is written on the
// first start only and the contract deployed once; every receipt is flushed
// to disk before a registration is answered.
type Embedded struct {
	*Contract
	stack   *node.Node
	backend *eth.Ethereum
	lock    *os.File
	journal *ns.Journal
	logged  []ns.Record
	dir     string
	rpc     bool
	log     *slog.Logger
}

// OpenEmbedded starts the embedded chain. A data directory is locked for
// this process; a second process gets ErrInUse.
func OpenEmbedded(ctx context.Context, cfg EmbeddedConfig) (_ *Embedded, err error) {
	e := &Embedded{dir: cfg.DataDir, rpc: cfg.RPCListen != "", log: cfg.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	var (
		key     *ecdsa.PrivateKey
		genesis *core.Genesis
		st      *state
	)
	if e.dir == "" {
		if key, err = crypto.GenerateKey(); err != nil {
			return nil, err
		}
		genesis = core.DeveloperGenesisBlock(devGasLimit, ptr(crypto.PubkeyToAddress(key.PublicKey)))
	} else {
		if key, genesis, st, err = e.prepareDir(); err != nil {
			return nil, err
		}
	}
	if err := e.start(cfg, key, genesis); err != nil {
		return nil, err
	}
	if err := e.setupContract(ctx, key, st); err != nil {
		return nil, err
	}
	if e.dir != "" {
		if e.journal, e.logged, err = ns.OpenJournal(filepath.Join(e.dir, journalFile)); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func ptr[T any](v T) *T { return &v }

// prepareDir locks the data directory and reads (or, on the first start,
// creates) the server key and the genesis.
func (e *Embedded) prepareDir() (*ecdsa.PrivateKey, *core.Genesis, *state, error) {
	if err := atomicfile.MkdirPrivate(e.dir); err != nil {
		return nil, nil, nil, err
	}
	lock, err := lockDir(e.dir)
	if err != nil {
		return nil, nil, nil, err
	}
	e.lock = lock
	st, err := readState(filepath.Join(e.dir, stateFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil, err
	}
	keyPath, genPath := filepath.Join(e.dir, keyFile), filepath.Join(e.dir, genesisFile)
	if st == nil {
		// First start, or one that stopped before the contract was
		// deployed (no registration can have happened): start afresh.
		e.log.Info("initialising the data directory", "dir", e.dir)
		if err := os.RemoveAll(filepath.Join(e.dir, nodeName)); err != nil {
			return nil, nil, nil, err
		}
		key, err := LoadKey(keyPath)
		if errors.Is(err, os.ErrNotExist) {
			if key, err = crypto.GenerateKey(); err == nil {
				err = saveKey(keyPath, key)
			}
		}
		if err != nil {
			return nil, nil, nil, err
		}
		g := core.DeveloperGenesisBlock(devGasLimit, ptr(crypto.PubkeyToAddress(key.PublicKey)))
		if err := writeJSON(genPath, g, true); err != nil {
			return nil, nil, nil, err
		}
		return key, g, nil, nil
	}
	key, err := LoadKey(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	// The genesis is the one written on the first start, read back: the
	// chain then survives go-ethereum upgrades that change the dev
	// chain's defaults, and a lost chain database restarts from it.
	b, err := os.ReadFile(genPath)
	if err != nil {
		return nil, nil, nil, err
	}
	g := new(core.Genesis)
	if err := json.Unmarshal(b, g); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", genPath, err)
	}
	if st.GenesisHash != g.ToBlock().Hash().Hex() {
		return nil, nil, nil, fmt.Errorf("%s does not match %s (genesis %s, chain %s)", genPath, stateFile, g.ToBlock().Hash().Hex(), st.GenesisHash)
	}
	return key, g, st, nil
}

// start runs the node: no peers, no listening socket, no IPC; JSON-RPC over
// HTTP only when asked for.
func (e *Embedded) start(cfg EmbeddedConfig, key *ecdsa.PrivateKey, genesis *core.Genesis) error {
	nc := node.DefaultConfig
	nc.Name = nodeName // fixed: the default (the executable's name) would move the chain
	nc.DataDir = e.dir
	nc.IPCPath = ""
	nc.P2P = p2p.Config{NoDiscovery: true, MaxPeers: 0, ListenAddr: ""}
	nc.HTTPHost, nc.HTTPPort = "", 0
	nc.WSHost = ""
	nc.AuthPort = 0
	if cfg.RPCListen != "" {
		host, port, err := splitHostPort(cfg.RPCListen)
		if err != nil {
			return err
		}
		nc.HTTPHost, nc.HTTPPort = host, port
		nc.HTTPModules = []string{"eth", "net", "web3"}
		nc.HTTPVirtualHosts = []string{"*"}
	}
	stack, err := node.New(&nc)
	if err != nil {
		if errors.Is(err, node.ErrDatadirUsed) {
			return fmt.Errorf("%s: %w", e.dir, ErrInUse)
		}
		return err
	}
	e.stack = stack

	ec := ethconfig.Defaults
	ec.Genesis = genesis
	ec.NetworkId = DevChainID
	ec.SyncMode = ethconfig.FullSync
	// Hash scheme, no pruning: the state of every block is written as the
	// block is inserted, so what is flushed is complete after a crash
	// (the path scheme keeps recent state in memory until shutdown).
	ec.StateScheme = rawdb.HashScheme
	ec.NoPruning = true
	ec.SnapshotCache = 0
	ec.DatabaseCache, ec.TrieCleanCache, ec.TrieDirtyCache = 32, 16, 0
	ec.LogNoHistory = true // eth_getLogs scans the (small) chain instead
	ec.TxPool.NoLocals = true
	ec.TxPool.Journal = "" // a transaction lost in a crash was never answered
	ec.Miner.PendingFeeRecipient = crypto.PubkeyToAddress(key.PublicKey)
	ec.Miner.GasCeil = devGasLimit
	backend, err := eth.New(stack, &ec)
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	e.backend = backend
	fs := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(fs)}})
	beacon, err := catalyst.NewSimulatedBeacon(0, ec.Miner.PendingFeeRecipient, backend)
	if err != nil {
		return err
	}
	// Period 0 with the dev API registered: a block is sealed as soon as a
	// transaction enters the pool.
	catalyst.RegisterSimulatedBeaconAPIs(stack, beacon)
	stack.RegisterLifecycle(beacon)
	if err := stack.Start(); err != nil {
		if errors.Is(err, node.ErrDatadirUsed) {
			return fmt.Errorf("%s: %w", e.dir, ErrInUse)
		}
		return fmt.Errorf("chain: %w", err)
	}
	return nil
}

// setupContract binds the registrar, deploying it on the first start (and
// again at the same address if a crash lost the chain's first blocks).
func (e *Embedded) setupContract(ctx context.Context, key *ecdsa.PrivateKey, st *state) error {
	client := ethclient.NewClient(e.stack.Attach())
	from := crypto.PubkeyToAddress(key.PublicKey)
	addr := crypto.CreateAddress(from, 0)
	if st != nil {
		addr = common.HexToAddress(st.Contract)
	}
	c, err := newContract(ctx, client, addr, key)
	if err != nil {
		client.Close()
		return err
	}
	c.poll = 10 * time.Millisecond
	c.afterTx = e.sync
	e.Contract = c
	ok, err := c.hasCode(ctx)
	if err != nil {
		return err
	}
	if ok {
		c.fromBlk = st.DeployBlock
		return nil
	}
	if nonce, err := client.PendingNonceAt(ctx, from); err != nil {
		return err
	} else if nonce != 0 {
		return fmt.Errorf("%s: the chain has lost the registrar contract %s", e.dir, lowerHex(addr))
	}
	got, blk, err := c.deploy(ctx)
	if err != nil {
		return err
	}
	if got != addr {
		return fmt.Errorf("registrar deployed at %s, expected %s", lowerHex(got), lowerHex(addr))
	}
	c.fromBlk = blk
	if st != nil {
		e.log.Warn("the chain had lost the registrar; deployed it again", "contract", lowerHex(addr))
		return nil
	}
	e.log.Info("registrar deployed", "contract", lowerHex(addr), "block", blk)
	if e.dir == "" {
		return nil
	}
	return writeJSON(filepath.Join(e.dir, stateFile), state{
		ChainID: c.chainID.Uint64(), Contract: lowerHex(addr), Account: lowerHex(from),
		GenesisHash: e.backend.BlockChain().Genesis().Hash().Hex(), DeployBlock: blk,
	}, false)
}

// sync makes every write of the chain so far durable: the database writes
// asynchronously, and a registration must not be answered before its block
// is on disk.
func (e *Embedded) sync() error {
	if s, ok := e.backend.ChainDb().(ethdb.KeyValueSyncer); ok {
		return s.SyncKeyValue()
	}
	return nil
}

// Journal is the data directory's journal (nil when ephemeral).
func (e *Embedded) Journal() *ns.Journal { return e.journal }

// Journaled returns the records the journal held at start.
func (e *Embedded) Journaled() []ns.Record { return e.logged }

// RPCURL is the chain's JSON-RPC endpoint ("" unless RPCListen was set).
func (e *Embedded) RPCURL() string {
	if e.stack == nil || !e.rpc {
		return ""
	}
	return e.stack.HTTPEndpoint()
}

// DataDir is the data directory ("" when ephemeral).
func (e *Embedded) DataDir() string { return e.dir }

// KeyFile is the server key's file ("" when ephemeral).
func (e *Embedded) KeyFile() string {
	if e.dir == "" {
		return ""
	}
	return filepath.Join(e.dir, keyFile)
}

// Close stops the chain cleanly (state flushed) and releases the data
// directory.
func (e *Embedded) Close() error {
	var errs []error
	if e.Contract != nil {
		errs = append(errs, e.Contract.Close())
	}
	if e.stack != nil {
		errs = append(errs, e.stack.Close())
		e.stack = nil
	}
	if e.journal != nil {
		errs = append(errs, e.journal.Close())
	}
	if e.lock != nil {
		e.lock.Close()
		e.lock = nil
	}
	return errors.Join(errs...)
}
