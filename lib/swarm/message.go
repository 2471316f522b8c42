package swarm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/crypto/sha3"
)

// Message types (swarm.md §3.3).
const (
	TypeInitial       = "initial"
	TypeText          = "text/plain"
	TypeEdited        = "application/edited-message"
	TypeDataTransfer  = "application/data-transfer+json"
	TypeCallHistory   = "application/call-history+json"
	TypeMember        = "member"
	TypeVote          = "vote"
	TypeUpdateProfile = "application/update-profile"
	TypeCollabDoc     = "application/collab-doc+json" // current only
	TypeCheckpoint    = "application/checkpoint"      // current only, mode 4
	// TypeMerge is the type jamid 2023 reports for commits with two parents.
	TypeMerge = "merge"
)

// Member actions.
const (
	ActionAdd    = "add"
	ActionJoin   = "join"
	ActionRemove = "remove"
	ActionBan    = "ban"
	ActionUnban  = "unban"
)

// Mode is the conversation mode stored in the initial commit (§2.4).
type Mode int

const (
	ModeOneToOne         Mode = 0
	ModeAdminInvitesOnly Mode = 1
	ModeInvitesOnly      Mode = 2
	ModePublic           Mode = 3
	ModeDocument         Mode = 4 // current only
)

func (m Mode) String() string {
	switch m {
	case ModeOneToOne:
		return "one-to-one"
	case ModeAdminInvitesOnly:
		return "admin-invites-only"
	case ModeInvitesOnly:
		return "invites-only"
	case ModePublic:
		return "public"
	case ModeDocument:
		return "document"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Message is a Jami commit message. The named fields are those of current
// upstream's CommitMessage (every value a string except mode); Extra holds
// any other member, since jamid 2023 passes every member to clients.
type Message struct {
	Type        string
	Body        string
	ReplyTo     string // "reply-to"
	ReactTo     string // "react-to"
	Edit        string // "edit"
	Action      string
	URI         string // "uri"
	Device      string
	ConfID      string // "confId"
	To          string
	Reason      string
	Duration    string
	Tid         string
	DisplayName string // "displayName"
	TotalSize   string // "totalSize", a decimal string on the wire
	Sha3sum     string
	Mode        int
	HasMode     bool
	Invited     string
	MimeType    string // "mimeType"
	Parent      string
	Extra       map[string]JSONValue
}

// stringFields maps JSON keys to the Message fields that hold them.
func (m *Message) stringFields() map[string]*string {
	return map[string]*string{
		"body": &m.Body, "reply-to": &m.ReplyTo, "react-to": &m.ReactTo, "edit": &m.Edit,
		"action": &m.Action, "uri": &m.URI, "device": &m.Device, "confId": &m.ConfID,
		"to": &m.To, "reason": &m.Reason, "duration": &m.Duration, "tid": &m.Tid,
		"displayName": &m.DisplayName, "totalSize": &m.TotalSize, "sha3sum": &m.Sha3sum,
		"invited": &m.Invited, "mimeType": &m.MimeType, "parent": &m.Parent,
	}
}

// Object returns the JSON object jamid would write for m: the rules of
// current upstream's CommitMessage::toJson, which also reproduce every 2023
// writer: `body` always for text, edited-message and checkpoint; `tid`
// always for data transfers; `mode` (an integer) when set; other fields only
// when non-empty; Extra as given.
func (m *Message) Object() map[string]JSONValue {
	obj := map[string]JSONValue{}
	for k, v := range m.Extra {
		obj[k] = v
	}
	obj["type"] = JSONStr(m.Type)
	for k, p := range m.stringFields() {
		if *p != "" {
			obj[k] = JSONStr(*p)
		}
	}
	switch m.Type {
	case TypeText, TypeEdited, TypeCheckpoint:
		obj["body"] = JSONStr(m.Body)
	case TypeDataTransfer:
		obj["tid"] = JSONStr(m.Tid)
	}
	if m.HasMode {
		obj["mode"] = JSONNum(int64(m.Mode))
	}
	return obj
}

// JSON is the exact commit message text (jsoncpp, no trailing newline).
func (m *Message) JSON() []byte {
	return EncodeJSON(JSONValue{Kind: JSONObject, Obj: m.Object()})
}

// ErrNotJSONObject is returned by DecodeMessage for text that jsoncpp
// parses to something other than an object (or does not parse).
var ErrNotJSONObject = errors.New("commit message is not a JSON object")

// DecodeMessage reads a commit message as jamid does (jsoncpp reader with
// default settings; every known field converted with asString, "mode" with
// asInt). A known field holding an array or object is an error (jsoncpp
// throws, current upstream then drops the message); unknown fields are kept
// in Extra whatever their kind.
func DecodeMessage(text []byte) (*Message, error) {
	v, err := ParseJSON(text)
	if err != nil {
		return nil, err
	}
	if v.Kind != JSONObject {
		return nil, ErrNotJSONObject
	}
	return messageFromObject(v.Obj)
}

func messageFromObject(obj map[string]JSONValue) (*Message, error) {
	m := &Message{}
	fields := m.stringFields()
	for k, v := range obj {
		switch {
		case k == "type":
			s, err := v.AsString()
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			m.Type = s
		case k == "mode":
			i, err := v.AsInt()
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			m.Mode, m.HasMode = i, true
		case fields[k] != nil:
			s, err := v.AsString()
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			*fields[k] = s
		default:
			if m.Extra == nil {
				m.Extra = map[string]JSONValue{}
			}
			m.Extra[k] = v
		}
	}
	return m, nil
}

// IsReaction reports a text message carrying a reaction.
func (m *Message) IsReaction() bool { return m.Type == TypeText && m.ReactTo != "" }

// IsEdit reports either edit form: 2023 application/edited-message, or
// current's original type plus a non-empty "edit".
func (m *Message) IsEdit() bool { return m.Type == TypeEdited || m.Edit != "" }

// --- constructors for every message type of §3.3 ---

// NewInitial is the root commit message; invited is the peer of a
// one-to-one (empty otherwise).
func NewInitial(mode Mode, invited string) *Message {
	return &Message{Type: TypeInitial, Mode: int(mode), HasMode: true, Invited: invited}
}

// NewDocumentInitial is current upstream's mode-4 root message.
func NewDocumentInitial(parentConv, mimeType string) *Message {
	return &Message{Type: TypeInitial, Mode: int(ModeDocument), HasMode: true, Parent: parentConv, MimeType: mimeType}
}

// NewText is a text message, optionally a reply.
func NewText(body, replyTo string) *Message {
	return &Message{Type: TypeText, Body: body, ReplyTo: replyTo}
}

// NewReaction reacts to a commit; body is the reaction (an emoji).
func NewReaction(target, reaction string) *Message {
	return &Message{Type: TypeText, Body: reaction, ReactTo: target}
}

// NewEdit2023 is the 2023 edit: application/edited-message pointing at the
// original message; an empty body deletes it.
func NewEdit2023(original, body string) *Message {
	return &Message{Type: TypeEdited, Body: body, Edit: original}
}

// NewEdit is current upstream's edit: the original's type plus "edit". A 2023
// peer accepts it but shows it as a new message.
func NewEdit(original, body string) *Message {
	return &Message{Type: TypeText, Body: body, Edit: original}
}

// NewFileDeletion is current upstream's deletion of a data-transfer commit.
func NewFileDeletion(original string) *Message {
	return &Message{Type: TypeDataTransfer, Edit: original}
}

// NewDataTransfer describes a file sent out of band.
func NewDataTransfer(displayName string, content []byte, tid uint64, replyTo string) *Message {
	sum := sha3.Sum512(content)
	return &Message{
		Type:        TypeDataTransfer,
		DisplayName: displayName,
		Sha3sum:     hex.EncodeToString(sum[:]),
		Tid:         strconv.FormatUint(tid, 10),
		TotalSize:   strconv.Itoa(len(content)),
		ReplyTo:     replyTo,
	}
}

// RandomTid draws a transfer id in [1, 2^53] as jamid does.
func RandomTid() (uint64, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 53))
	if err != nil {
		return 0, err
	}
	return n.Uint64() + 1, nil
}

// NewMember is a membership commit (add, join, remove, ban, unban).
func NewMember(action, uri string) *Message {
	return &Message{Type: TypeMember, Action: action, URI: uri}
}

// NewVote is an admin's ban/unban vote on uri.
func NewVote(uri string) *Message { return &Message{Type: TypeVote, URI: uri} }

// NewUpdateProfile accompanies a profile.vcf change.
func NewUpdateProfile() *Message { return &Message{Type: TypeUpdateProfile} }

// NewCallHistory1to1 is the one-to-one call record (duration in ms).
func NewCallHistory1to1(to, durationMs, reason string) *Message {
	return &Message{Type: TypeCallHistory, To: to, Duration: durationMs, Reason: reason}
}

// NewGroupCall is the host's group call record; durationMs empty for the
// start commit.
func NewGroupCall(confID, hostDevice, hostURI, durationMs string) *Message {
	return &Message{Type: TypeCallHistory, ConfID: confID, Device: hostDevice, URI: hostURI, Duration: durationMs}
}

// MergeMessage is the plain-text message of a merge commit (§3.5).
func MergeMessage(remoteHead plumbing.Hash) []byte {
	return []byte("Merge commit '" + remoteHead.String() + "'")
}

// FileID is jamid's data-transfer file id: "<commit>_<tid>" plus the
// display name's extension (fileutils::getFileExtension).
func FileID(commitID, tid, displayName string) string {
	id := commitID + "_" + tid
	if ext := fileExtension(displayName); ext != "" {
		id += "." + ext
	}
	return id
}

// fileExtension mirrors jami::fileutils::getFileExtension (2023): the text
// after the last '.' of the whole name (a leading dot counts, slashes are
// not special), unless empty or 8 bytes or longer.
func fileExtension(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return ""
	}
	if ext := name[i+1:]; len(ext) < 8 {
		return ext
	}
	return ""
}

// UpdateProfileText is the message of a profile update commit.
func UpdateProfileText() []byte { return NewUpdateProfile().JSON() }
