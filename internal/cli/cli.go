// Package cli holds what mtcp's commands share on their command lines.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Parse parses args with fs, taking flags and positional arguments in any order
// ("run scenarios -o out" as well as "run -o out scenarios"), and returns the positional
// ones. A "--" ends the flags as usual. The error is fs.Parse's (flag.ErrHelp for -h).
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil // after "--" everything is positional
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// CheckDir makes sure files can be created in dir, by creating one and removing it, so that
// a command refuses an output folder before it runs rather than after. The error says why
// without repeating the path ("permission denied").
func CheckDir(dir string) error {
	f, err := os.CreateTemp(dir, ".mtcp-probe-*")
	if err != nil {
		return fmt.Errorf("cannot write there: %w", bare(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// CheckFile makes sure a file can be written at path: path is not a folder, and its folder
// takes files (CheckDir).
func CheckFile(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errors.New("a folder, not a file")
	}
	return CheckDir(filepath.Dir(path))
}

// bare drops the path a *fs.PathError repeats.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
