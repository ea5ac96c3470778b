package fault

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	c, err := ParseSpec("loss=5%,dup=1%,reorder=5%,corrupt=0.5%,delay=5ms,seed=1")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Seed: 1, Drop: 0.05, Duplicate: 0.01, Reorder: 0.05, Corrupt: 0.005, Delay: 1, DelayBy: 5 * time.Millisecond}
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	if s := c.String(); s != "loss=5%,dup=1%,reorder=5%,corrupt=0.5%,delay=5ms,seed=1" {
		t.Errorf("String: %q", s)
	}
	// Fractions, a delay on part of the frames, a direction; String reads back the same.
	c, err = ParseSpec("drop=0.02,delay=20ms@10%,dir=in,seed=9")
	if err != nil {
		t.Fatal(err)
	}
	if c.Drop != 0.02 || c.Delay != 0.1 || c.DelayBy != 20*time.Millisecond || c.Direction != Inbound || c.Seed != 9 {
		t.Fatalf("got %+v", c)
	}
	if again, err := ParseSpec(c.String()); err != nil || again != c {
		t.Errorf("%q reads back as %+v, %v", c.String(), again, err)
	}
	if c, err := ParseSpec(""); err != nil || c != (Config{}) {
		t.Errorf("empty spec: %+v, %v", c, err)
	}
}

func TestParseSpecErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"loss":             `"loss" is not key=value`,
		"loss=":            `"loss=" is not key=value`,
		"loss=abc":         `loss=abc: "abc" is not a rate`,
		"loss=150%":        "outside 0..100%",
		"loss=-1%":         "outside 0..100%",
		"loss=1%,loss=2%":  "loss given twice",
		"jitter=5ms":       `unknown fault "jitter"`,
		"delay=fast":       "delay=fast",
		"delay=-5ms":       "not a positive duration",
		"delay=5ms@200%":   "outside 0..100%",
		"seed=x":           "seed=x",
		"dir=sideways":     `"sideways" is not both, in or out`,
		"loss=5%,,seed=1":  `"" is not key=value`,
		"corrupt=NaN%":     "outside 0..100%",
		"reorder=1e400%":   "is not a rate",
		"dup=0.5,dup=0.5":  "dup given twice",
		"loss=5 %":         "is not a rate",
		"seed=-1":          "seed=-1",
		"delay=5ms@":       "is not a rate",
		"direction=in,x=1": `unknown fault "x"`,
	} {
		_, err := ParseSpec(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%q): %v, want an error containing %q", spec, err, want)
		}
	}
}
