package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/jamikit/jamikit/lib/cli"
	"github.com/jamikit/jamikit/lib/swarm"
	ucli "github.com/urfave/cli/v2"
)

type memberInfo struct {
	URI     string   `json:"uri"`
	Role    string   `json:"role"`
	Devices []string `json:"devices"`
}

type membersResult struct {
	Conversation string       `json:"conversation"`
	Members      []memberInfo `json:"members"`
}

func membersCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "members",
		Usage: "list the accounts of the conversation and their roles",
		Description: "Lists every account found in admins/, members/, invited/, banned/members/ and\n" +
			"banned/invited/ (first role wins, as jamid's member list), and for one-to-ones the initial\n" +
			"member who left; with the devices whose certificates the repository holds.\n" +
			"Roles: admin, member, invited, banned, left.\n\n" +
			"JSON fields: conversation, members (uri, role, devices).\n\n" +
			"Examples:\n" +
			"  jami-swarm members -C conv\n" +
			"  jami-swarm members -C conv --json | jq -r '.members[] | select(.role==\"admin\") | .uri'",
		Flags: readFlags(cli.JSONFlag()),
		Action: func(c *ucli.Context) error {
			if err := cli.NArgs(c, 0, 0); err != nil {
				return err
			}
			r, err := openRead(c)
			if err != nil {
				return err
			}
			res, err := members(r)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Path, err)
			}
			return cli.PrintResult(c, *res, func() {
				for _, m := range res.Members {
					cli.Printf(c, "%s %-7s %d device(s)\n", m.URI, m.Role, len(m.Devices))
				}
			})
		},
	}
}

func members(r *swarm.Repo) (*membersResult, error) {
	conv, err := r.ConversationID()
	if err != nil {
		return nil, err
	}
	mode, err := r.Mode(conv, true)
	if err != nil {
		return nil, err
	}
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	ms, err := r.MembersAt(conv, mode, head)
	if err != nil {
		return nil, err
	}
	hc, err := r.Commit(head)
	if err != nil {
		return nil, err
	}
	devs, err := r.Devices(hc.Tree)
	if err != nil {
		return nil, err
	}
	res := &membersResult{Conversation: conv.String(), Members: []memberInfo{}}
	for _, m := range ms {
		d := append([]string{}, devs[m.URI]...)
		sort.Strings(d)
		res.Members = append(res.Members, memberInfo{URI: m.URI, Role: string(m.Role), Devices: d})
	}
	return res, nil
}

type infoResult struct {
	Conversation string `json:"conversation"`
	Path         string `json:"path"`
	Mode         int    `json:"mode"`
	ModeName     string `json:"mode_name"`
	Head         string `json:"head"`
	Commits      int    `json:"commits"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Avatar       string `json:"avatar"`
	RdvAccount   string `json:"rdv_account"`
	RdvDevice    string `json:"rdv_device"`
	Admins       int    `json:"admins"`
	Members      int    `json:"members"`
	Invited      int    `json:"invited"`
	Banned       int    `json:"banned"`
	DataDir      string `json:"data_dir"`
}

func infoCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "info",
		Usage: "show the conversation: id, mode, profile, head, member counts",
		Description: "Prints what jamid's conversationInfos shows (the profile.vcf fields and the mode) with the\n" +
			"head commit, the number of commits and of accounts per role, and where transferred files are kept.\n\n" +
			"JSON fields: conversation, path, mode, mode_name, head, commits, title, description, avatar,\n" +
			"rdv_account, rdv_device, admins, members, invited, banned, data_dir.\n\n" +
			"Examples:\n" +
			"  jami-swarm info -C conv\n" +
			"  jami-swarm info -C conv --field title",
		Flags: readFlags(cli.JSONFlag(), cli.FieldFlag()),
		Action: func(c *ucli.Context) error {
			if err := cli.NArgs(c, 0, 0); err != nil {
				return err
			}
			r, err := openRead(c)
			if err != nil {
				return err
			}
			res, err := info(r)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Path, err)
			}
			return cli.PrintResult(c, *res, func() {
				cli.PrintFields(c, []cli.Field{
					{"Conversation", res.Conversation},
					{"Path", res.Path},
					{"Mode", fmt.Sprintf("%d (%s)", res.Mode, res.ModeName)},
					{"Head", res.Head},
					{"Commits", strconv.Itoa(res.Commits)},
					{"Title", res.Title},
					{"Description", res.Description},
					{"Avatar", abbreviate(res.Avatar)},
					{"Accounts", fmt.Sprintf("%d admin(s), %d member(s), %d invited, %d banned", res.Admins, res.Members, res.Invited, res.Banned)},
					{"Files", res.DataDir},
				})
			})
		},
	}
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

func info(r *swarm.Repo) (*infoResult, error) {
	conv, err := r.ConversationID()
	if err != nil {
		return nil, err
	}
	mode, err := r.Mode(conv, true)
	if err != nil {
		return nil, err
	}
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	order, err := r.WalkOrder(head)
	if err != nil {
		return nil, err
	}
	prof, err := r.Profile()
	if err != nil {
		return nil, err
	}
	ms, err := r.MembersAt(conv, mode, head)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(r.Path)
	dd, _ := r.DataDir()
	res := &infoResult{Conversation: conv.String(), Path: abs, Mode: int(mode), ModeName: mode.String(), Head: head.String(),
		Commits: len(order), Title: prof[swarm.ProfileTitle], Description: prof[swarm.ProfileDescription],
		Avatar: prof[swarm.ProfileAvatar], RdvAccount: prof[swarm.ProfileRdvAccount], RdvDevice: prof[swarm.ProfileRdvDevice], DataDir: dd}
	for _, m := range ms {
		switch m.Role {
		case swarm.RoleAdmin:
			res.Admins++
		case swarm.RoleMember:
			res.Members++
		case swarm.RoleInvited:
			res.Invited++
		case swarm.RoleBanned:
			res.Banned++
		}
	}
	return res, nil
}

func profileCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "profile",
		Usage: "show or change the conversation profile (profile.vcf)",
		Description: "The conversation profile is profile.vcf, written byte for byte as jamid's\n" +
			"updateConversationInfos writes it.\n\n" +
			"Examples:\n" +
			"  jami-swarm profile show -C conv\n" +
			"  jami-swarm profile set --account alice -C conv title='Book club' description='Tuesdays'",
		Subcommands: []*ucli.Command{
			{
				Name:      "set",
				Usage:     "change profile fields (admins only)",
				ArgsUsage: "KEY=VALUE…",
				Description: "Merges the given fields into profile.vcf and commits {\"type\":\"application/update-profile\"}.\n" +
					"KEY is title, description, avatar (base64 image), rdvAccount or rdvDevice; VALUE @FILE reads a\n" +
					"file (e.g. avatar=@photo.b64), an empty VALUE empties the field. Only admins may change the\n" +
					"profile, and not with their device's first commit (jamid 2023 would reject it). Prints the\n" +
					"commit id.\n\n" +
					"JSON fields: commit, conversation, type.\n\n" +
					"Examples:\n" +
					"  jami-swarm profile set --account alice -C conv title='Book club'\n" +
					"  jami-swarm profile set --account alice -C conv avatar=@avatar.b64 description=",
				Flags:  writeFlags(),
				Action: runProfileSet,
			},
			{
				Name:  "show",
				Usage: "print the profile fields",
				Description: "Prints the fields of profile.vcf as jamid reads them (KEY=VALUE lines; --json an object).\n\n" +
					"Examples:\n" +
					"  jami-swarm profile show -C conv\n" +
					"  jami-swarm profile show -C conv --json | jq -r .title",
				Flags: readFlags(cli.JSONFlag()),
				Action: func(c *ucli.Context) error {
					if err := cli.NArgs(c, 0, 0); err != nil {
						return err
					}
					r, err := openRead(c)
					if err != nil {
						return err
					}
					prof, err := r.Profile()
					if err != nil {
						return fmt.Errorf("%s: %w", r.Path, err)
					}
					if cli.JSON(c) {
						return cli.PrintJSON(c, prof)
					}
					keys := make([]string, 0, len(prof))
					for k := range prof {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					for _, k := range keys {
						cli.Printf(c, "%s=%s\n", k, prof[k])
					}
					return nil
				},
			},
		},
	}
}

func runProfileSet(c *ucli.Context) error {
	if err := cli.NArgs(c, 1, -1); err != nil {
		return err
	}
	changes := map[string]string{}
	for _, kv := range c.Args().Slice() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return cli.UsageErrorf("profile set: %q: want KEY=VALUE", kv)
		}
		if strings.HasPrefix(v, "@") {
			s, err := textArg(c, v)
			if err != nil {
				return err
			}
			v = s
		}
		changes[k] = v
	}
	w, err := openWrite(c)
	if err != nil {
		return err
	}
	defer w.close()
	commit, err := w.r.SetProfile(w.a.id, changes, now())
	if err != nil {
		return fmt.Errorf("%s: %w", w.r.Path, err)
	}
	return w.printCommit(commit, "a profile update")
}

type inviteResult struct {
	Commit       string     `json:"commit"`
	Conversation string     `json:"conversation"`
	Type         string     `json:"type"`
	Invitation   invitation `json:"invitation"`
}

// invitation is the body of jamid's application/invite+json message.
type invitation struct {
	ConversationID string            `json:"conversationId"`
	Metadatas      map[string]string `json:"metadatas"`
}

func inviteCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "invite",
		Usage:     "invite an account: commit the member add",
		ArgsUsage: "URI",
		Description: "Commits {\"action\":\"add\",\"type\":\"member\",\"uri\":URI} with an empty invited/URI, as jamid's\n" +
			"addConversationMember does. Any member may invite; in a one-to-one only the peer can be\n" +
			"re-added; admins, members, invited and banned accounts are refused. The invitee then clones\n" +
			"the conversation and joins. With --json the result carries the application/invite+json body\n" +
			"jamid would send the invitee (invitation). Prints the commit id.\n\n" +
			"JSON fields: commit, conversation, type, invitation (conversationId, metadatas).\n\n" +
			"Examples:\n" +
			"  jami-swarm invite --account alice -C conv 9e25c1…\n" +
			"  jami-swarm invite --account alice -C conv --json 9e25c1… | jq -c .invitation",
		Flags: writeFlags(),
		Action: func(c *ucli.Context) error {
			if err := cli.NArgs(c, 1, 1); err != nil {
				return err
			}
			uri := strings.ToLower(c.Args().First())
			w, err := openWrite(c)
			if err != nil {
				return err
			}
			defer w.close()
			commit, err := w.r.Invite(w.a.id, uri, now())
			if err != nil {
				return fmt.Errorf("%s: %w", w.r.Path, err)
			}
			w.membershipChanged()
			inv, err := invitationOf(w.r, w.conv)
			if err != nil {
				return err
			}
			res := inviteResult{Commit: commit.ID.String(), Conversation: w.conv.String(), Type: swarm.TypeMember, Invitation: inv}
			return cli.PrintResult(c, res, func() {
				cli.Printf(c, "%s\n", commit.ID)
				cli.Infof(c, "%s: invited %s", w.r.Path, uri)
			})
		},
	}
}

// invitationOf is jamid's generateInvitation: the conversation id and
// infos() (profile fields and the mode).
func invitationOf(r *swarm.Repo, conv plumbing.Hash) (invitation, error) {
	prof, err := r.Profile()
	if err != nil {
		return invitation{}, err
	}
	mode, err := r.Mode(conv, true)
	if err != nil {
		return invitation{}, err
	}
	prof["mode"] = strconv.Itoa(int(mode))
	return invitation{ConversationID: conv.String(), Metadatas: prof}, nil
}

func joinCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "join",
		Usage: "accept an invitation: commit the member join",
		Description: "Commits {\"action\":\"join\",\"type\":\"member\",\"uri\":<you>}: invited/<you> removed,\n" +
			"members/<you>.crt (account certificate chain) and the device certificate added, as jamid does\n" +
			"after cloning an invitation (clone joins by itself). Prints the commit id.\n\n" +
			"JSON fields: commit, conversation, type.\n\n" +
			"Examples:\n" +
			"  jami-swarm join --account bob -C conv",
		Flags:  writeFlags(),
		Action: selfMembershipAction((*swarm.Repo).Join, "the join"),
	}
}

func leaveCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "leave",
		Usage: "leave a group conversation: commit the member remove",
		Description: "Commits {\"action\":\"remove\",\"type\":\"member\",\"uri\":<you>}: your admins/ or members/\n" +
			"certificate and your devices' certificates deleted, as jamid's removeConversation does for a\n" +
			"group (one-to-ones are not left in git). Pull or serve it so that peers learn it; the\n" +
			"repository stays. Prints the commit id.\n\n" +
			"JSON fields: commit, conversation, type.\n\n" +
			"Examples:\n" +
			"  jami-swarm leave --account bob -C conv",
		Flags:  writeFlags(),
		Action: selfMembershipAction((*swarm.Repo).Leave, "the leave"),
	}
}

// selfMembershipAction commits a change of the account's own membership (join,
// leave): no arguments, one commit, the members cache dropped as jamid does.
func selfMembershipAction(op func(*swarm.Repo, *swarm.Identity, time.Time) (*swarm.Commit, error), what string) ucli.ActionFunc {
	return func(c *ucli.Context) error {
		if err := cli.NArgs(c, 0, 0); err != nil {
			return err
		}
		w, err := openWrite(c)
		if err != nil {
			return err
		}
		defer w.close()
		commit, err := op(w.r, w.a.id, now())
		if err != nil {
			return fmt.Errorf("%s: %w", w.r.Path, err)
		}
		w.membershipChanged()
		return w.printCommit(commit, what)
	}
}

type voteResult struct {
	Commit       string `json:"commit"`
	Conversation string `json:"conversation"`
	Type         string `json:"type"`
	Target       string `json:"target"`
	TargetType   string `json:"target_type"`
	Resolution   string `json:"resolution,omitempty"`
}

func typeFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "type", Usage: "what URI is: members, admins, invited or devices (default: found from the repository)"}
}

// voteTarget finds the directory holding uri (banned/… for an unban).
func voteTarget(r *swarm.Repo, uri, typ string, unban bool) (string, error) {
	if typ != "" {
		switch typ {
		case swarm.BanMembers, swarm.BanAdmins, swarm.BanInvited, swarm.BanDevices:
			return typ, nil
		}
		return "", cli.UsageErrorf("--type %q: want members, admins, invited or devices", typ)
	}
	head, err := r.Head()
	if err != nil {
		return "", err
	}
	hc, err := r.Commit(head)
	if err != nil {
		return "", err
	}
	files, err := r.CommitFiles(hc)
	if err != nil {
		return "", err
	}
	prefix := ""
	if unban {
		prefix = swarm.DirBanned + "/"
	}
	for _, t := range []string{swarm.BanAdmins, swarm.BanMembers, swarm.BanInvited, swarm.BanDevices} {
		p := prefix + t + "/" + uri + ".crt"
		if t == swarm.BanInvited {
			p = prefix + t + "/" + uri
		}
		if files.Has(p) {
			return t, nil
		}
	}
	if unban {
		return "", fmt.Errorf("%s is not banned", uri)
	}
	return "", fmt.Errorf("%s is neither an account nor a device of this conversation", uri)
}

// voteCommand is remove, ban and unban.
func voteCommand(name, usage, description string, unban bool, flags ...ucli.Flag) *ucli.Command {
	return &ucli.Command{
		Name:        name,
		Usage:       usage,
		ArgsUsage:   "URI|DEVICE",
		Description: description,
		Flags:       writeFlags(flags...),
		Action: func(c *ucli.Context) error {
			if err := cli.NArgs(c, 1, 1); err != nil {
				return err
			}
			uri := strings.ToLower(c.Args().First())
			w, err := openWrite(c)
			if err != nil {
				return err
			}
			defer w.close()
			typ := c.String("type")
			if c.Bool("device") {
				typ = swarm.BanDevices
			}
			typ, err = voteTarget(w.r, uri, typ, unban)
			if err != nil {
				return fmt.Errorf("%s: %w", w.r.Path, err)
			}
			vote, resolution, err := (*swarm.Commit)(nil), (*swarm.Commit)(nil), error(nil)
			if unban {
				vote, resolution, err = w.r.VoteUnban(w.a.id, typ, uri, now())
			} else {
				vote, resolution, err = w.r.VoteBan(w.a.id, typ, uri, now())
			}
			if err != nil {
				return fmt.Errorf("%s: %w", w.r.Path, err)
			}
			if resolution != nil {
				w.membershipChanged()
			}
			res := voteResult{Commit: vote.ID.String(), Conversation: w.conv.String(), Type: swarm.TypeVote, Target: uri, TargetType: typ}
			if resolution != nil {
				res.Resolution = resolution.ID.String()
			}
			return cli.PrintResult(c, res, func() {
				cli.Printf(c, "%s\n", vote.ID)
				if resolution != nil {
					cli.Printf(c, "%s\n", resolution.ID)
					cli.Infof(c, "%s: voted, and the vote passed: %s %s", w.r.Path, map[bool]string{false: "banned", true: "unbanned"}[unban], uri)
				} else {
					cli.Infof(c, "%s: voted; more admins must vote before %s is %s", w.r.Path, uri, map[bool]string{false: "banned", true: "unbanned"}[unban])
				}
			})
		},
	}
}

func removeCommand() *ucli.Command {
	return voteCommand("remove", "remove an account or device from the conversation (jamid's removeConversationMember)",
		"Does what jamid's removeConversationMember does: an admin's vote to ban URI (a vote file\n"+
			"votes/ban/<type>/URI/<you>, {\"type\":\"vote\",\"uri\":URI}), the type found from where URI is\n"+
			"(admins, members or invited; --device for a device ID). When more than half of the admins have\n"+
			"voted, the ban is committed right away ({\"action\":\"ban\",\"type\":\"member\"}, files moved under\n"+
			"banned/). Prints the vote's commit id, and the ban's when it passed.\n\n"+
			"JSON fields: commit, conversation, type, target, target_type, resolution.\n\n"+
			"Examples:\n"+
			"  jami-swarm remove --account alice -C conv 9e25c1…\n"+
			"  jami-swarm remove --account alice -C conv --device 3c1f…",
		false, &ucli.BoolFlag{Name: "device", Usage: "URI is a device ID (64 hex)"})
}

func banCommand() *ucli.Command {
	return voteCommand("ban", "vote to ban an account or device (admins)",
		"An admin's ban vote on URI, as remove, with the target type given by --type when it cannot be\n"+
			"found from the repository. The ban is committed once more than half of the admins voted.\n"+
			"Prints the vote's commit id, and the ban's when it passed.\n\n"+
			"JSON fields: commit, conversation, type, target, target_type, resolution.\n\n"+
			"Examples:\n"+
			"  jami-swarm ban --account alice -C conv 9e25c1…\n"+
			"  jami-swarm ban --account alice -C conv --type devices 3c1f…",
		false, typeFlag())
}

func unbanCommand() *ucli.Command {
	return voteCommand("unban", "vote to lift a ban (admins)",
		"An admin's unban vote (votes/unban/<type>/URI/<you>); once more than half of the admins voted,\n"+
			"the unban is committed and URI's files move back from banned/. Prints the vote's commit id,\n"+
			"and the unban's when it passed.\n\n"+
			"JSON fields: commit, conversation, type, target, target_type, resolution.\n\n"+
			"Examples:\n"+
			"  jami-swarm unban --account alice -C conv 9e25c1…",
		true, typeFlag())
}
