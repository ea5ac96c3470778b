package callback_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/callback"
)

func frameOf(n int, tag byte) []byte {
	f := make([]byte, n)
	f[0] = tag
	return f
}

func TestNewRejectsANilSendFunctionAndABadMTU(t *testing.T) {
	send := func([]byte) error { return nil }
	if _, err := callback.New(1500, nil); err == nil {
		t.Error("New(1500, nil) succeeded, want an error")
	}
	for _, mtu := range []int{-1, 0, 67, 65536} {
		if _, err := callback.New(mtu, send); err == nil {
			t.Errorf("New(%d, send) succeeded, want an error", mtu)
		}
	}
	for _, mtu := range []int{68, 1500, 65535} {
		e, err := callback.New(mtu, send)
		if err != nil {
			t.Errorf("New(%d, send): %v", mtu, err)
			continue
		}
		if e.MTU() != mtu {
			t.Errorf("MTU() = %d, want %d", e.MTU(), mtu)
		}
	}
}

func TestWriteFrameCallsSendWithTheFrame(t *testing.T) {
	var sent [][]byte
	e, err := callback.New(1500, func(f []byte) error {
		sent = append(sent, bytes.Clone(f))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := frameOf(60, 7)
	if err := e.WriteFrame(want); err != nil {
		t.Fatalf("WriteFrame: %v", err)
	}
	if len(sent) != 1 || !bytes.Equal(sent[0], want) {
		t.Fatalf("send got %d frames (%x), want the one written", len(sent), sent)
	}
	if s := e.Stats(); s != (callback.Stats{Sent: 1}) {
		t.Fatalf("Stats() = %+v, want 1 sent", s)
	}
}

func TestWriteFrameRejectsBadSizesWithoutCallingSend(t *testing.T) {
	calls := 0
	e, _ := callback.New(100, func([]byte) error { calls++; return nil })
	for _, n := range []int{0, 13, 115} {
		if err := e.WriteFrame(make([]byte, n)); !errors.Is(err, link.ErrFrameSize) {
			t.Errorf("WriteFrame(%d bytes) = %v, want ErrFrameSize", n, err)
		}
	}
	if calls != 0 {
		t.Fatalf("send called %d times for bad frames", calls)
	}
}

func TestWriteFrameWrapsAndCountsSendErrors(t *testing.T) {
	busy := errors.New("driver busy")
	e, _ := callback.New(1500, func([]byte) error { return busy })
	err := e.WriteFrame(frameOf(60, 1))
	if !errors.Is(err, busy) {
		t.Fatalf("WriteFrame = %v, want it to wrap the send error", err)
	}
	if s := e.Stats(); s != (callback.Stats{SendErrors: 1}) {
		t.Fatalf("Stats() = %+v, want 1 send error", s)
	}
}

func TestInjectDeliversToTheReceiver(t *testing.T) {
	e, _ := callback.New(1500, func([]byte) error { return nil })
	var got [][]byte
	e.Attach(link.ReceiverFunc(func(f []byte) { got = append(got, bytes.Clone(f)) }))
	want := frameOf(1514, 9)
	if err := e.Inject(want); err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("receiver got %d frames, want the injected one", len(got))
	}
	if s := e.Stats(); s != (callback.Stats{Delivered: 1}) {
		t.Fatalf("Stats() = %+v, want 1 delivered", s)
	}
}

func TestInjectWithoutReceiverDropsAndCounts(t *testing.T) {
	e, _ := callback.New(1500, func([]byte) error { return nil })
	if err := e.Inject(frameOf(60, 1)); !errors.Is(err, callback.ErrNoReceiver) {
		t.Fatalf("Inject = %v, want ErrNoReceiver", err)
	}
	e.Attach(link.ReceiverFunc(func([]byte) {}))
	e.Attach(nil)
	if err := e.Inject(frameOf(60, 1)); !errors.Is(err, callback.ErrNoReceiver) {
		t.Fatalf("Inject after Attach(nil) = %v, want ErrNoReceiver", err)
	}
	if s := e.Stats(); s != (callback.Stats{Dropped: 2}) {
		t.Fatalf("Stats() = %+v, want 2 dropped", s)
	}
}

func TestInjectRejectsBadSizes(t *testing.T) {
	e, _ := callback.New(100, func([]byte) error { return nil })
	delivered := 0
	e.Attach(link.ReceiverFunc(func([]byte) { delivered++ }))
	for _, n := range []int{0, 13, 115} {
		if err := e.Inject(make([]byte, n)); !errors.Is(err, link.ErrFrameSize) {
			t.Errorf("Inject(%d bytes) = %v, want ErrFrameSize", n, err)
		}
	}
	if delivered != 0 {
		t.Fatalf("receiver got %d bad frames", delivered)
	}
}

func TestClosedEndpointRefusesBothDirections(t *testing.T) {
	calls := 0
	e, _ := callback.New(1500, func([]byte) error { calls++; return nil })
	e.Attach(link.ReceiverFunc(func([]byte) { calls++ }))
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := e.WriteFrame(frameOf(60, 1)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("WriteFrame after Close = %v, want ErrClosed", err)
	}
	if err := e.Inject(frameOf(60, 1)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Inject after Close = %v, want ErrClosed", err)
	}
	if calls != 0 {
		t.Fatalf("send or receiver called %d times after Close", calls)
	}
}

// A program that owns its network driver hands the stack a send function and feeds it the
// frames its driver receives.
func Example() {
	driverTx := func(frame []byte) error {
		fmt.Printf("driver sends %d bytes\n", len(frame))
		return nil
	}
	ep, err := callback.New(1500, driverTx)
	if err != nil {
		panic(err)
	}
	defer ep.Close()

	// The stack attaches itself as the receiver; here a stand-in that prints what it gets.
	ep.Attach(link.ReceiverFunc(func(frame []byte) {
		fmt.Printf("stack got %d bytes\n", len(frame))
	}))

	// The main loop: poll the driver, inject what it received.
	rx := make([]byte, 60)
	if err := ep.Inject(rx); err != nil {
		panic(err)
	}
	_ = ep.WriteFrame(make([]byte, 42))
	// Output:
	// stack got 60 bytes
	// driver sends 42 bytes
}
