// Package chain puts the JamiNS registrar contract on an Ethereum chain: an
// embedded in-process dev chain (persistent in a data directory, or in
// memory), or a real node over JSON-RPC. Both implement ns.Registrar.
//
// go-ethereum is heavy; it is imported here and by cmd/jami-ns only.
package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/jamikit/jamikit/lib/ns"
	"github.com/jamikit/jamikit/lib/ns/registrar"
)

// Contract is the registrar contract at an address, driven with a local
// key: the server signs its transactions itself (current nodes have no
// unlocked accounts, and the Jami chain's node is not ours).
type Contract struct {
	client   *ethclient.Client
	abi      *registrar.GlobalRegistrar
	bound    *bind.BoundContract
	address  common.Address
	key      *ecdsa.PrivateKey
	from     common.Address
	chainID  *big.Int
	fromBlk  uint64        // where Records starts looking for events
	poll     time.Duration // receipt polling interval
	afterTx  func() error  // run after a receipt (embedded: make it durable)
	maxChunk uint64        // blocks per eth_getLogs
}

var _ ns.Registrar = (*Contract)(nil)

// ErrCannotPay is a server account whose balance does not cover a
// registration.
var ErrCannotPay = errors.New("the server account cannot pay for registrations")

// newContract binds the contract at address for the key's account.
func newContract(ctx context.Context, client *ethclient.Client, address common.Address, key *ecdsa.PrivateKey) (*Contract, error) {
	chainID, err := client.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain id: %w", err)
	}
	abi := registrar.NewGlobalRegistrar()
	return &Contract{
		client: client, abi: abi, bound: abi.Instance(client, address), address: address,
		key: key, from: crypto.PubkeyToAddress(key.PublicKey), chainID: chainID,
		poll: time.Second, maxChunk: 10_000,
	}, nil
}

// Address is the contract's address.
func (c *Contract) Address() common.Address { return c.address }

// Account is the server account that signs and pays.
func (c *Contract) Account() common.Address { return c.from }

// ChainID is the chain's EIP-155 id.
func (c *Contract) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// Close closes the connection.
func (c *Contract) Close() error {
	c.client.Close()
	return nil
}

func (c *Contract) call(ctx context.Context) *bind.CallOpts { return &bind.CallOpts{Context: ctx} }

// Get reads the record of name: owner and addr, then the key material when
// the name is taken.
func (c *Contract) Get(ctx context.Context, name string) (ns.Record, error) {
	r := ns.Record{Name: name}
	n, err := ns.NameBytes32(name)
	if err != nil {
		return r, nil // cannot exist on-chain
	}
	owner, err := bind.Call(c.bound, c.call(ctx), c.abi.PackOwner(n), c.abi.UnpackOwner)
	if err != nil {
		return r, fmt.Errorf("owner(%q): %w", name, err)
	}
	addr, err := bind.Call(c.bound, c.call(ctx), c.abi.PackAddr(n), c.abi.UnpackAddr)
	if err != nil {
		return r, fmt.Errorf("addr(%q): %w", name, err)
	}
	r.Owner, r.Addr = ns.Address(owner), ns.Address(addr)
	if r.Free() {
		return r, nil
	}
	if r.PublicKey, err = bind.Call(c.bound, c.call(ctx), c.abi.PackPublickey(n), c.abi.UnpackPublickey); err != nil {
		return r, fmt.Errorf("publickey(%q): %w", name, err)
	}
	if r.Signature, err = bind.Call(c.bound, c.call(ctx), c.abi.PackSignature(n), c.abi.UnpackSignature); err != nil {
		return r, fmt.Errorf("signature(%q): %w", name, err)
	}
	return r, nil
}

// NameOf reads the reverse map.
func (c *Contract) NameOf(ctx context.Context, addr ns.Address) (string, error) {
	b, err := bind.Call(c.bound, c.call(ctx), c.abi.PackName(common.Address(addr)), c.abi.UnpackName)
	if err != nil {
		return "", fmt.Errorf("name(%s): %w", addr, err)
	}
	return ns.NameFromBytes32(b), nil
}

// txGasCap is the largest gas limit of one transaction on chains with
// EIP-7825 (Osaka); the embedded dev chain has it. A registration needs
// about 6.8 M gas there, 1.4 M on the Jami chain.
const txGasCap = 1 << 24

// Reserve estimates, signs and sends reserveFor(name, owner, addr,
// publickey, signature).
func (c *Contract) Reserve(ctx context.Context, r ns.Record) (ns.Tx, error) {
	n, err := ns.NameBytes32(r.Name)
	if err != nil {
		return nil, err
	}
	data, err := c.abi.TryPackReserveFor(n, common.Address(r.Owner), common.Address(r.Addr), r.PublicKey, r.Signature)
	if err != nil {
		return nil, err
	}
	tx, err := c.send(ctx, data)
	if err != nil {
		return nil, err
	}
	return &chainTx{c: c, tx: tx, name: n, addr: common.Address(r.Addr)}, nil
}

// send estimates the gas of a call to the contract with a margin, checks
// that the account can pay, and sends it signed.
func (c *Contract) send(ctx context.Context, data []byte) (*types.Transaction, error) {
	est, err := c.client.EstimateGas(ctx, ethereum.CallMsg{From: c.from, To: &c.address, Data: data})
	if err != nil {
		return nil, fmt.Errorf("gas estimation: %w", err)
	}
	limit, err := c.gasLimit(ctx, est)
	if err != nil {
		return nil, err
	}
	if err := c.CanPay(ctx, limit); err != nil {
		return nil, err
	}
	opts := bind.NewKeyedTransactor(c.key, c.chainID)
	opts.Context = ctx
	opts.GasLimit = limit
	return bind.Transact(c.bound, opts, data)
}

// gasLimit adds 25 % to an estimate, within the block gas limit and the
// transaction cap, but never below the estimate.
func (c *Contract) gasLimit(ctx context.Context, est uint64) (uint64, error) {
	head, err := c.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("latest block: %w", err)
	}
	limit := est + est/4
	limit = min(limit, head.GasLimit, max(txGasCap, est))
	if limit < est {
		return 0, fmt.Errorf("a registration needs %d gas, more than the block gas limit %d", est, head.GasLimit)
	}
	return limit, nil
}

// price is what one unit of gas costs at most now: the legacy gas price,
// or twice the base fee plus the tip on a London chain (what bind offers).
func (c *Contract) price(ctx context.Context) (*big.Int, error) {
	head, err := c.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	if head.BaseFee == nil {
		return c.client.SuggestGasPrice(ctx)
	}
	tip, err := c.client.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, err
	}
	return new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))), nil
}

// CanPay checks that the server account holds enough for gas units.
func (c *Contract) CanPay(ctx context.Context, gas uint64) error {
	price, err := c.price(ctx)
	if err != nil {
		return fmt.Errorf("gas price: %w", err)
	}
	bal, err := c.client.BalanceAt(ctx, c.from, nil)
	if err != nil {
		return fmt.Errorf("balance of %s: %w", c.from.Hex(), err)
	}
	need := new(big.Int).Mul(price, new(big.Int).SetUint64(gas))
	if bal.Cmp(need) < 0 {
		return fmt.Errorf("%w: %s holds %s wei, a registration needs up to %s wei (%d gas at %s wei)",
			ErrCannotPay, lowerHex(c.from), bal, need, gas, price)
	}
	return nil
}

func lowerHex(a common.Address) string { return ns.Address(a).Hex() }

// chainTx is a sent reserveFor.
type chainTx struct {
	c    *Contract
	tx   *types.Transaction
	name [32]byte
	addr common.Address
}

func (t *chainTx) Hash() string { return t.tx.Hash().Hex() }

// Wait polls for the receipt (bind.WaitMined polls once a second, far too
// slow for a chain that mines at once), then looks for the PrimaryChanged
// event of this name and addr: reserveFor never reverts, so status 1 alone
// does not mean the record was written.
func (t *chainTx) Wait(ctx context.Context) (ns.Receipt, error) {
	rc, err := t.c.waitReceipt(ctx, t.tx.Hash())
	if err != nil {
		return ns.Receipt{}, err
	}
	out := ns.Receipt{Tx: t.tx.Hash().Hex(), Block: rc.BlockNumber.Uint64(), Index: rc.TransactionIndex}
	if rc.Status != types.ReceiptStatusSuccessful {
		return out, fmt.Errorf("transaction %s failed (status %d, %d gas used of %d)", out.Tx, rc.Status, rc.GasUsed, t.tx.Gas())
	}
	for _, l := range rc.Logs {
		if l.Address != t.c.address {
			continue
		}
		ev, err := t.c.abi.UnpackPrimaryChangedEvent(l)
		if err == nil && ev.Name == t.name && ev.Addr == t.addr {
			out.Applied = true
		}
	}
	return out, nil
}

func (c *Contract) waitReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	for {
		rc, err := c.client.TransactionReceipt(ctx, h)
		if err == nil {
			if c.afterTx != nil {
				if err := c.afterTx(); err != nil {
					return nil, err
				}
			}
			return rc, nil
		}
		if !errors.Is(err, ethereum.NotFound) && !indexing(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// indexing reports the node's answer while its transaction index catches
// up (a fresh chain at start): not an error, the receipt comes later.
func indexing(err error) bool {
	var de rpc.DataError
	return errors.As(err, &de) && de.ErrorData() == "transaction indexing is in progress"
}

// Records lists every registration: the names of all PrimaryChanged events
// of the contract, in the order of their first event, each read back from
// the contract's current state (events alone can be stale, and anyone can
// call a public contract).
func (c *Contract) Records(ctx context.Context, fn func(ns.Record) error) error {
	head, err := c.client.BlockNumber(ctx)
	if err != nil {
		return err
	}
	topic := c.abi.GetABI().Events[registrar.GlobalRegistrarPrimaryChangedEventName].ID
	seen := map[[32]byte]bool{}
	for from := c.fromBlk; from <= head; from += c.maxChunk {
		to := min(from+c.maxChunk-1, head)
		logs, err := c.client.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
			Addresses: []common.Address{c.address}, Topics: [][]common.Hash{{topic}},
		})
		if err != nil {
			return fmt.Errorf("events of blocks %d-%d: %w", from, to, err)
		}
		for i := range logs {
			ev, err := c.abi.UnpackPrimaryChangedEvent(&logs[i])
			if err != nil || seen[ev.Name] {
				continue
			}
			seen[ev.Name] = true
			name := ns.NameFromBytes32(ev.Name)
			r, err := c.Get(ctx, name)
			if err != nil {
				return err
			}
			if r.Addr.IsZero() {
				continue // disowned since
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Deploy sends the contract's creation and waits for it.
func (c *Contract) deploy(ctx context.Context) (common.Address, uint64, error) {
	opts := bind.NewKeyedTransactor(c.key, c.chainID)
	opts.Context = ctx
	addr, tx, err := bind.DeployContract(opts, common.FromHex(registrar.GlobalRegistrarMetaData.Bin), c.client, nil)
	if err != nil {
		return addr, 0, fmt.Errorf("deploying the registrar: %w", err)
	}
	rc, err := c.waitReceipt(ctx, tx.Hash())
	if err != nil {
		return addr, 0, fmt.Errorf("deploying the registrar: %w", err)
	}
	if rc.Status != types.ReceiptStatusSuccessful {
		return addr, 0, fmt.Errorf("deploying the registrar: transaction %s failed", tx.Hash().Hex())
	}
	return addr, rc.BlockNumber.Uint64(), nil
}

// hasCode reports whether the contract address holds code.
func (c *Contract) hasCode(ctx context.Context) (bool, error) {
	code, err := c.client.CodeAt(ctx, c.address, nil)
	return len(code) > 0, err
}
