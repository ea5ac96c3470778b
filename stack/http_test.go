package stack_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

// net/http serves on a Listener and dials with Stack.Dial as its Transport's DialContext: the
// runtime's net.Conn and net.Listener are what the standard library expects (deadlines, EOF,
// close).
func TestNetHTTPOverTwoStacks(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	ln, err := server.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	})}
	served := goDo(func() (struct{}, error) { return struct{}{}, srv.Serve(ln) })
	tr := &http.Transport{DialContext: client.Dial}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: hang}
	for i := range 5 {
		resp, err := hc.Get(fmt.Sprintf("http://%v/page%d", serverPrefix.Addr(), i))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || string(body) != fmt.Sprintf("hello /page%d", i) {
			t.Fatalf("GET %d: %q, %v", i, body, err)
		}
	}
	if st := client.Stats().TCP; st.ActiveOpens != 1 {
		t.Errorf("%d connections for 5 requests, want 1 (keep-alive)", st.ActiveOpens)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := await(t, served); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}
