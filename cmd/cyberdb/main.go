// Command cyberdb inspects and edits a CyberDB store from the shell.
//
//	cyberdb -dir DIR tables                 list the tables
//	cyberdb -dir DIR get TABLE [KEY|INDEX]  print a table, a key or an element as JSON
//	cyberdb -dir DIR set TABLE KEY JSON     store a JSON value under a dict key
//	cyberdb -dir DIR incr TABLE KEY [N]     add N (default 1) to a dict counter
//	cyberdb -dir DIR save FILE              write a backup file
//	cyberdb -dir DIR load FILE              replace every table with a backup file
//	cyberdb inspect FILE                    summarise a backup file without opening a store
//
// It attaches to the running leader of DIR, or leads the store itself for
// the duration of the command when no process has it open.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func main() {
	dir := flag.String("dir", ".", "the store's directory")
	timeout := flag.Duration("timeout", 10*time.Second, "how long a command may take")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() == 0 {
		usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *dir, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, errUsage) {
			usage()
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: cyberdb [-dir DIR] [-timeout D] COMMAND [ARGS]

commands:
  tables                 list the tables
  get TABLE [KEY|INDEX]  print a table, a key or an element as JSON
  set TABLE KEY JSON     store a JSON value under a dict key
  incr TABLE KEY [N]     add N (default 1) to a dict counter
  save FILE              write a backup file
  load FILE              replace every table with a backup file
  inspect FILE           summarise a backup file without opening a store`)
	flag.PrintDefaults()
}

var errUsage = errors.New("cyberdb: wrong arguments")

// run executes one command against the store in dir.
func run(ctx context.Context, dir string, args []string, out io.Writer) error {
	if args[0] == "inspect" {
		if len(args) != 2 {
			return errUsage
		}
		return inspect(args[1], out)
	}
	cmd, ok := commands[args[0]]
	if !ok || len(args)-1 < cmd.min || len(args)-1 > cmd.max {
		return errUsage
	}
	opts := cyberdb.DefaultOptions()
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := cyberdb.Open(dir, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	return cmd.run(ctx, db, args[1:], out)
}
