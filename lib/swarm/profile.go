package swarm

import (
	"bytes"
	"sort"
	"strings"
)

// Conversation profile keys (infos() of jamid) stored in profile.vcf.
const (
	ProfileTitle       = "title"
	ProfileDescription = "description"
	ProfileAvatar      = "avatar"
	ProfileRdvAccount  = "rdvAccount"
	ProfileRdvDevice   = "rdvDevice"
)

// ParseProfile reads profile.vcf as jamid does (vCard::utils::toMap then
// infosFromVCard): lines split on '\n', lines without ':' skipped, key =
// text before the first ':'; for a repeated key the first line wins.
// FN → title, DESCRIPTION → description; keys starting with PHOTO,
// RDV_ACCOUNT, RDV_DEVICE → avatar, rdvAccount, rdvDevice, the last such
// key in byte order winning (jamid walks its sorted map and overwrites).
func ParseProfile(data []byte) map[string]string {
	card := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if _, dup := card[k]; !dup {
			card[k] = v
		}
	}
	keys := make([]string, 0, len(card))
	for k := range card {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]string{}
	for _, k := range keys {
		v := card[k]
		switch {
		case k == "FN":
			out[ProfileTitle] = v
		case k == "DESCRIPTION":
			out[ProfileDescription] = v
		case strings.HasPrefix(k, "PHOTO"):
			out[ProfileAvatar] = v
		case strings.HasPrefix(k, "RDV_ACCOUNT"):
			out[ProfileRdvAccount] = v
		case strings.HasPrefix(k, "RDV_DEVICE"):
			out[ProfileRdvDevice] = v
		}
	}
	return out
}

// EncodeProfile writes profile.vcf exactly as jamid's updateInfos: LF line
// ends, no trailing newline, values raw; a line is written for every key
// present in info, even with an empty value; the PHOTO line and the two
// empty lines are always there.
func EncodeProfile(info map[string]string) []byte {
	var b bytes.Buffer
	add := func(prop, key string) {
		if v, ok := info[key]; ok {
			b.WriteString(prop + ":" + v + "\n")
		}
	}
	b.WriteString("BEGIN:VCARD\nVERSION:2.1\n")
	add("FN", ProfileTitle)
	add("DESCRIPTION", ProfileDescription)
	b.WriteString("PHOTO;ENCODING=BASE64")
	if v, ok := info[ProfileAvatar]; ok {
		b.WriteString(":" + v)
	}
	b.WriteString("\n")
	add("RDV_ACCOUNT", ProfileRdvAccount)
	b.WriteString("\n")
	add("RDV_DEVICE", ProfileRdvDevice)
	b.WriteString("\nEND:VCARD")
	return b.Bytes()
}

// UpdateProfile merges changes over the profile in current (nil when the
// file does not exist) and returns the new file, as updateInfos does.
func UpdateProfile(current []byte, changes map[string]string) []byte {
	info := ParseProfile(current)
	for k, v := range changes {
		info[k] = v
	}
	return EncodeProfile(info)
}
