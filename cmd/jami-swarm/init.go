package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
	ucli "github.com/urfave/cli/v2"
)

func initCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "init",
		Usage:     "start a new conversation: initial commit signed by the account's device",
		ArgsUsage: "[DIR]",
		Description: "Creates the conversation as jamid's startConversation does: a repository built in\n" +
			"DIR/<random number>, the initial commit (admins/<you>.crt, devices/<device>.crt and, for a\n" +
			"one-to-one, invited/<peer>), then renamed to DIR/<conversation ID>. DIR defaults to the account\n" +
			"folder's conversations/ (jamid loads it there at its next start) and must be given when\n" +
			"--account is an archive. --title and --description add a profile update commit.\n" +
			"Prints the conversation ID.\n\n" +
			"Modes: invites-only (default, jamid's group), one-to-one (needs --invited URI),\n" +
			"admin-invites-only, public; or their numbers 0-3.\n\n" +
			"JSON fields: conversation, path, mode, head.\n\n" +
			"Examples:\n" +
			"  jami-swarm init --account ~/.local/share/jami/abc123 --title 'Book club'\n" +
			"  jami-swarm init --account alice --mode one-to-one --invited 9e25… convs/\n" +
			"  cd $(jami-swarm init --account alice --json . | jq -r .path)",
		Flags: []ucli.Flag{
			cli.AccountFlag(), cli.PasswordFileFlag(),
			&ucli.StringFlag{Name: "mode", Value: "invites-only", Usage: "conversation `MODE`: invites-only, one-to-one, admin-invites-only, public (or 0-3)"},
			&ucli.StringFlag{Name: "invited", Usage: "the peer `URI` of a one-to-one conversation"},
			&ucli.StringFlag{Name: "title", Usage: "conversation `TITLE` (profile.vcf FN)"},
			&ucli.StringFlag{Name: "description", Usage: "conversation `TEXT` (profile.vcf DESCRIPTION)"},
			cli.JSONFlag(),
		},
		Action: runInit,
	}
}

// parseMode reads --mode.
func parseMode(s string) (swarm.Mode, error) {
	switch strings.ToLower(s) {
	case "invites-only", "group":
		return swarm.ModeInvitesOnly, nil
	case "one-to-one", "1:1":
		return swarm.ModeOneToOne, nil
	case "admin-invites-only":
		return swarm.ModeAdminInvitesOnly, nil
	case "public":
		return swarm.ModePublic, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 3 {
		return swarm.Mode(n), nil
	}
	return 0, cli.UsageErrorf("--mode %q: want invites-only, one-to-one, admin-invites-only, public or 0-3", s)
}

type initResult struct {
	Conversation string `json:"conversation"`
	Path         string `json:"path"`
	Mode         int    `json:"mode"`
	Head         string `json:"head"`
}

func runInit(c *ucli.Context) error {
	if err := cli.NArgs(c, 0, 1); err != nil {
		return err
	}
	mode, err := parseMode(c.String("mode"))
	if err != nil {
		return err
	}
	invited := strings.ToLower(c.String("invited"))
	switch {
	case mode == swarm.ModeOneToOne && invited == "":
		return cli.UsageErrorf("init: a one-to-one conversation needs --invited URI")
	case mode != swarm.ModeOneToOne && invited != "":
		return cli.UsageErrorf("init: --invited is for one-to-one conversations (invite members with jami-swarm invite)")
	case invited != "" && !isConvID(invited):
		return cli.UsageErrorf("init: --invited %q is not a Jami ID (40 hex characters)", invited)
	}
	changes := map[string]string{}
	for flag, key := range map[string]string{"title": swarm.ProfileTitle, "description": swarm.ProfileDescription} {
		if c.IsSet(flag) {
			v := c.String(flag)
			if strings.ContainsAny(v, "\r\n") {
				return cli.UsageErrorf("init: --%s: line breaks cannot be stored in profile.vcf", flag)
			}
			changes[key] = v
		}
	}
	if c.Args().First() == "" && isFile(c.String("account")) {
		return cli.UsageErrorf("init: give the folder DIR to create the conversation in (the account is not a folder)")
	}
	a, err := loadAccount(c)
	if err != nil {
		return err
	}
	parent := c.Args().First()
	if parent == "" {
		parent = a.conversationsDir()
	}
	r, err := swarm.CreateConversation(parent, a.id, swarm.NewInitial(mode, invited), now())
	if err != nil {
		return fmt.Errorf("%s: %w", parent, err)
	}
	if len(changes) > 0 {
		if _, err := r.SetProfile(a.id, changes, now()); err != nil {
			return fmt.Errorf("%s: %w", r.Path, err)
		}
	}
	conv, _ := r.ConversationID()
	head, _ := r.Head()
	abs, _ := filepath.Abs(r.Path)
	res := initResult{Conversation: conv.String(), Path: abs, Mode: int(mode), Head: head.String()}
	return cli.PrintResult(c, res, func() {
		cli.Printf(c, "%s\n", conv)
		cli.Infof(c, "created %s (%s)", r.Path, mode)
	})
}
