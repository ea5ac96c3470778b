package stack_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// A transfer over a link that drops, duplicates, reorders and corrupts frames still arrives
// intact: the runtime's timers drive the TCP core's retransmissions on the real clock.
func TestTransferOverLossyLinkArrivesIntact(t *testing.T) {
	for seed := range uint64(4) {
		a, b := pipe.New(1500)
		inj, err := fault.New(a, fault.Config{Seed: seed, Drop: 0.02, Duplicate: 0.01, Reorder: 0.02, Corrupt: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		// Short RTOs so that losses cost milliseconds, not seconds.
		cfg := tcp.Config{RTOMin: 5 * time.Millisecond, RTOInitial: 20 * time.Millisecond}
		client, err := stack.New(stack.Config{Link: inj, Addr: clientPrefix, TCP: cfg})
		if err != nil {
			t.Fatal(err)
		}
		server, err := stack.New(stack.Config{Link: b, Addr: serverPrefix, TCP: cfg})
		if err != nil {
			t.Fatal(err)
		}
		cc, sc := connected(t, client, server, 80)
		data := make([]byte, 2<<20)
		_, _ = rand.NewChaCha8([32]byte{byte(seed)}).Read(data)
		received := readAll(sc)
		mustWrite(t, cc, data)
		_ = cc.CloseWrite()
		got, err := await(t, received)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("seed %d: received %d bytes, %v; want %d intact", seed, len(got), err, len(data))
		}
		st := client.Stats().TCP
		t.Logf("seed %d: %d retransmits (%d fast), %d timeouts", seed, st.Retransmits, st.FastRetransmits, st.Timeouts)
		_ = client.Close()
		_ = server.Close()
	}
}
