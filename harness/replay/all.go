package replay

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// maxRoles bounds the hosts ReplayAll plays in each role.
const maxRoles = 256

// Role is one replay of ReplayAll: the stack in one host's place, as server or as client.
type Role struct {
	Host   netip.Addr
	Client bool
	Report *Report
	Output string // the capture it wrote, with Options.Output (roleOutput)
}

// AllReport is the outcome of ReplayAll: a replay per host and role, each with its
// conversations' verdicts, and one overall.
type AllReport struct {
	Capture string
	Records int
	Roles   []Role
	// Interrupted is set when Options.Stop ended it: the last role's report is partial.
	Interrupted bool
}

// ReplayAll replays every TCP conversation of the capture twice: once with the stack in the
// place of the host that answered the SYN (each such host in a replay of its own, as Replay
// with Options.Host), and once in the place of the host that sent it (Options.Client). The
// roles come from the SYN-ACKs of the capture, the servers first, each in the order it first
// answered; a capture without one is replayed as Replay would, in each role. With
// Options.Output, each replay writes its own capture (roleOutput); an interrupted run leaves
// none.
func ReplayAll(path string, opts Options) (*AllReport, error) {
	servers, clients, records, err := ends(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	all := &AllReport{Capture: path, Records: records}
	var roles []Role
	for _, h := range servers {
		roles = append(roles, Role{Host: h})
	}
	for _, h := range clients {
		roles = append(roles, Role{Host: h, Client: true})
	}
	if len(roles) == 0 {
		// No handshake to go by: the host Replay picks in each role (for a conversation that
		// began before the capture, the end with the lower port as the server).
		roles = append(roles, Role{}, Role{Client: true})
	}
	for _, r := range roles {
		o := opts
		o.Host, o.HostPort, o.Client, o.Output = r.Host, 0, r.Client, roleOutput(opts.Output, r)
		rep, err := Replay(path, o)
		if err != nil {
			all.removeOutputs()
			return nil, err
		}
		r.Report = rep
		if rep.Host.IsValid() {
			r.Output = o.Output // written (not if nothing was replayed)
		}
		all.Roles = append(all.Roles, r)
		if rep.Interrupted {
			all.Interrupted = true
			all.removeOutputs() // none is left of an interrupted run, as of one replay's
			break
		}
	}
	return all, nil
}

// roleOutput is where a replay of ReplayAll writes its capture, given Options.Output: the name
// with the role and host before its extension ("out.server-198.18.1.2.pcapng"); "" for none.
func roleOutput(out string, r Role) string {
	if out == "" {
		return ""
	}
	role := "server"
	if r.Client {
		role = "client"
	}
	if r.Host.IsValid() {
		role += "-" + r.Host.String()
	}
	ext := filepath.Ext(out)
	return strings.TrimSuffix(out, ext) + "." + role + ext
}

// removeOutputs removes the captures the replays wrote.
func (a *AllReport) removeOutputs() {
	for i := range a.Roles {
		if a.Roles[i].Output != "" {
			os.Remove(a.Roles[i].Output)
			a.Roles[i].Output = ""
		}
	}
}

// ends lists the servers (the senders of SYN-ACKs) and the clients (their receivers) of the
// capture's TCP conversations, each once, in the order they first show.
func ends(path string) (servers, clients []netip.Addr, records int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	r, err := capture.Open(f)
	if err != nil {
		return nil, nil, 0, err
	}
	seenS, seenC := map[netip.Addr]bool{}, map[netip.Addr]bool{}
	fr := &framer{}
	d := newDecoded()
	pr := prefetch(r) // reading on a core of its own
	defer pr.Close()
	for {
		rec, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, 0, err
		}
		records++
		if !readableLink(rec.LinkType) {
			continue
		}
		if skip, _ := fr.toEthernet(rec); skip != "" {
			continue
		}
		data, _, _ := untag(rec.Data)
		d.decode(data)
		if !d.hasTCP || !d.tcp.SYN || !d.tcp.ACK || d.ip.Protocol != layers.IPProtocolTCP {
			continue
		}
		s, c := d.srcIP(), d.dstIP()
		if !seenS[s] && len(servers) < maxRoles {
			seenS[s] = true
			servers = append(servers, s)
		}
		if !seenC[c] && len(clients) < maxRoles {
			seenC[c] = true
			clients = append(clients, c)
		}
	}
	return servers, clients, records, nil
}

// Outcome sums up every replay: different if one differs, equivalent if one compared
// something and none differs, not comparable if none compared anything.
func (a *AllReport) Outcome() Outcome {
	if a.Interrupted {
		return Interrupted
	}
	o := NotComparable
	for _, r := range a.Roles {
		switch r.Report.Outcome() {
		case Different:
			return Different
		case BadInput:
			o = BadInput
		case Equivalent:
			if o == NotComparable {
				o = Equivalent
			}
		}
	}
	return o
}

// Write prints each replay's report, a verdict per conversation and role, what was judged,
// and the overall verdict, last.
func (a *AllReport) Write(w io.Writer) {
	compared, host, convs := 0, 0, 0
	for _, r := range a.Roles {
		rep := r.Report
		role := "server"
		if r.Client {
			role = "client"
		}
		if r.Host.IsValid() {
			fmt.Fprintf(w, "== the stack as %s %v ==\n", role, r.Host)
		}
		if r.Output != "" {
			fmt.Fprintf(w, "output: %s\n", r.Output)
		}
		rep.Write(w)
		fmt.Fprintln(w)
		compared += rep.Compared
		host += rep.HostFrames
	}
	fmt.Fprintln(w, "conversations:")
	for _, r := range a.Roles {
		for _, c := range r.Report.Conversations {
			if c.Role == "" {
				continue
			}
			convs++
			v := "equivalent"
			switch {
			case c.Differences > 0:
				v = "different: " + plural(c.Differences, "difference", "differences")
			case c.HostSegments == 0:
				v = "not comparable: the recorded host sent nothing in it"
			}
			fmt.Fprintf(w, "  %s (stack as %s): %s\n", c.Name, c.Role, v)
		}
		for _, n := range r.Report.NotReplayed {
			fmt.Fprintf(w, "  %s: skipped: %s\n", n.Name, n.Why)
		}
	}
	if a.Interrupted {
		last := a.Roles[len(a.Roles)-1].Report
		fmt.Fprintf(w, "interrupted at frame %d of %d (replay %d)\n", last.Replayed, last.Records, len(a.Roles))
		return
	}
	fmt.Fprintf(w, "judged: %s, %d of %d host frames compared, %s\n", plural(len(a.Roles), "replay", "replays"), compared, host, plural(convs, "conversation", "conversations"))
	switch o := a.Outcome(); o {
	case Different:
		n := 0
		for _, r := range a.Roles {
			n += r.Report.NumDifferences()
		}
		fmt.Fprintf(w, "different: %s\n", plural(n, "difference", "differences"))
	case NotComparable:
		fmt.Fprintln(w, "not comparable: no replay compared anything the recorded hosts sent")
	case BadInput:
		fmt.Fprintln(w, "bad input: damaged frames (--strict-input)")
	default:
		fmt.Fprintln(w, "equivalent")
	}
}
