package main

import (
	"fmt"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
	ucli "github.com/urfave/cli/v2"
)

func rulesFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "rules", Value: "current",
		Usage: "validation `RULES`: 2023 (jamid 13.7.0, Debian bookworm) or current (upstream: signatures checked, stricter member and merge rules)"}
}

func lenientFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "lenient",
		Usage: "check only what jamid itself checks: no root signature, no X.509 chain, no file check on edits, no author check on joins and leaves, binary files unseen"}
}

// validateOptions reads --rules and --lenient.
func validateOptions(c *ucli.Context) (swarm.ValidateOptions, error) {
	opts := swarm.ValidateOptions{Strict: !c.Bool("lenient")}
	switch c.String("rules") {
	case "2023":
		opts.Rules = swarm.Rules2023
	case "current":
		opts.Rules = swarm.RulesCurrent
	default:
		return opts, cli.UsageErrorf("--rules %q: want 2023 or current", c.String("rules"))
	}
	return opts, nil
}

func describeRules(o swarm.ValidateOptions) string {
	if o.Strict {
		return o.Rules.String() + " rules, strict"
	}
	return o.Rules.String() + " rules, as jamid"
}

type verifyResult struct {
	Conversation string `json:"conversation"`
	Head         string `json:"head"`
	Commits      int    `json:"commits"`
	Rules        string `json:"rules"`
	Strict       bool   `json:"strict"`
}

func verifyCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "verify",
		Usage: "check every commit of the history: signatures, certificate chains, jamid's rules",
		Description: "Replays over the whole history what a device does when it clones the conversation (jamid's\n" +
			"validCommits in clone order, newest first): the initial commit, every commit's author and its\n" +
			"certificates, the files each kind of commit may change, votes, bans, profile updates, edits and\n" +
			"merges, under jamid 2023's or current upstream's rules. By default it also checks what jamid\n" +
			"leaves out: every signature (the root's too), each device certificate's chain to its account\n" +
			"and CA, the files of edits, that joins and leaves are made by the member, and binary files\n" +
			"(invisible to jamid's rules); --lenient checks only what jamid checks.\n" +
			"Exits 1 naming the first offending commit and the rule it breaks.\n\n" +
			"JSON fields: conversation, head, commits, rules, strict.\n\n" +
			"Examples:\n" +
			"  jami-swarm verify -C conv\n" +
			"  jami-swarm verify -C conv --rules 2023 --lenient",
		Flags: readFlags(rulesFlag(), lenientFlag(), cli.JSONFlag()),
		Action: func(c *ucli.Context) error {
			if err := cli.NArgs(c, 0, 0); err != nil {
				return err
			}
			opts, err := validateOptions(c)
			if err != nil {
				return err
			}
			r, err := openRead(c)
			if err != nil {
				return err
			}
			conv, err := r.ConversationID()
			if err != nil {
				return fmt.Errorf("%s: %w", r.Path, err)
			}
			head, err := r.Head()
			if err != nil {
				return fmt.Errorf("%s: %w", r.Path, err)
			}
			order, err := r.WalkOrder(head)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Path, err)
			}
			opts.ConversationID = conv
			if err := r.ValidateClone(opts); err != nil {
				return fmt.Errorf("%s: %w", r.Path, err)
			}
			res := verifyResult{Conversation: conv.String(), Head: head.String(), Commits: len(order), Rules: opts.Rules.String(), Strict: opts.Strict}
			return cli.PrintResult(c, res, func() {
				cli.Printf(c, "ok: %d commit(s) of %s pass (%s)\n", len(order), conv, describeRules(opts))
			})
		},
	}
}
