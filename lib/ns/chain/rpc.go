package chain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
)

// RPCConfig configures a registrar on a real node.
type RPCConfig struct {
	URL       string            // http(s)://, ws(s):// or an IPC path
	Contract  common.Address    // the registrar
	Key       *ecdsa.PrivateKey // the server account: signs and pays
	FromBlock uint64            // where export starts looking for events
	// Poll is the receipt polling interval (default 1 s; the Jami chain
	// seals a block every 5 s).
	Poll time.Duration
}

// registrationGas is what one registration costs on the Jami chain
// (Constantinople rules, RSA-4096 key): the minimum a server account must
// be able to pay to start (spec §3.6).
const registrationGas = 1_500_000

// DialRPC connects to a node and binds the registrar there. It refuses a
// contract address without code and a server account that cannot pay for
// one registration. Transactions are signed locally and sent raw, legacy
// or EIP-1559 as the chain's head says.
func DialRPC(ctx context.Context, cfg RPCConfig) (*Contract, error) {
	client, err := ethclient.DialContext(ctx, cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.URL, err)
	}
	c, err := newContract(ctx, client, cfg.Contract, cfg.Key)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("%s: %w", cfg.URL, err)
	}
	c.fromBlk = cfg.FromBlock
	if cfg.Poll > 0 {
		c.poll = cfg.Poll
	}
	ok, err := c.hasCode(ctx)
	if err == nil && !ok {
		err = fmt.Errorf("no contract at %s", lowerHex(cfg.Contract))
	}
	if err == nil {
		err = c.CanPay(ctx, registrationGas)
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("%s: %w", cfg.URL, err)
	}
	return c, nil
}

func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", s, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("listen address %q: bad port", s)
	}
	return host, port, nil
}
