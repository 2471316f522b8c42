package account

import (
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// An archive carries the account's settings under their D-Bus names
// ("Account.alias", "TURN.enable"; account.md §2.2.3), config.yml keeps them
// under short YAML names ("alias", "turnEnabled"; §3.3). When jamid 13.7
// imports an archive it applies the archive's settings to the new account
// (JamiAccountConfig::fromMap, after the import set the device's own
// values) and saves config.yml, which holds only values that differ from
// its defaults (serializeDiff). ImportedConfig does the same on paper, so
// that a folder written from an archive is the folder jamid would have made.
//
// The table is jamid 13.7.0's (jami-daemon cbca28f59bb0): src/account_schema.h
// and jami/account_const.h for the D-Bus names; account_config.cpp,
// sip/sipaccountbase_config.cpp and jamidht/jamiaccount_config.cpp for what
// fromMap parses, the YAML names and the defaults.

type settingKind int

const (
	kindString     settingKind = iota
	kindBool                   // "true" is true, anything else false (parseBool)
	kindInt                    // std::from_chars<int>: a leading integer
	kindPort                   // std::from_chars<uint16_t>
	kindModerators             // a set of URIs joined with '/'
)

type setting struct {
	yaml string
	kind settingKind
	def  string // jamid's default, as config.yml would spell it
}

// importedSettings maps the D-Bus names fromMap reads to config.yml.
var importedSettings = map[string]setting{
	// AccountConfig
	"Account.alias":                  {"alias", kindString, ""},
	"Account.displayName":            {"displayName", kindString, ""},
	"Account.enable":                 {"enable", kindBool, "true"},
	"Account.videoEnabled":           {"videoEnabled", kindBool, "true"},
	"Account.hostname":               {"hostname", kindString, "bootstrap.jami.net"},
	"Account.mailbox":                {"mailbox", kindString, ""},
	"Account.sendReadReceipt":        {"sendReadReceipt", kindBool, "true"},
	"Account.rendezVous":             {"rendezVous", kindBool, "false"},
	"Account.activeCallLimit":        {"activeCallLimit", kindInt, "-1"},
	"Account.ringtoneEnabled":        {"ringtoneEnabled", kindBool, "true"},
	"Account.ringtonePath":           {"ringtonePath", kindString, "default.opus"},
	"Account.useragent":              {"useragent", kindString, ""},
	"Account.upnpEnabled":            {"upnpEnabled", kindBool, "true"},
	"Account.defaultModerators":      {"defaultModerators", kindModerators, ""},
	"Account.localModeratorsEnabled": {"localModeratorsEnabled", kindBool, "true"},
	// Conf::CONFIG_ALL_MODERATORS_ENABLED, singular "Moderator" (what
	// exports carry); the YAML name is plural.
	"Account.allModeratorEnabled": {"allModeratorsEnabled", kindBool, "true"},
	// SipAccountBaseConfig (port ranges: see importRange)
	"Account.localInterface":       {"interface", kindString, "default"},
	"Account.publishedSameAsLocal": {"sameasLocal", kindBool, "true"},
	"Account.publishedAddress":     {"publishAddr", kindString, ""},
	"Account.dtmfType":             {"dtmfType", kindString, "overrtp"},
	// A Jami account's TURN defaults (JamiAccountConfig's constructor).
	"TURN.enable":   {"turnEnabled", kindBool, "true"},
	"TURN.server":   {"turnServer", kindString, "turn.jami.net"},
	"TURN.username": {"turnServerUserName", kindString, "ring"},
	"TURN.password": {"turnServerPassword", kindString, "ring"},
	"TURN.realm":    {"turnServerRealm", kindString, "ring"},
	// JamiAccountConfig
	"DHT.port":                     {"dhtPort", kindPort, "0"},
	"DHT.PublicInCalls":            {"dhtPublicInCalls", kindBool, "true"},
	"Account.peerDiscovery":        {"Account.peerDiscovery", kindBool, "false"},
	"Account.accountDiscovery":     {"Account.accountDiscovery", kindBool, "false"},
	"Account.accountPublish":       {"Account.accountPublish", kindBool, "false"},
	"Account.allowCertFromHistory": {"allowPeersFromHistory", kindBool, "true"},
	"Account.allowCertFromContact": {"allowPeersFromContact", kindBool, "true"},
	"Account.allowCertFromTrusted": {"allowPeersFromTrusted", kindBool, "true"},
	"Account.managerUri":           {"Account.managerUri", kindString, ""},
	"Account.managerUsername":      {"Account.managerUsername", kindString, ""},
	"Account.deviceName":           {keyDeviceName, kindString, ""},
	"RingNS.uri":                   {"RingNS.uri", kindString, ""},
}

// Port ranges are set only as pairs, and only when valid (updateRange).
var importedRanges = []struct{ min, max, yamlMin, yamlMax, defMin, defMax string }{
	{"Account.audioPortMin", "Account.audioPortMax", "audioPortMin", "audioPortMax", "16384", "32766"},
	{"Account.videoPortMin", "Account.videoPortMax", "videoPortMin", "videoPortMax", "49152", "65534"},
}

// notImported says why a setting an archive may carry does not reach
// config.yml.
var notImported = map[string]string{
	// Dropped by jamid's archive reader (AccountArchive::deserialize).
	"TLS.certificateListFile": "dropped by jamid's archive reader",
	"TLS.certificateFile":     "dropped by jamid's archive reader (the exporting device's certificate)",
	"TLS.privateKeyFile":      "dropped by jamid's archive reader (the exporting device's key)",
	"Account.dhtProxyListUrl": "dropped by jamid's archive reader",
	"Account.autoAnswer":      "dropped by jamid's archive reader",
	"Account.proxyEnabled":    "dropped by jamid's archive reader",
	"Account.proxyServer":     "dropped by jamid's archive reader",
	"Account.proxyPushToken":  "dropped by jamid's archive reader",
	// Read by fromMap but not kept, or kept by the folder's own files.
	"TLS.password":               "the device key written is not encrypted",
	"Account.archiveHasPassword": "set from the archive written into the folder",
	"Account.archivePath":        "an import parameter, not a setting",
	"Account.archivePassword":    "an import parameter, not a setting",
	"Account.archivePIN":         "an import parameter, not a setting",
	"Account.bootstrapListUrl":   "jamid does not save it",
	// Not read by fromMap: informational in an export.
	"Account.username":                   "written by jamikit (the Jami ID)",
	"Account.type":                       "informational (RING)",
	"Account.presenceSubscribeSupported": "informational",
}

// ImportedConfig returns the config.yml entries (YAML names) that jamid
// 13.7 writes for the account settings of an imported archive (D-Bus
// names): the settings its import applies, read the way it reads them
// (booleans are "true" or false, numbers as C++'s from_chars, an empty
// hostname is the default bootstrap), and only those that differ from its
// defaults. A setting with no config.yml counterpart is left out, with a
// debug log line.
func ImportedConfig(settings map[string]string) map[string]string {
	out := map[string]string{}
	skip := func(k, why string) {
		slog.Debug("archive setting not carried into config.yml", "key", k, "reason", why)
	}
	inRange := map[string]bool{}
	for _, r := range importedRanges {
		inRange[r.min], inRange[r.max] = true, true
		importRange(settings, r.min, r.max, r.yamlMin, r.yamlMax, r.defMin, r.defMax, out, skip)
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys) // stable log order
	for _, k := range keys {
		v := settings[k]
		s, ok := importedSettings[k]
		switch {
		case inRange[k]:
			continue
		case !ok:
			why := notImported[k]
			if why == "" {
				why = "not a setting jamid 13.7 keeps in config.yml"
			}
			skip(k, why)
			continue
		case !utf8.ValidString(v):
			skip(k, "not UTF-8")
			continue
		}
		switch s.kind {
		case kindBool:
			v = strconv.FormatBool(v == "true")
		case kindInt, kindPort:
			n, ok := fromChars(v, s.kind == kindInt)
			if !ok {
				// jamid's import would throw on it.
				skip(k, "not a number")
				continue
			}
			v = strconv.FormatInt(n, 10)
		case kindModerators:
			v = joinModerators(v)
		}
		switch k {
		case "Account.hostname":
			if v == "" {
				v = s.def
			}
		case "Account.managerUri":
			if v != "" && !strings.HasPrefix(v, "http") {
				v = "https://" + v
			}
		}
		if v != s.def {
			out[s.yaml] = v
		}
	}
	return out
}

// importRange applies a port range pair as updateRange does: both given,
// 0 < min < max <= 65534, after the C++ conversion to uint16.
func importRange(settings map[string]string, kMin, kMax, yMin, yMax, defMin, defMax string, out map[string]string, skip func(k, why string)) {
	vMin, okMin := settings[kMin]
	vMax, okMax := settings[kMax]
	if !okMin && !okMax {
		return
	}
	lo, okLo := fromChars(vMin, true)
	hi, okHi := fromChars(vMax, true)
	if !okMin || !okMax || !okLo || !okHi {
		skip(kMin+"/"+kMax, "not a pair of numbers")
		return
	}
	lo, hi = int64(uint16(lo)), int64(uint16(hi))
	if lo <= 0 || hi <= lo || hi > 65534 {
		skip(kMin+"/"+kMax, "not a valid port range")
		return
	}
	if m, n := strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10); m != defMin || n != defMax {
		out[yMin], out[yMax] = m, n
	}
}

// fromChars reads a leading integer as C++'s std::from_chars does: an
// optional '-' (signed only), digits, then anything; in range of int
// (signed, 32 bits) or uint16.
func fromChars(s string, signed bool) (int64, bool) {
	neg := signed && strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	if signed {
		return n, n >= -1<<31 && n < 1<<31
	}
	return n, n < 1<<16
}

// joinModerators normalizes a '/'-separated set as jamid stores it (a
// std::set: sorted, no duplicates, no empty entries). jamid 13.7 itself
// writes the set as a YAML sequence, which it then fails to read back; the
// joined string is what its reader expects.
func joinModerators(v string) string {
	var set []string
	for _, m := range strings.Split(v, "/") {
		if m != "" {
			set = append(set, m)
		}
	}
	slices.Sort(set)
	return strings.Join(slices.Compact(set), "/")
}
