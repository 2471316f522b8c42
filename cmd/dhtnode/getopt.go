package main

import "strings"

// dhtnode's short options as getopt reads them ("hidsvODUPp:n:b:f:l:"),
// plus -q and -L of this dhtnode.
const (
	shortValue = "pnbfl"
	shortBool  = "hidsvqODUPL"
)

// getoptArgs rewrites the short-option forms getopt accepts and urfave/cli
// does not into separate arguments: grouped flags ("-sU" is "-s -U") and
// values glued to their flag ("-p4222" is "-p 4222", "-sp4222" is
// "-s -p 4222"). "-b=host" stays as is (the flag package reads it), and so
// does anything after "--" or that is a value of the previous flag.
func getoptArgs(args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) <= 2 || a[0] != '-' || a[1] == '-' || a[2] == '=' || !strings.ContainsRune(shortValue+shortBool, rune(a[1])) {
			out = append(out, a)
			if len(a) == 2 && a[0] == '-' && strings.IndexByte(shortValue, a[1]) >= 0 && i+1 < len(args) {
				// "-p" "4222": the next argument is a value, whatever it looks like.
				i++
				out = append(out, args[i])
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			ch := a[j]
			if strings.IndexByte(shortValue, ch) >= 0 {
				out = append(out, "-"+string(ch))
				if j+1 < len(a) {
					out = append(out, a[j+1:])
				} else if i+1 < len(args) {
					i++
					out = append(out, args[i])
				}
				break
			}
			if strings.IndexByte(shortBool, ch) < 0 {
				// Not a dhtnode option: leave the word whole for the error.
				out = append(out[:len(out)-(j-1)], a)
				break
			}
			out = append(out, "-"+string(ch))
		}
	}
	return out
}
