package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/atomicfile"
	"github.com/jamikit/jamikit/lib/dht"
)

// -f PATH (Dht::saveState / loadState): the node id and the good nodes it
// knew, in OpenDHT's state file, so that a restarted node keeps its id and
// rejoins without its bootstrap; a state file of OpenDHT's dhtnode works
// too. PATH_port.txt holds the bound ports (IPv4 line, IPv6 line), reused
// when no port is given. With --nodes, the state is the first node's.

// loadState applies the saved state to cfg. A missing file is a first run.
func loadState(path string, cfg *dht.Config) error {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	}
	var st dht.State
	if err := st.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	cfg.ID, cfg.Nodes = st.ID, st.Nodes
	if cfg.Port == 0 {
		cfg.Port = savedPort(path + "_port.txt")
	}
	return nil
}

// savedPort is the IPv4 port of a port file, or 0.
func savedPort(path string) uint16 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	p, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 16)
	if err != nil {
		return 0
	}
	return uint16(p)
}

// saveState writes the state of n, replacing the previous one.
func saveState(path string, n *dht.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nodes, err := n.ExportNodes(ctx)
	if err != nil {
		return err
	}
	b, err := dht.State{ID: n.ID(), Nodes: nodes}.MarshalBinary()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, atomicfile.Options{Perm: 0o600, Force: true}); err != nil {
		return err
	}
	ports := fmt.Sprintf("%d\n%d\n", n.Addr4().Port(), n.Addr6().Port())
	return atomicfile.WriteFile(path+"_port.txt", []byte(ports), atomicfile.Options{Perm: 0o600, Force: true})
}
