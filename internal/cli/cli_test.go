package cli

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// CheckFile accepts a file in a folder that takes files, and leaves nothing behind there; it
// refuses a folder, and a file in a folder that does not exist, saying why in a few words.
func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	if err := CheckFile(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("a writable folder: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %v behind", entries)
	}
	for path, want := range map[string]string{
		dir:                                     "a folder, not a file",
		filepath.Join(dir, "missing", "x.html"): "cannot write there: ",
	} {
		if err := CheckFile(path); err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), dir) {
			t.Errorf("CheckFile(%s) = %v, want %q without the path", path, err, want)
		}
	}
}
