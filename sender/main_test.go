package sender_test

import (
	"os"
	"testing"

	"github.com/wxsub/wxsub/internal/redistest"
)

// TestMain says, after the tests, how many were skipped for want of Redis.
func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
