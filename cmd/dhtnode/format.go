package main

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jamikit/jamikit/lib/dht"
	"github.com/jamikit/jamikit/lib/dht/value"
	"github.com/jamikit/jamikit/lib/dht/wire"
)

// The console's text is OpenDHT 2.4.12's, line for line, so that people and
// scripts used to dhtnode read ours the same way (tools/dhtnode.cpp,
// tools/tools_common.h, Dht::get*Log in src/dht.cpp).

// cNum is printf("%.3g"), OpenDHT's to_str: Go's %g switches to the
// exponent form at the same place and writes the exponent the same way.
func cNum(f float64) string { return fmt.Sprintf("%.3g", f) }

// printDuration is OpenDHT's print_duration: µs below 1 ms ("us"), ms below
// 1 s, s below 1 min, min below 1 h, else h; three significant digits.
func printDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + printDuration(-d)
	case d < time.Millisecond:
		return cNum(float64(d)/float64(time.Microsecond)) + " us"
	case d < time.Second:
		return cNum(float64(d)/float64(time.Millisecond)) + " ms"
	case d < time.Minute:
		return cNum(d.Seconds()) + " s"
	case d < time.Hour:
		return cNum(d.Minutes()) + " min"
	}
	return cNum(d.Hours()) + " h"
}

// printTimeRelative is print_time_relative: "never" for the zero time,
// "now", "in D" or "D ago".
func printTimeRelative(now, t time.Time) string {
	switch {
	case t.IsZero():
		return "never"
	case t.Equal(now):
		return "now"
	case t.After(now):
		return "in " + printDuration(t.Sub(now))
	}
	return printDuration(now.Sub(t)) + " ago"
}

// nodeInfoLine is print_node_info's first line: one port when both
// families share it, else both.
func nodeInfoLine(id wire.InfoHash, a4, a6 netip.AddrPort) string {
	p4, p6 := a4.Port(), a6.Port()
	if p4 == p6 {
		return fmt.Sprintf("OpenDHT node %s running on port %d", id, p4)
	}
	return fmt.Sprintf("OpenDHT node %s running on IPv4 port %d, IPv6 port %d", id, p4, p6)
}

// familyStats is NodeStats::toString.
func familyStats(f dht.FamilyInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Known nodes: %d good, %d dubious, %d incoming.\n", f.Good, f.Dubious, f.Incoming)
	fmt.Fprintf(&b, "%d searches, %d total cached nodes\n", f.Searches, f.NodeCache)
	if f.TableDepth > 1 {
		fmt.Fprintf(&b, "Routing table depth: %d\n", f.TableDepth)
		fmt.Fprintf(&b, "Network size estimation: %d nodes\n", f.NetworkSize)
	}
	return b.String()
}

// infoText is the "ll" output.
func infoText(in dht.Info, a4, a6 netip.AddrPort) string {
	var b strings.Builder
	b.WriteString(nodeInfoLine(in.ID, a4, a6) + "\n")
	fmt.Fprintf(&b, "%d ongoing operations\n", in.Ops)
	fmt.Fprintf(&b, "Storage has %d values, using %d KB\n", in.StoredValues, in.StoredBytes/1024)
	b.WriteString("IPv4 stats:\n" + familyStats(in.IPv4) + "\n")
	b.WriteString("IPv6 stats:\n" + familyStats(in.IPv6) + "\n")
	return b.String()
}

// bucketsText is getRoutingTablesLog: Dht::dumpBucket for each bucket.
func bucketsText(now time.Time, buckets []dht.BucketInfo) string {
	var b strings.Builder
	for _, bk := range buckets {
		fmt.Fprintf(&b, "%s count: %d updated: %s", bk.First, len(bk.Nodes), printTimeRelative(now, bk.Updated))
		if bk.Cached != nil {
			b.WriteString(" (cached)")
		}
		b.WriteString("\n")
		for _, n := range bk.Nodes {
			fmt.Fprintf(&b, "    Node %s %s", n.ID, n.Addr)
			if !n.LastHeard.Equal(n.LastReply) {
				fmt.Fprintf(&b, " updated: %s, replied: %s", printTimeRelative(now, n.LastHeard), printTimeRelative(now, n.LastReply))
			} else {
				fmt.Fprintf(&b, " updated: %s", printTimeRelative(now, n.LastHeard))
			}
			switch {
			case n.Expired:
				b.WriteString(" [expired]")
			case n.Good:
				b.WriteString(" [good]")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// storageKeyText is Dht::printStorageLog for one key: the count of
// remote listener nodes, the local listeners, then each remote node with
// the number of its listen entries.
func storageKeyText(k dht.KeyInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Storage %s %d list., %d values (%d bytes)\n", k.Key, k.Listeners, k.Values, k.Bytes)
	if k.Local > 0 {
		fmt.Fprintf(&b, "   %d local listeners\n", k.Local)
	}
	for _, l := range k.RemoteListeners {
		fmt.Fprintf(&b, "   Listener %s %s : %d entries\n", l.ID, l.Addr, l.Entries)
	}
	return b.String()
}

// storageText is Dht::getStorageLog: every key, the per-IP quota use
// (largest first), the totals.
func storageText(st dht.StorageInfo) string {
	var b strings.Builder
	for _, k := range st.Keys {
		b.WriteString(storageKeyText(k))
	}
	b.WriteString("\n\n")
	type use struct {
		addr netip.Addr
		n    int64
	}
	var uses []use
	for a, n := range st.PerIP {
		if n > 0 {
			uses = append(uses, use{a, n})
		}
	}
	sort.Slice(uses, func(i, j int) bool {
		if uses[i].n != uses[j].n {
			return uses[i].n > uses[j].n
		}
		return uses[i].addr.Less(uses[j].addr)
	})
	for _, u := range uses {
		fmt.Fprintf(&b, "IP %s uses %d bytes\n", u.addr, u.n)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Total %d storages, %d values (", len(st.Keys), st.TotalValues)
	if st.TotalBytes < 1024 {
		fmt.Fprintf(&b, "%d bytes)", st.TotalBytes)
	} else {
		// OpenDHT divides its signed limit: an unlimited (-1) store shows 0.
		fmt.Fprintf(&b, "%d / %d KB)", st.TotalBytes/1024, st.MaxBytes/1024)
	}
	b.WriteString("\n")
	return b.String()
}

// searchExtra is what the console knows about a search that the engine
// does not report: the values it announces (the engine reports their ids)
// and, for engines reporting no queries, the queries of its listens. now
// is the time "last step" is relative to (zero: the current time).
type searchExtra struct {
	values  map[uint64]*value.Value
	queries []value.Query
	now     time.Time
}

// searchText is Dht::dumpSearch.
func searchText(s dht.SearchInfo, known map[wire.InfoHash]bool, extra searchExtra) string {
	var b strings.Builder
	fam := '4'
	if s.IPv6 {
		fam = '6'
	}
	now := extra.now
	if now.IsZero() {
		now = time.Now()
	}
	fmt.Fprintf(&b, "\nSearch IPv%c %s gets: %d, last step: %s", fam, s.Key, s.Gets, printTimeRelative(now, s.LastStep))
	if s.Done {
		b.WriteString(" [done]")
	}
	if s.Expired {
		b.WriteString(" [expired]")
	}
	listening := false
	for _, n := range s.Nodes {
		listening = listening || n.Listening
	}
	if s.Synced {
		b.WriteString(" [synced]")
		if listening {
			b.WriteString(" [listening]")
		}
	} else {
		b.WriteString(" [not synced]")
	}
	b.WriteString("\n")
	queries := s.Queries
	if len(queries) == 0 {
		queries = extra.queries
	}
	if len(queries) > 0 {
		b.WriteString("Queries:\n")
		for _, q := range queries {
			b.WriteString(q.String() + "\n")
		}
	}
	for _, id := range s.Puts {
		v := extra.values[id]
		if v == nil {
			v = &value.Value{ID: id}
		}
		b.WriteString("Announcement: " + v.String())
		if announced(s, id) {
			b.WriteString(" [announced]")
		}
		b.WriteString("\n")
	}
	b.WriteString(" Common bits    InfoHash                       Conn. Get   Ops  IP\n")
	for _, n := range s.Nodes {
		fmt.Fprintf(&b, "%3d %s ", wire.CommonBits(s.Key, n.ID), n.ID)
		if known[n.ID] {
			b.WriteString("*")
		} else {
			b.WriteString(" ")
		}
		// Connection: our requests waiting for the node's reply, expired.
		b.WriteString(" [")
		if n.PendingRequests > 0 {
			b.WriteString(strconv.Itoa(n.PendingRequests))
		} else {
			b.WriteString(" ")
		}
		if n.Expired {
			b.WriteString("x]")
		} else {
			b.WriteString(" ]")
		}
		// Get: synced ('u' when it answered since the newest get began),
		// then a get in flight ('c' when the node is a slow candidate).
		g, st := byte(' '), byte('-')
		if n.Pending {
			g = 'f'
			if n.Candidate {
				g = 'c'
			}
		}
		if n.Synced {
			st = 's'
			if n.Updated {
				st = 'u'
			}
		}
		fmt.Fprintf(&b, " [%c%c] ", st, g)
		if s.Listens > 0 {
			switch {
			case !n.HasListen && !n.Listening:
				b.WriteString("    ")
			case n.Listening:
				b.WriteString("[l] ")
			case n.ListenSent:
				b.WriteString("[f] ")
			default:
				b.WriteString("[ ] ")
			}
		}
		if len(s.Puts) > 0 {
			if len(n.Announced) == 0 && len(n.AnnounceStates) == 0 {
				b.WriteString("   " + strings.Repeat(" ", len(s.Puts)))
			} else {
				b.WriteString("[")
				for _, id := range s.Puts {
					c, ok := n.AnnounceStates[id]
					if !ok && containsID(n.Announced, id) {
						c, ok = 'a', true
					}
					if !ok {
						c = ' '
					}
					b.WriteByte(c)
				}
				b.WriteString("] ")
			}
		}
		b.WriteString(n.Addr.String() + "\n")
	}
	return b.String()
}

func containsID(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// announced is Search::isAnnounced: the first 8 nodes that are neither
// expired nor slow all acknowledged the value.
func announced(s dht.SearchInfo, id uint64) bool {
	seen := 0
	for _, n := range s.Nodes {
		if n.Expired || n.Candidate {
			continue
		}
		if !containsID(n.Announced, id) {
			return false
		}
		if seen++; seen == 8 {
			break
		}
	}
	return seen > 0
}

// searchesText is getSearchesLog: beyond 8 searches only their keys.
func searchesText(srs []dht.SearchInfo, known map[bool]map[wire.InfoHash]bool, extra func(dht.SearchInfo) searchExtra) string {
	var v4, v6 []dht.SearchInfo
	for _, s := range srs {
		if s.IPv6 {
			v6 = append(v6, s)
		} else {
			v4 = append(v4, s)
		}
	}
	var b strings.Builder
	if len(srs) > 8 {
		for _, s := range v4 {
			fmt.Fprintf(&b, "[search %s IPv4]\n", s.Key)
		}
		for _, s := range v6 {
			fmt.Fprintf(&b, "[search %s IPv6]\n", s.Key)
		}
	} else {
		b.WriteString("s:synched, u:updated, a:announced, c:candidate, f:cur req, x:expired, *:known\n")
		for _, s := range append(v4, v6...) {
			b.WriteString(searchText(s, known[s.IPv6], extra(s)))
		}
	}
	fmt.Fprintf(&b, "Total: %d searches (%d IPv4, %d IPv6).\n", len(srs), len(v4), len(v6))
	return b.String()
}

// looseHash is InfoHash(std::string): 40 or more characters whose first
// 40 are hexadecimal, else the zero hash.
func looseHash(s string) wire.InfoHash {
	if len(s) < 2*wire.HashLen {
		return wire.InfoHash{}
	}
	h, err := wire.ParseInfoHash(s[:2*wire.HashLen])
	if err != nil {
		return wire.InfoHash{}
	}
	return h
}
