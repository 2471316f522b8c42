// Command swarmgen fills a Jami conversation with signed text messages for
// tests/bench/bench-swarm.sh. Signing a commit with RSA-4096 costs a few
// milliseconds; spawning jami-swarm send for each of 10,000 messages would
// add a process start, an account load and a repository open to every one,
// so the history is written here through lib/swarm in one process.
//
// Commit times are -epoch plus the message number (seconds), so a run with
// the same account and flags gives the same commit ids.
//
//	swarmgen -account ACC -init PARENT -n 10000        # prints the new conversation's path
//	swarmgen -account ACC -C CONV -n 1000 -first 10000 # appends messages 10000..10999
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/jamikit/jamikit/lib/swarm"
)

func main() {
	account := flag.String("account", "", "jamid account folder (ring_device.key, ring_device.crt)")
	initIn := flag.String("init", "", "create a new group conversation in this parent folder")
	conv := flag.String("C", "", "append to this existing conversation")
	n := flag.Int("n", 1000, "commits to write (with -init the initial commit counts as one)")
	first := flag.Int("first", 0, "number of the first message (its time is -epoch + first seconds)")
	epoch := flag.Int64("epoch", 1_700_000_000, "time of message 0 (unix seconds)")
	flag.Parse()
	if err := run(*account, *initIn, *conv, *n, *first, *epoch); err != nil {
		fmt.Fprintln(os.Stderr, "swarmgen:", err)
		os.Exit(1)
	}
}

func run(account, initIn, conv string, n, first int, epoch int64) error {
	if account == "" || (initIn == "") == (conv == "") || n < 1 {
		return fmt.Errorf("need -account and exactly one of -init PARENT or -C CONV, and -n >= 1")
	}
	id, err := swarm.LoadIdentity(account)
	if err != nil {
		return err
	}
	at := func(i int) time.Time { return time.Unix(epoch+int64(i), 0).UTC() }
	var r *swarm.Repo
	i := first
	if initIn != "" {
		if r, err = swarm.CreateConversation(initIn, id, swarm.NewInitial(swarm.ModeInvitesOnly, ""), at(i)); err != nil {
			return err
		}
		i++
		n--
		conv = r.Path
	}
	// Append resets the work tree after every commit, which costs more than
	// the signature here; write through the bare view of the same .git and
	// bring the work tree up once at the end.
	g, err := git.PlainOpen(filepath.Join(conv, ".git"))
	if err != nil {
		return err
	}
	r = swarm.Wrap(g)
	for end := i + n; i < end; i++ {
		if _, err := r.Send(id, swarm.NewText(fmt.Sprintf("benchmark message %d", i), ""), at(i)); err != nil {
			return fmt.Errorf("%s: message %d: %w", r.Path, i, err)
		}
	}
	if err := checkout(conv); err != nil {
		return err
	}
	abs, err := filepath.Abs(conv)
	if err != nil {
		return err
	}
	fmt.Println(abs)
	return nil
}

// checkout resets index and work tree to HEAD, as jamid expects them.
func checkout(dir string) error {
	g, err := git.PlainOpen(dir)
	if err != nil {
		return err
	}
	wt, err := g.Worktree()
	if err != nil {
		return err
	}
	head, err := g.Head()
	if err != nil {
		return err
	}
	return wt.Reset(&git.ResetOptions{Commit: head.Hash(), Mode: git.HardReset})
}
