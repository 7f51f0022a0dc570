package deploycheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/cli"
)

// Binary is what the ordersaga binary offers, as its command table and
// its API document say.
type Binary struct {
	// Commands is its command table.
	Commands []Command
	// Env holds the environment variables its commands read.
	Env map[string]bool
	// APIPaths are the paths of the REST API its processes serve (the
	// OpenAPI document of shared/httpapi); nil skips the checks of what
	// fronts the API. APIErr says why they could not be read.
	APIPaths []string
	APIErr   error
}

// Command is a command of the binary, or a group of subcommands.
type Command struct {
	Name string
	Sub  []Command
}

// ReadBinary returns the commands of the ordersaga binary and the
// environment variables they read, from its command table (deploy/cli):
// each command's flags as it registers them and the other variables it
// declares; and the paths of its REST API, from the OpenAPI document it
// serves.
func ReadBinary() Binary {
	bin := binaryOf(cli.Commands())
	bin.APIPaths, bin.APIErr = readAPIPaths()
	return bin
}

// binaryOf returns the binary whose command table is table.
func binaryOf(table []cli.Command) Binary {
	bin := Binary{Commands: commandsOf(table), Env: map[string]bool{}}
	for _, l := range cli.Leaves(table) {
		_, env := l.Settings()
		for _, name := range env {
			bin.Env[name] = true
		}
	}
	return bin
}

// commandsOf returns the names of table's commands and subcommands.
func commandsOf(table []cli.Command) []Command {
	out := make([]Command, 0, len(table))
	for _, c := range table {
		cmd := Command{Name: c.Name}
		if c.Sub != nil {
			cmd.Sub = commandsOf(c.Sub)
		}
		out = append(out, cmd)
	}
	return out
}

// Resolve checks that args start with a command of b (and, for a group,
// one of its subcommands) and returns the command path they name.
func (b Binary) Resolve(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no command given (the image would run its default command)")
	}
	table := b.Commands
	var cmdPath []string
	for _, arg := range args {
		i := slices.IndexFunc(table, func(c Command) bool { return c.Name == arg })
		if i < 0 {
			names := make([]string, len(table))
			for j, c := range table {
				names[j] = c.Name
			}
			return nil, fmt.Errorf("ordersaga %s: no such command (commands: %s)",
				strings.Join(append(cmdPath, arg), " "), strings.Join(names, ", "))
		}
		cmdPath = append(cmdPath, arg)
		if table[i].Sub == nil {
			return cmdPath, nil
		}
		table = table[i].Sub
	}
	return nil, fmt.Errorf("ordersaga %s: a subcommand is missing", strings.Join(cmdPath, " "))
}

// commandDir is the package of the ordersaga binary.
const commandDir = "deploy/cmd/ordersaga"
