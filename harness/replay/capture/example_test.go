package capture_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// Reading a capture to the end, and telling a clean end from a broken file.
func ExampleOpen() {
	f, err := os.Open("testdata/test009.pcapng")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	r, err := capture.Open(f)
	if err != nil {
		fmt.Println(err) // e.g. "byte 0: unsupported pcap version 1.4 (only 2.x is defined)"
		return
	}
	fmt.Println(r.Format())
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var bad *capture.Error
		if errors.As(err, &bad) {
			fmt.Printf("broken at record %d, byte %d: %s\n", bad.Record, bad.Offset, bad.Msg)
			return
		}
		fmt.Printf("%d at byte %d: %s, %d of %d bytes, link type %d, %q\n", rec.Number, rec.Offset,
			rec.Time.Format("15:04:05.000000"), rec.CapLen, rec.OrigLen, rec.LinkType, rec.Comments)
	}
	// Output:
	// pcapng
	// 1 at byte 128: 07:28:25.298858, 314 of 314 bytes, link type 1, ["test009-1"]
	// 2 at byte 628: 07:28:25.299858, 342 of 342 bytes, link type 1, ["test009-2"]
}

// A capture cut off inside a record: the error names the record and the byte
// where it starts, and errors.Is reports io.ErrUnexpectedEOF.
func ExampleError() {
	b, err := os.ReadFile("testdata/get.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := capture.Open(bytes.NewReader(b[:len(b)-10]))
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		if _, err = r.Next(); err != nil {
			break
		}
	}
	fmt.Println(err)
	fmt.Println(errors.Is(err, io.ErrUnexpectedEOF))
	// Output:
	// record 14 at byte 6253: record cut off: header says 66 bytes, 56 left
	// true
}
