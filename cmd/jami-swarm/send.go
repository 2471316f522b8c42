package main

import (
	"fmt"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
	ucli "github.com/urfave/cli/v2"
)

func styleFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "style", Value: "2023",
		Usage: "how edits are written: 2023 (application/edited-message, shown as an edit by jamid 2023 and current) or current (the original's type plus \"edit\"; jamid 2023 shows it as a new message)"}
}

func editStyle(c *ucli.Context) (swarm.EditStyle, error) {
	switch c.String("style") {
	case "2023":
		return swarm.Edit2023, nil
	case "current":
		return swarm.EditCurrent, nil
	}
	return 0, cli.UsageErrorf("--style %q: want 2023 or current", c.String("style"))
}

func sendCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "send",
		Usage:     "commit a text message",
		ArgsUsage: "TEXT|-|@FILE",
		Description: "Commits {\"body\":TEXT,\"type\":\"text/plain\"} (with \"reply-to\" for --reply-to), signed by the\n" +
			"account's device; the device certificate rides along with the device's first commit, as\n" +
			"jamid does. TEXT - reads stdin, @FILE a file (one trailing newline dropped). Prints the\n" +
			"commit id.\n\n" +
			"JSON fields: commit, conversation, type.\n\n" +
			"Examples:\n" +
			"  jami-swarm send --account alice -C conv 'hello'\n" +
			"  fortune | jami-swarm send --account alice -C conv -\n" +
			"  jami-swarm send --account alice -C conv --reply-to 3f2a 'indeed'",
		Flags: writeFlags(&ucli.StringFlag{Name: "reply-to", Usage: "reply to the commit `ID` (a prefix of 4+ hex digits is enough)"}),
		Action: func(c *ucli.Context) error {
			if err := cli.NArgs(c, 1, 1); err != nil {
				return err
			}
			body, err := textArg(c, c.Args().First())
			if err != nil {
				return err
			}
			w, err := openWrite(c)
			if err != nil {
				return err
			}
			defer w.close()
			var commit *swarm.Commit
			if to := c.String("reply-to"); to != "" {
				target, err := resolve(w.r, to)
				if err != nil {
					return err
				}
				commit, err = w.r.Reply(w.a.id, target, body, now())
				if err != nil {
					return fmt.Errorf("%s: %w", w.r.Path, err)
				}
			} else if commit, err = w.r.Send(w.a.id, swarm.NewText(body, ""), now()); err != nil {
				return fmt.Errorf("%s: %w", w.r.Path, err)
			}
			return w.printCommit(commit, "a message")
		},
	}
}

// targetCommand is a command on an existing message: ID then an argument.
func targetCommand(name, usage, argsUsage, description string, nargs int, extra []ucli.Flag,
	run func(w *writer, target plumbing.Hash, args []string) (*swarm.Commit, string, error)) *ucli.Command {
	return &ucli.Command{
		Name:        name,
		Usage:       usage,
		ArgsUsage:   argsUsage,
		Description: description,
		Flags:       writeFlags(extra...),
		Action: func(c *ucli.Context) error {
			if err := cli.NArgs(c, nargs, nargs); err != nil {
				return err
			}
			args := c.Args().Slice()
			for i := 1; i < len(args); i++ {
				s, err := textArg(c, args[i])
				if err != nil {
					return err
				}
				args[i] = s
			}
			w, err := openWrite(c)
			if err != nil {
				return err
			}
			defer w.close()
			target, err := resolve(w.r, args[0])
			if err != nil {
				return err
			}
			commit, what, err := run(w, target, args[1:])
			if err != nil {
				return fmt.Errorf("%s: %w", w.r.Path, err)
			}
			return w.printCommit(commit, what)
		},
	}
}

func replyCommand() *ucli.Command {
	return targetCommand("reply", "commit a text message replying to another", "ID TEXT|-|@FILE",
		"Commits {\"body\":TEXT,\"reply-to\":ID,\"type\":\"text/plain\"}: what jamid's sendMessage with a\n"+
			"reply id writes. ID may be a prefix of 4 or more hex digits. Prints the commit id.\n\n"+
			"JSON fields: commit, conversation, type.\n\n"+
			"Examples:\n"+
			"  jami-swarm reply --account bob -C conv 3f2a9c 'me too'\n"+
			"  jami-swarm reply --account bob -C conv 3f2a9c @answer.txt",
		2, nil, func(w *writer, target plumbing.Hash, args []string) (*swarm.Commit, string, error) {
			c, err := w.r.Reply(w.a.id, target, args[0], now())
			return c, "a reply", err
		})
}

func editCommand() *ucli.Command {
	return targetCommand("edit", "replace the text of one of your messages", "ID TEXT|-|@FILE",
		"Commits an edit of the account's own text message ID (an edit of an edit edits the original,\n"+
			"as jamid does). --style 2023 (default) writes application/edited-message, which jamid 2023 and\n"+
			"current both show as an edit; --style current writes current upstream's form. Prints the commit id.\n\n"+
			"JSON fields: commit, conversation, type.\n\n"+
			"Examples:\n"+
			"  jami-swarm edit --account alice -C conv 3f2a9c 'hello, world'\n"+
			"  jami-swarm edit --account alice -C conv --style current 3f2a9c 'hello again'",
		2, []ucli.Flag{styleFlag()}, func(w *writer, target plumbing.Hash, args []string) (*swarm.Commit, string, error) {
			style, err := editStyle(w.c)
			if err != nil {
				return nil, "", err
			}
			if args[0] == "" {
				return nil, "", cli.UsageErrorf("edit: empty text (use jami-swarm delete)")
			}
			c, err := w.r.Edit(w.a.id, target, args[0], style, now())
			return c, "an edit", err
		})
}

func reactCommand() *ucli.Command {
	return targetCommand("react", "commit a reaction (an emoji) to a message", "ID REACTION",
		"Commits {\"body\":REACTION,\"react-to\":ID,\"type\":\"text/plain\"}, jamid's reaction. Remove it\n"+
			"with jami-swarm delete on the reaction's commit. Prints the commit id.\n\n"+
			"JSON fields: commit, conversation, type.\n\n"+
			"Examples:\n"+
			"  jami-swarm react --account bob -C conv 3f2a9c 👍",
		2, nil, func(w *writer, target plumbing.Hash, args []string) (*swarm.Commit, string, error) {
			c, err := w.r.React(w.a.id, target, args[0], now())
			return c, "a reaction", err
		})
}

func deleteCommand() *ucli.Command {
	return targetCommand("delete", "delete one of your messages, reactions or files", "ID",
		"Deletes the account's own message ID: a text message or a reaction by an edit with an empty\n"+
			"body (jamid's deletion), a file by current upstream's file deletion (jamid 2023 knows no file\n"+
			"deletion and shows that commit as a file without content). Prints the commit id.\n\n"+
			"JSON fields: commit, conversation, type.\n\n"+
			"Examples:\n"+
			"  jami-swarm delete --account alice -C conv 3f2a9c",
		1, []ucli.Flag{styleFlag()}, func(w *writer, target plumbing.Hash, _ []string) (*swarm.Commit, string, error) {
			style, err := editStyle(w.c)
			if err != nil {
				return nil, "", err
			}
			c, err := w.r.Delete(w.a.id, target, style, now())
			return c, "a deletion", err
		})
}

type fileResult struct {
	Commit       string `json:"commit"`
	Conversation string `json:"conversation"`
	Type         string `json:"type"`
	FileID       string `json:"file_id"`
	Path         string `json:"path"`
	Size         int    `json:"size"`
}

func sendFileCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "send-file",
		Usage:     "commit a data-transfer message for a file and keep the file beside the repository",
		ArgsUsage: "PATH|-",
		Description: "Commits jamid's data-transfer message (displayName, sha3sum = SHA3-512, tid = random in\n" +
			"[1, 2^53], totalSize) and copies the file to conversation_data/<conversation>/<file id> — the\n" +
			"account folder's when the repository is <account>/conversations/<id>, else beside the repository —\n" +
			"where jamid keeps transferred files. The bytes never enter the repository; peers fetch them out\n" +
			"of band. PATH - reads stdin (then --name is required). Prints the commit id.\n\n" +
			"JSON fields: commit, conversation, type, file_id, path, size.\n\n" +
			"Examples:\n" +
			"  jami-swarm send-file --account alice -C conv photo.jpg\n" +
			"  tar c notes | jami-swarm send-file --account alice -C conv --name notes.tar -",
		Flags: writeFlags(
			&ucli.StringFlag{Name: "name", Usage: "file `NAME` shown to peers (default: the base name of PATH)"},
			&ucli.StringFlag{Name: "reply-to", Usage: "reply to the commit `ID`"},
		),
		Action: runSendFile,
	}
}

func runSendFile(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, 1); err != nil {
		return err
	}
	path := c.Args().First()
	name := c.String("name")
	if name == "" {
		if path == "-" {
			return cli.UsageErrorf("send-file: --name is required for stdin")
		}
		name = filepath.Base(path)
	}
	_, content, err := cli.ReadInput(c, path, maxFile)
	if err != nil {
		return err
	}
	w, err := openWrite(c)
	if err != nil {
		return err
	}
	defer w.close()
	replyTo := ""
	if to := c.String("reply-to"); to != "" {
		target, err := resolve(w.r, to)
		if err != nil {
			return err
		}
		replyTo = target.String()
	}
	if _, err := w.r.DataDir(); err != nil {
		return fmt.Errorf("%s: %w", w.r.Path, err)
	}
	commit, fileID, err := w.r.SendFile(w.a.id, content, name, replyTo, now())
	if err != nil {
		return fmt.Errorf("%s: %w", w.r.Path, err)
	}
	stored, err := w.r.StoreFile(fileID, content)
	if err != nil {
		return fmt.Errorf("committed %s but could not keep the file: %w", commit.ID, err)
	}
	res := fileResult{Commit: commit.ID.String(), Conversation: w.conv.String(), Type: swarm.TypeDataTransfer, FileID: fileID, Path: stored, Size: len(content)}
	return cli.PrintResult(c, res, func() {
		cli.Printf(c, "%s\n", commit.ID)
		cli.Infof(c, "%s: committed file %s (%d bytes), kept as %s", w.r.Path, name, len(content), stored)
	})
}
