// Package interop holds the interoperability tests of the jamikit tools against
// the real Jami daemon (jamid 13.7.0) and OpenDHT's dhtnode (2.4.12), run in
// network namespaces by package sandbox. They need root and the Debian packages
// jami-daemon, dhtnode, dbus and iproute2: without them the tests skip, except
// when $CI is set, where they fail.
package interop
