package conformance

import (
	"encoding/xml"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// The JUnit report mtcp-test writes: one testcase per spec that was selected, named as the
// spec is ("A7 retries …", "script tcp/close/x.pkt (…)"), its class the area, its capture
// both as a property and in the attachment form CI servers read from system-out
// ("[[ATTACHMENT|path]]": Jenkins' JUnit attachments, GitLab), its failure located at the
// script line for a script.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name       string          `xml:"name,attr"`
	Classname  string          `xml:"classname,attr"`
	Status     string          `xml:"status,attr"`
	Time       string          `xml:"time,attr"`
	File       string          `xml:"file,attr,omitempty"`
	Line       int             `xml:"line,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Failure    *junitMessage   `xml:"failure"`
	Skipped    *junitMessage   `xml:"skipped"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes the specs of r that were selected to path.
func writeJUnit(path string, r Report, target string, props []junitProperty) error {
	suite := junitSuite{
		Name:       "mtcp conformance",
		Time:       seconds(r.RunTime),
		Timestamp:  r.StartTime.UTC().Format("2006-01-02T15:04:05"),
		Properties: append([]junitProperty{{"target", target}}, props...),
	}
	for _, s := range selectedSpecs(r) {
		c := junitCase{
			Name:      s.LeafNodeText,
			Classname: classOf(s),
			Status:    s.State.String(),
			Time:      seconds(s.RunTime),
		}
		if loc := specLocation(s); loc.FileName != "" {
			c.File, c.Line = loc.FileName, loc.LineNumber
		}
		if id := IDOf(s.LeafNodeText); id != "" {
			if cs, ok := Lookup(id); ok {
				c.Properties = append(c.Properties, junitProperty{"id", cs.ID}, junitProperty{"rfc", cs.RFC})
			}
		}
		if capture := captureOf(s); capture != "" {
			c.Properties = append(c.Properties, junitProperty{"capture", capture})
			c.SystemOut = "[[ATTACHMENT|" + capture + "]]"
		}
		switch {
		case s.State.Is(types.SpecStatePassed):
		case s.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			c.Skipped = &junitMessage{Message: s.Failure.Message}
			suite.Skipped++
		default:
			c.Failure = &junitMessage{Message: firstLine(s.Failure.Message), Type: s.State.String(),
				Text: s.Failure.Message + "\nat " + locationString(specLocation(s))}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "mtcp-test", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite}}
	data, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(data, '\n')...), 0o644)
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// selectedSpecs are the It specs of r that the filters selected: those that ran, and those
// skipped with a reason (a spec left out by --label-filter or --focus has none).
func selectedSpecs(r Report) []SpecReport {
	var out []SpecReport
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || notSelected(s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// notSelected tells a spec left out of the run (by a filter, or by an interrupt before it
// could start) from one that was skipped with a reason.
func notSelected(s SpecReport) bool {
	return s.State.Is(types.SpecStateSkipped) && s.Failure.Message == "" && s.RunTime == 0
}

// classOf is a spec's JUnit class: its catalog area, or "script" and the script's folder.
func classOf(s SpecReport) string {
	if slices.Contains(s.Labels(), "script") {
		if sc, ok := scriptOf(s); ok && sc.Area != "" && sc.Area != "." {
			return "script." + strings.ReplaceAll(sc.Area, "/", ".")
		}
		return "script"
	}
	if c, ok := Lookup(IDOf(s.LeafNodeText)); ok {
		return c.Area
	}
	return "mtcp"
}

// captureOf is the capture path a spec reported ("" if it wrote none).
func captureOf(s SpecReport) string {
	for _, e := range s.ReportEntries {
		if e.Name == "capture" {
			return entryString(e)
		}
	}
	return ""
}

// entryString is a report entry's string value, also when it crossed from another process of
// a parallel run (where only its quoted representation survives).
func entryString(e types.ReportEntry) string {
	if v, ok := e.GetRawValue().(string); ok {
		return v
	}
	if v, err := strconv.Unquote(e.StringRepresentation()); err == nil {
		return v
	}
	return e.StringRepresentation()
}

// specLocation is where a failure points: the script line for a script (its "location" report
// entry), else the Go line that failed, else the spec's own.
func specLocation(s SpecReport) types.CodeLocation {
	for _, e := range s.ReportEntries {
		if e.Name == "location" {
			v := entryString(e)
			i := strings.LastIndex(v, ":")
			n, _ := strconv.Atoi(v[i+1:])
			return types.CodeLocation{FileName: v[:max(i, 0)], LineNumber: n}
		}
	}
	if s.Failure.Location.FileName != "" {
		return s.Failure.Location
	}
	return s.LeafNodeLocation
}

func locationString(l types.CodeLocation) string {
	if l.FileName == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", l.FileName, l.LineNumber)
}
