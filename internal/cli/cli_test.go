package cli

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
		out  string
	}{
		{[]string{"a", "-o", "x", "b"}, []string{"a", "b"}, "x"},
		{[]string{"-o", "x", "a"}, []string{"a"}, "x"},
		{[]string{"a", "b"}, []string{"a", "b"}, ""},
		{[]string{"-o", "x", "--", "-o", "b"}, []string{"-o", "b"}, "x"},
		{nil, nil, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		out := fs.String("o", "", "")
		got, err := Parse(fs, c.args)
		if err != nil || !slices.Equal(got, c.want) || *out != c.out {
			t.Errorf("Parse(%q) = %q, -o %q, %v; want %q, -o %q", c.args, got, *out, err, c.want, c.out)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := Parse(fs, []string{"a", "--nope"}); err == nil {
		t.Error("an unknown flag after a positional argument is not reported")
	}
}
