package stack_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// Two stacks on the ends of a pipe: one serves HTTP with net/http on its Listener, the other
// fetches a page with an http.Client that dials through it.
func ExampleStack_Dial() {
	a, b := pipe.New(1500)
	server, err := stack.New(stack.Config{Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	client, err := stack.New(stack.Config{Link: b, Addr: netip.MustParsePrefix("198.18.0.1/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ln, err := server.Listen(80)
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from mtcp, %s\n", r.URL.Path)
	}))

	tr := &http.Transport{DialContext: client.Dial}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://198.18.0.2/page")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(resp.Status, ": ", string(body))
	// Output: 200 OK: hello from mtcp, /page
}
