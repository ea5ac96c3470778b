//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "faultrelay: needs Linux (network namespaces and AF_PACKET sockets)")
	os.Exit(2)
}
