// Package cli holds what mtcp's commands share on their command lines.
package cli

import "flag"

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
