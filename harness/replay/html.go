package replay

import (
	"fmt"
	"io"

	"github.com/mtcp-go/mtcp/harness/report"
)

// writeHTML writes the HTML report of a replay to path: rep and the output capture it wrote,
// or, for --all, every role of all (report.WriteReplay).
func writeHTML(path, capture string, rep *Report, output string, all *AllReport) error {
	r := report.Replay{Title: "mtcp-replay of " + capture, Capture: capture, CaptureLink: report.RelLink(path, capture)}
	if all != nil {
		for _, role := range all.Roles {
			name := "the stack as the server"
			if role.Client {
				name = "the stack as the client"
			}
			if role.Report.Host.IsValid() {
				name += " " + role.Report.Host.String()
			}
			r.Runs = append(r.Runs, htmlRun(name, role.Report, role.Output, path))
		}
	} else {
		r.Runs = append(r.Runs, htmlRun("the stack as "+rep.Host.String(), rep, output, path))
	}
	return report.WriteFile(path, func(w io.Writer) error { return report.WriteReplay(w, r) })
}

// htmlRun is one replay as the HTML report shows it.
func htmlRun(name string, rep *Report, output, page string) report.ReplayRun {
	run := report.ReplayRun{Name: name, Host: rep.Host, HostMAC: rep.HostMAC, Verdict: rep.Verdict(),
		Coverage: rep.Coverage(), MoreDifferences: rep.MoreDifferences}
	if output != "" && rep.Host.IsValid() && !rep.Interrupted {
		run.Output, run.OutputLink = output, report.RelLink(page, output)
	}
	if rep.Why != "" {
		run.Notes = append(run.Notes, fmt.Sprintf("the stack plays %v (%v): %s", rep.Host, rep.HostMAC, rep.Why))
	}
	if len(rep.Skipped) > 0 {
		run.Notes = append(run.Notes, "skipped: "+rep.skipped())
	}
	for _, d := range rep.Damaged {
		run.Notes = append(run.Notes, fmt.Sprintf("damaged: frame %d: %s", d.Frame, d.What))
	}
	for _, n := range rep.NotReplayed {
		run.Notes = append(run.Notes, fmt.Sprintf("tcp %s: not replayed: %s", n.Name, n.Why))
	}
	for _, a := range rep.Artefacts {
		run.Notes = append(run.Notes, "capture artefact: "+a)
	}
	for _, c := range rep.Conversations {
		run.Conversations = append(run.Conversations, report.Conversation{Name: c.Name, Role: c.Role,
			HostBytes: c.HostBytes, StackBytes: c.StackBytes, HostSegments: c.HostSegments,
			StackSegments: c.StackSegments, Differences: c.Differences})
	}
	for _, d := range rep.Differences {
		run.Differences = append(run.Differences, report.Difference{Frame: d.Frame, At: d.At, Conv: d.Conv,
			Recorded: d.Recorded, Stack: d.Stack, What: d.What})
	}
	return run
}
