package replay_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/replay"
)

// FuzzReplayFrames replays captures of arbitrary frames, seeded with the frames of real ones:
// whatever a frame holds, the replay ends with a report or an error, never a panic.
func FuzzReplayFrames(f *testing.F) {
	for _, name := range []string{"get.pcap", "arp-who-has.pcap", "5-pings.pcap", "truncated-header.pcap", "mptcp-dss-oobr.pcap"} {
		data, err := os.ReadFile(filepath.Join("capture", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			f.Fatal(err)
		}
		var frames [][]byte
		for {
			d, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			frames = append(frames, d)
		}
		f.Add(bytes.Join(frames, []byte("\xff\xfe\xfd")))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		_ = w.WriteFileHeader(65535, layers.LinkTypeEthernet)
		at := time.Unix(1, 0)
		for _, fr := range bytes.Split(in, []byte("\xff\xfe\xfd")) {
			if len(fr) > 65535 {
				fr = fr[:65535]
			}
			_ = w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(fr), Length: len(fr)}, fr)
			at = at.Add(10 * time.Millisecond)
		}
		tmp, err := os.CreateTemp("", "fuzz-*.pcap")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		tmp.Close()
		rep, err := replay.Replay(tmp.Name(), replay.Options{})
		if (rep == nil) == (err == nil) {
			t.Fatalf("report %v and error %v", rep, err)
		}
	})
}
