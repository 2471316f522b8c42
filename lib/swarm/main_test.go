package swarm

import (
	"testing"

	"go.uber.org/goleak"
)

// Serve sessions and fetches over pipes end with their streams.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
