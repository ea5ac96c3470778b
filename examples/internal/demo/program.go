package demo

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Program is an example: what --help says about it, its own flags, and the servers it starts
// on the stack.
type Program struct {
	// Name is the command's name, which starts every line it prints.
	Name string
	// Summary says in one line what the program does.
	Summary string
	// Example is a command line, or several, that --help shows; one per line.
	Example string
	// Flags, if set, registers the program's own flags.
	Flags func(*flag.FlagSet)
	// Check, if set, validates the program's own flags once they are parsed, before anything
	// is created; an error is a bad flag.
	Check func() error
	// Serve starts the program's servers on the stack and returns at once, with a hint for the
	// ready line and a function that stops them (nil if there is nothing to stop).
	Serve func(*Up) (hint string, stop func(), err error)
}

// Exit statuses of Main.
const (
	ExitOK      = 0 // stopped by SIGINT or SIGTERM, or --help
	ExitFailure = 1 // could not start (not Linux, not root, not inside a named namespace, ...) or stop cleanly
	ExitUsage   = 2 // a bad flag or argument; nothing was created
)

// where says what every example needs, for --help.
const where = "It brings the stack up on a TAP device inside a network namespace made with\n" +
	"`ip netns add`, and refuses to run anywhere else: Linux only, as root, addresses in\n" +
	"198.18.0.0/15 only. SIGINT or SIGTERM stops it and prints what the stack did."

// exitHelp documents Main's exit statuses, for --help.
const exitHelp = "Exit status: 0 after SIGINT or SIGTERM; 1 when it cannot start (not Linux, not root,\n" +
	"not inside a namespace made with ip netns add) or stop cleanly; 2 for a bad flag or\n" +
	"argument, which is refused before any device or file is created."

// Main runs an example: parse and check every flag, start the stack, call p.Serve, print the
// ready line, wait for SIGINT/SIGTERM, stop the servers, shut down and print the summary. It
// returns the exit status (ExitOK, ExitFailure, ExitUsage). --help (or -h) prints the help on
// stdout; a bad flag or argument is one line on stderr, and nothing is created.
func Main(p Program, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, on one line; help on request only
	fs.Usage = func() {}
	var f Flags
	f.Register(fs)
	if p.Flags != nil {
		p.Flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			p.help(stdout, fs)
			return ExitOK
		}
		fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", p.Name, err, p.Name)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q: the program takes flags only (see %s --help)\n", p.Name, fs.Arg(0), p.Name)
		return ExitUsage
	}
	if _, _, _, err := f.Validate(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitUsage
	}
	if p.Check != nil {
		if err := p.Check(); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
			return ExitUsage
		}
	}
	if err := tapAvailable(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitFailure
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	up, err := Start(f)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitFailure
	}
	hint, stop, err := p.Serve(up)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		up.abort()
		return ExitFailure
	}
	fmt.Fprintf(stdout, "%s: mtcp %v (%v) on %s, host side %s: ready; %s\n",
		p.Name, up.Stack.Addr(), up.Stack.MAC(), f.TAP, f.HostAddr, hint)
	s := <-sig
	if stop != nil {
		stop()
	}
	summary := up.Summary()
	if err := up.Close(); err != nil {
		fmt.Fprintf(stderr, "%s: %v: shutting down: %v\n", p.Name, s, err)
		return ExitFailure
	}
	fmt.Fprintf(stderr, "%s: %v: stopped: %s\n", p.Name, s, summary)
	return ExitOK
}

// help prints what the program does, its usage, its flags, an example and the exit statuses.
func (p Program) help(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s %s.\n\n%s\n\nUsage: %s [flags]\n\nFlags:\n", p.Name, p.Summary, where, p.Name)
	fs.VisitAll(func(fl *flag.Flag) {
		name, usage := flag.UnquoteUsage(fl)
		line := "  --" + fl.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if fl.DefValue != "" && fl.DefValue != "0" && fl.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintf(w, "\nExample, as root:\n")
	for line := range strings.Lines(strings.TrimRight(p.Example, "\n")) {
		fmt.Fprintf(w, "  %s", line)
	}
	fmt.Fprintf(w, "\n\n%s\n", exitHelp)
}

// tapAvailable says why the examples cannot run here, or nil where they can.
func tapAvailable() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("TAP devices are supported only on Linux, not %s: run the example on Linux, as root, inside a network namespace made with ip netns add", runtime.GOOS)
	}
	return nil
}

// Port is a TCP port flag: 1 to 65535, checked when the flag is parsed.
type Port uint16

// PortVar defines a port flag with a default value.
func PortVar(fs *flag.FlagSet, p *Port, name string, value Port, usage string) {
	*p = value
	fs.Var(p, name, usage)
}

// Set parses a port number.
func (p *Port) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("want a TCP port from 1 to 65535")
	}
	*p = Port(n)
	return nil
}

// String returns the port as a decimal number.
func (p *Port) String() string {
	if p == nil {
		return "0"
	}
	return strconv.Itoa(int(*p))
}
