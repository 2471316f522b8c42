// Command jami-swarm creates, reads, validates, writes and syncs Jami
// conversation repositories ("swarms") byte-compatible with jamid 13.7.0.
package main

import (
	"github.com/jamikit/jamikit/lib/cli"
	ucli "github.com/urfave/cli/v2"
)

// newTool builds the tool's definition (fresh commands each time: the
// application frame adds flags to them).
func newTool() cli.Tool {
	return cli.Tool{
		Name:  "jami-swarm",
		Usage: "create, read, verify, write and sync Jami conversations (swarm git repositories)",
		Description: "A Jami conversation is a git repository whose commits are signed by the members' devices.\n" +
			"jami-swarm writes the same bytes as jamid 13.7.0, checks histories with the rules jamid 2023 and\n" +
			"current upstream apply to received commits, and syncs repositories with the git dialect jamid\n" +
			"speaks on its p2p channels (served over stdio or loopback TCP here).\n\n" +
			"The conversation is --conversation DIR (default: the current directory), or a conversation ID\n" +
			"looked up in the account folder's conversations/. Commands that write need --account: a jamid\n" +
			"account folder (ring_device.key, ring_device.crt, config.yml), or a jamid 2023 export that\n" +
			"carries a device key. They keep the index and work tree equal to HEAD, as jamid expects, and\n" +
			"refuse to write while another writer holds the repository (.git/index.lock).\n\n" +
			"Commits are dated now, or $SOURCE_DATE_EPOCH (unix seconds) when set: commits are\n" +
			"deterministic, so a history replayed at the same times has the same ids.\n\n" +
			"Examples:\n" +
			"  jami-swarm init --account ~/.local/share/jami/abc123 --title 'Book club'\n" +
			"  jami-swarm send --account alice -C conv/df0f2db2… 'hello'\n" +
			"  jami-swarm log --json raw -C conv/df0f2db2…\n" +
			"  jami-swarm verify --rules 2023 -C conv/df0f2db2…\n" +
			"  jami-swarm pull --account bob -C conv/df0f2db2… ../alice/conv/df0f2db2…",
		Commands: []*ucli.Command{
			initCommand(),
			sendCommand(),
			replyCommand(),
			editCommand(),
			reactCommand(),
			deleteCommand(),
			sendFileCommand(),
			logCommand(),
			membersCommand(),
			infoCommand(),
			profileCommand(),
			inviteCommand(),
			joinCommand(),
			leaveCommand(),
			removeCommand(),
			banCommand(),
			unbanCommand(),
			verifyCommand(),
			pullCommand(),
			serveCommand(),
			cloneCommand(),
		},
	}
}

func main() { cli.Main(newTool()) }
