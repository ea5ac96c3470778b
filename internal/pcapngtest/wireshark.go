package pcapngtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// Wireshark's own tools read captures back as a user's Wireshark would. Each tool is found with
// netnstest.Tool: without it a test is skipped, or fails when CI is "true" (ci/setup.sh installs
// them). A tshark process costs about a fifth of a second of CPU before it reads a packet, so
// for many captures TsharkFields reads them all in one tshark pass and Capinfos checks them all
// in one capinfos call; either falls back to one process per capture, NumCPU at a time, only
// to say which capture an error belongs to.

// Tshark runs `tshark -r path args...` and returns what it printed on standard output. An error
// (tshark exits non-zero, for a capture it cannot read to its end among others) fails the test
// with what tshark printed on standard error.
func Tshark(t testing.TB, path string, args ...string) string {
	t.Helper()
	out, err := tshark(netnstest.Tool(t, "tshark"), path, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tshark(bin, path string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-r", path}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("tshark -r %s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, quietStderr(stderr.String()))
	}
	return stdout.String(), nil
}

// quietStderr drops the warning every Wireshark tool prints when run as root.
func quietStderr(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.HasPrefix(l, "Running as user ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TsharkFields reads every capture of paths with `tshark -r PATH -T fields -e FIELD...` and
// returns, per capture in the order of paths, its rows: one per packet, each the fields' values
// as tshark prints them (several occurrences joined by commas, a newline as \n). A capture
// tshark cannot read fails the test, naming it; its rows are then nil.
//
// The fields must be the packet's own, such as frame.comment, frame.len, ip.src or tcp.flags:
// not one that tshark derives from other packets of the capture (frame.number, frame.time_relative,
// tcp.stream, relative sequence numbers, tcp.analysis.*), since in one pass the captures'
// packets are read as one capture and every capture of the suite uses the same addresses and
// ports. For those, call TsharkFields with one capture at a time.
//
// All the captures are read in one tshark pass: mergecap concatenates them into one file (-a,
// in the order given; -I none, so that each keeps interfaces of its own), and tshark's
// frame.interface_id says which capture a packet came from (the first capture's interfaces come
// first, and so on). When mergecap or that pass fails, or a capture's layout does not allow the
// merge (more than one section, an interface described after a packet), or mergecap is not
// installed, every capture is read by a tshark of its own, NumCPU at a time.
func TsharkFields(t testing.TB, paths []string, fields ...string) [][][]string {
	t.Helper()
	bin := netnstest.Tool(t, "tshark")
	if len(paths) == 0 {
		return nil
	}
	args := []string{"-T", "fields"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	if len(paths) > 1 {
		rows, err := tsharkMerged(bin, paths, args, len(fields))
		if err == nil {
			return rows
		}
		t.Logf("pcapngtest: %v; reading the captures one by one", err)
	}
	rows, errs := tsharkEach(bin, paths, args, len(fields))
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	return rows
}

// tsharkEach is TsharkFields with a tshark per capture, NumCPU at a time.
func tsharkEach(bin string, paths, args []string, nFields int) ([][][]string, []error) {
	rows := make([][][]string, len(paths))
	errs := make([]error, len(paths))
	eachParallel(len(paths), func(i int) {
		out, err := tshark(bin, paths[i], args...)
		if err != nil {
			errs[i] = err
			return
		}
		rows[i] = splitRows(out, nFields)
	})
	return rows, errs
}

// tsharkMerged is TsharkFields' single pass; an error means the captures must be read one by
// one, to name the one at fault (if any).
func tsharkMerged(bin string, paths, args []string, nFields int) ([][][]string, error) {
	mergecap, err := exec.LookPath("mergecap")
	if err != nil {
		if p := filepath.Join(filepath.Dir(bin), "mergecap"); isExecutable(p) {
			mergecap = p
		} else {
			return nil, fmt.Errorf("no mergecap next to %s (%v)", bin, err)
		}
	}
	// first[i] is the merged file's first interface id of capture i.
	first := make([]int, len(paths)+1)
	for i, p := range paths {
		n, err := interfaces(p)
		if err != nil {
			return nil, err
		}
		first[i+1] = first[i] + n
	}
	dir, err := os.MkdirTemp("", "pcapngtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	merged := filepath.Join(dir, "merged.pcapng")
	if out, err := exec.Command(mergecap, append([]string{"-a", "-I", "none", "-F", "pcapng", "-w", merged}, paths...)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mergecap: %v: %s", err, quietStderr(string(out)))
	}
	out, err := tshark(bin, merged, append([]string{"-e", "frame.interface_id"}, args...)...)
	if err != nil {
		return nil, err
	}
	rows := make([][][]string, len(paths))
	for _, r := range splitRows(out, nFields+1) {
		id, err := strconv.Atoi(r[0])
		if err != nil || id < 0 || id >= first[len(paths)] {
			return nil, fmt.Errorf("merged capture: a packet on interface %q, want 0..%d", r[0], first[len(paths)]-1)
		}
		i := sort.SearchInts(first, id+1) - 1 // the last capture whose interfaces start at or before id
		rows[i] = append(rows[i], r[1:])
	}
	for i := range rows {
		if rows[i] == nil {
			rows[i] = [][]string{} // read, with no packet: not nil, which says unreadable
		}
	}
	return rows, nil
}

// splitRows splits tshark's -T fields output into rows of n values, one per line (with one
// field, an empty line is a packet without a value).
func splitRows(out string, n int) [][]string {
	rows := [][]string{}
	if out == "" {
		return rows
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		vals := strings.SplitN(line, "\t", n)
		for len(vals) < n {
			vals = append(vals, "")
		}
		rows = append(rows, vals)
	}
	return rows
}

// interfaces counts the interfaces of a capture as mergecap's concatenation numbers them: one
// for a pcap file; a pcapng file's interface description blocks, which must all come in its one
// section before its first packet.
func interfaces(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if len(data) < 12 {
		return 0, fmt.Errorf("%s: %d bytes, too short for a capture", filepath.Base(path), len(data))
	}
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1: // pcap, microsecond or nanosecond
		return 1, nil
	case 0x0a0d0d0a:
	default:
		return 0, fmt.Errorf("%s: neither pcap nor pcapng", filepath.Base(path))
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(data[8:]) {
	case 0x1a2b3c4d:
		order = binary.LittleEndian
	case 0x4d3c2b1a:
		order = binary.BigEndian
	default:
		return 0, fmt.Errorf("%s: no byte-order magic in the section header", filepath.Base(path))
	}
	idbs, sections, packets := 0, 0, false
	for off := 0; off < len(data); {
		if len(data)-off < 12 {
			return 0, fmt.Errorf("%s: a truncated block at offset %d", filepath.Base(path), off)
		}
		typ, n := order.Uint32(data[off:]), int(order.Uint32(data[off+4:]))
		if n < 12 || n%4 != 0 || n > len(data)-off {
			return 0, fmt.Errorf("%s: a block of length %d at offset %d", filepath.Base(path), n, off)
		}
		switch typ {
		case 0x0a0d0d0a:
			if sections++; sections > 1 {
				return 0, errors.New(filepath.Base(path) + ": more than one section")
			}
		case 0x00000001:
			if packets {
				return 0, errors.New(filepath.Base(path) + ": an interface described after a packet")
			}
			idbs++
		case 0x00000006, 0x00000003, 0x00000002: // enhanced, simple, obsolete packet blocks
			packets = true
		}
		off += n
	}
	return idbs, nil
}

// Capinfos checks that capinfos reads every capture of paths without an error: one capinfos
// call for all of them, and, when it reports an error, one per capture, NumCPU at a time, so
// that each error names its capture.
func Capinfos(t testing.TB, paths []string) {
	t.Helper()
	bin := netnstest.Tool(t, "capinfos")
	if len(paths) == 0 {
		return
	}
	out, err := exec.Command(bin, paths...).CombinedOutput()
	if err == nil {
		return
	}
	if len(paths) == 1 {
		t.Errorf("capinfos %s: %v\n%s", filepath.Base(paths[0]), err, quietStderr(string(out)))
		return
	}
	errs := make([]error, len(paths))
	eachParallel(len(paths), func(i int) {
		if out, err := exec.Command(bin, paths[i]).CombinedOutput(); err != nil {
			errs[i] = fmt.Errorf("capinfos %s: %v\n%s", filepath.Base(paths[i]), err, quietStderr(string(out)))
		}
	})
	named := false
	for _, err := range errs {
		if err != nil {
			t.Error(err)
			named = true
		}
	}
	if !named {
		t.Errorf("capinfos of %d captures: %v, yet each on its own reads cleanly\n%s", len(paths), err, quietStderr(string(out)))
	}
}

// eachParallel calls f(0), ..., f(n-1), runtime.NumCPU() at a time.
func eachParallel(n int, f func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, runtime.NumCPU()) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
