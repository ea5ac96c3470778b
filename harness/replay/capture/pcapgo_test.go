package capture

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// goodFiles are the captures of testdata that Wireshark reads to the end,
// with their packet counts from `capinfos -c` (testdata/SOURCES.md).
var goodFiles = []struct {
	name   string
	format string
	count  int
}{
	{"5-pings.pcap", "pcap", 10},
	{"arp-who-has.pcap", "pcap", 2},
	{"bgp-4byte-asn.pcap", "pcap", 91},
	{"gateway_or_not.pcap", "pcap", 14},
	{"get.pcap", "pcap", 14},
	{"handshake-reorder.pcap", "pcap", 14},
	{"http-filename.pcap", "pcap", 11},
	{"ipv4-truncated-broken-header.pcap", "pcap", 1},
	{"mptcp-dss-oobr.pcap", "pcap", 1}, // caplen 74 > snaplen 73
	{"pop3.pcap", "pcap", 125},
	{"post.pcap", "pcap", 14},
	{"pptp.pcap", "pcap", 23},
	{"proxy.pcap", "pcap", 26},
	{"ssh.pcap", "pcap", 54},
	{"ssl-to-http-server.pcap", "pcap", 14},
	{"test_ethernet.pcap", "pcap", 10},
	{"trunc-hdr.pcap", "pcap", 1}, // caplen 8 > snaplen 1
	{"truncated-header.pcap", "pcap", 24},
	{"web.pcap", "pcap", 24},
	{"cooper-grill-dvwa.pcapng", "pcapng", 64},
	{"pcapng-multi-interface.pcapng", "pcapng", 6},
	{"snap-arp.pcapng", "pcapng", 4},
	{"test009.pcapng", "pcapng", 2},
	{"test101.pcapng", "pcapng", 4},
	{"test202.pcapng", "pcapng", 8},
}

// goRecord is what pcapgo reports for one packet.
type goRecord struct {
	time      time.Time
	capLen    int
	origLen   int
	iface     int
	link      layers.LinkType
	data      []byte
	comments  []string
	simple    bool // pcapgo's zero time marks a Simple Packet Block
	truncated bool
}

// readPcapgo reads b with pcapgo (mixed link types allowed, as the reader
// allows them), stopping at its first error.
func readPcapgo(t *testing.T, b []byte) ([]goRecord, error) {
	t.Helper()
	var recs []goRecord
	if bytes.HasPrefix(b, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		for {
			data, ci, opts, err := r.ReadPacketDataWithOptions()
			if err != nil {
				return recs, err
			}
			recs = append(recs, goRecord{
				time: ci.Timestamp, capLen: ci.CaptureLength, origLen: ci.Length,
				iface: ci.InterfaceIndex, link: ci.AncillaryData[0].(layers.LinkType),
				data: data, comments: opts.Comments, simple: ci.Timestamp.IsZero(),
			})
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			return recs, err
		}
		recs = append(recs, goRecord{
			time: ci.Timestamp, capLen: ci.CaptureLength, origLen: ci.Length,
			link: r.LinkType(), data: data,
		})
	}
}

// TestGoodFilesMatchPcapgo reads every good capture and checks it against
// capinfos' packet count and, record by record, against pcapgo (v1.7.7, with
// WantMixedLinkType): data, lengths, times, interface, link type, comments.
//
// pcapgo differs in one way on these files: it gives a Simple Packet Block
// the zero time, where this reader gives the previous record's time (an SPB
// carries no time; see Record.Time). This version of pcapgo does read SPBs
// and test202's three sections of mixed byte order, so the counts agree with
// capinfos. With its default options they do not: see
// TestPcapgoDefaultsDropMixedLinkTypes.
func TestGoodFilesMatchPcapgo(t *testing.T) {
	for _, f := range goodFiles {
		t.Run(f.name, func(t *testing.T) {
			b := load(t, f.name)
			format, recs, err := readAll(t, b)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if format != f.format {
				t.Errorf("Format() = %q, want %q", format, f.format)
			}
			if len(recs) != f.count {
				t.Errorf("read %d records, capinfos counts %d", len(recs), f.count)
			}
			want, err := readPcapgo(t, b)
			if err != io.EOF {
				t.Fatalf("pcapgo stopped after %d records: %v", len(want), err)
			}
			if len(recs) != len(want) {
				t.Fatalf("read %d records, pcapgo %d", len(recs), len(want))
			}
			for i, got := range recs {
				w := want[i]
				if got.Number != i+1 {
					t.Errorf("record %d: Number %d", i+1, got.Number)
				}
				if !bytes.Equal(got.Data, w.data) || got.CapLen != len(got.Data) {
					t.Errorf("record %d: data (%d bytes, CapLen %d) differs from pcapgo's (%d bytes)", i+1, len(got.Data), got.CapLen, len(w.data))
				}
				if got.CapLen != w.capLen || got.OrigLen != w.origLen {
					t.Errorf("record %d: lengths %d/%d, pcapgo %d/%d", i+1, got.CapLen, got.OrigLen, w.capLen, w.origLen)
				}
				if got.Interface != w.iface || layers.LinkType(got.LinkType) != w.link {
					t.Errorf("record %d: interface %d link %d, pcapgo %d link %d", i+1, got.Interface, got.LinkType, w.iface, w.link)
				}
				if !slices.Equal(got.Comments, w.comments) {
					t.Errorf("record %d: comments %q, pcapgo %q", i+1, got.Comments, w.comments)
				}
				switch {
				case w.simple && i > 0:
					if !got.Time.Equal(recs[i-1].Time) {
						t.Errorf("record %d (SPB): time %v, want the previous record's %v", i+1, got.Time, recs[i-1].Time)
					}
				case !got.Time.Equal(w.time):
					t.Errorf("record %d: time %v, pcapgo %v", i+1, got.Time, w.time)
				}
			}
		})
	}
}

// TestBrokenFilesPcapgo documents what pcapgo says about the two broken
// files of testdata, for comparison with this reader's errors (see
// TestBroken): a message with no offset, and for pcapng no block.
func TestBrokenFilesPcapgo(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"pcap-invalid-version-1.pcap", "Unknown major version 1"},
		{"shb-option-too-long.pcapng", "unexpected EOF"},
	} {
		_, err := readPcapgo(t, load(t, c.name))
		if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: pcapgo says %v, want %q", c.name, err, c.want)
		}
	}
}

// TestPcapgoDefaultsDropMixedLinkTypes documents why pcapgo's counts, with
// its default options, are lower than capinfos' and this reader's on mixed
// link-type files: it silently skips packets whose interface's link type
// differs from the first interface's (test101 and test202 have NULL/loopback
// packets, link type 0, after Ethernet ones).
func TestPcapgoDefaultsDropMixedLinkTypes(t *testing.T) {
	for _, c := range []struct {
		name                  string
		capinfos, pcapgoCount int
	}{
		{"test101.pcapng", 4, 3},
		{"test202.pcapng", 8, 6},
	} {
		r, err := pcapgo.NewNgReader(bytes.NewReader(load(t, c.name)), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			if _, _, err := r.ReadPacketData(); err != nil {
				break
			}
		}
		_, recs, err := readAll(t, load(t, c.name))
		if err != nil || len(recs) != c.capinfos || n != c.pcapgoCount {
			t.Errorf("%s: read %d (%v), pcapgo with default options %d; want %d and %d", c.name, len(recs), err, n, c.capinfos, c.pcapgoCount)
		}
	}
}
