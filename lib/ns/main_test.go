package ns

import (
	"testing"

	"go.uber.org/goleak"
)

// Services, servers and in-flight waits stop when closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
