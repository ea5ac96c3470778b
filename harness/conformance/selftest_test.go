package conformance_test

import (
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// The self-tests check the bench itself; they carry the selftest label, have no catalog case,
// and exist only in this test binary, never in mtcp-test.
var _ = Describe("the oracle", Label("selftest"), func() {
	It("fails a wrong expectation with the expected and the actual frame, field by field", func() {
		b := conformance.NewBench()
		b.Inject(b.Peer().Echo(0x4d54, 3, []byte("abc")))
		f := b.Next()
		msg := InterceptGomegaFailure(func() {
			Expect(f).To(BeICMPEchoReply(ICMPSeq(4), EchoData([]byte("abd"))))
		})
		Expect(msg).To(HaveOccurred())
		Expect(msg.Error()).To(And(
			ContainSubstring(`Expected ICMP echo reply with ICMP seq 4, echo data 3 bytes "abd"`),
			ContainSubstring("ICMP seq: want 4, got 3"),
			ContainSubstring("echo data: want 3 bytes"),
			ContainSubstring("Internet Control Message Protocol, type 0 code 0"),
		))
		Expect(f.Comments()).To(ContainElement(HavePrefix("expected instead: ICMP echo reply with ICMP seq 4")))
	})
})

// A deliberately failing spec, declared only in the child process of TestAFailingSpecReports.
var _ = func() bool {
	if os.Getenv("MTCP_SELFTEST_FAILING_SPEC") != "1" {
		return false
	}
	Describe("a failing spec", Label("selftest-failing"), func() {
		It("X1 expects an ARP reply to an echo request", func() {
			b := conformance.NewBench()
			b.Inject(b.Peer().Echo(1, 1, nil))
			Expect(b.Next()).To(BeARPReply())
		})
	})
	return true
}()

// TestMain lets this test binary act as mtcp-test for TestAFailingSpecReports and
// TestEveryProtocolSpecFailsOnABrokenStack.
func TestMain(m *testing.M) {
	if os.Getenv("MTCP_SELFTEST_FAILING_SPEC") == "1" || os.Getenv(brokenSuiteEnv) == "1" {
		os.Exit(conformance.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestAFailingSpecReports runs the failing spec through mtcp-test's own code in a child process
// (the suite can run once per process) and checks what a user gets: a failing exit, a JUnit failure that names the
// capture, and a capture whose section and packet comments say what went wrong.
func TestAFailingSpecReports(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	junit := filepath.Join(dir, "junit.xml")
	// The child is mtcp-test itself: TestMain hands it to conformance.Main.
	cmd := exec.Command(os.Args[0], "--label-filter", "selftest-failing", "--junit", junit, "-o", dir)
	cmd.Env = append(os.Environ(), "MTCP_SELFTEST_FAILING_SPEC=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	g.Expect(errors.As(err, &exit)).To(BeTrue(), "the failing spec passed:\n%s", out)
	g.Expect(exit.ExitCode()).To(Equal(1))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	g.Expect(lines[len(lines)-1]).To(MatchRegexp(`^0 passed, 1 failed, 0 skipped, \d+ not selected$`))
	g.Expect(string(out)).To(And(ContainSubstring("Expected ARP reply"), ContainSubstring("FAILED X1 expects")))

	capture := filepath.Join(dir, "X1-expects-an-ARP-reply-to-an-echo-request.pcapng")
	raw, err := os.ReadFile(junit)
	g.Expect(err).NotTo(HaveOccurred())
	var suites struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			SystemOut  string `xml:"system-out"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
		} `xml:"testsuite>testcase"`
	}
	g.Expect(xml.Unmarshal(raw, &suites)).To(Succeed())
	var found bool
	for _, c := range suites.Cases {
		if strings.Contains(c.Name, "X1") {
			found = true
			g.Expect(c.Failure).NotTo(BeNil())
			g.Expect(c.SystemOut).To(Equal("[[ATTACHMENT|" + capture + "]]"))
			g.Expect(c.Properties).To(ContainElement(HaveField("Value", capture)))
		}
	}
	g.Expect(found).To(BeTrue(), "no testcase for the failing spec in %s", raw)

	c := pcapngtest.Read(t, capture)
	g.Expect(c.Comment).To(And(HavePrefix("X1 expects"), ContainSubstring("verdict: FAILED: Expected ARP reply")))
	comments := c.Comments()
	g.Expect(comments).To(ContainElement(HavePrefix("expected instead: ARP reply (it is not an ARP reply)")))
}
