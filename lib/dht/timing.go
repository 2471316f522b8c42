package dht

import "time"

// timing holds the protocol timers (opendht.md §10). They are constants in
// OpenDHT; here they live in a struct so that in-package tests can shrink
// the long ones instead of waiting minutes.
type timing struct {
	maxResponse      time.Duration // MAX_RESPONSE_TIME: first retransmission after half of it
	nodeExpire       time.Duration // NODE_EXPIRE_TIME: "heard" freshness, sync validity, listener lifetime
	nodeGood         time.Duration // NODE_GOOD_TIME: last reply freshness
	listenExpire     time.Duration // LISTEN_EXPIRE_TIME (5 min with PublicStable)
	listenerExpire   time.Duration // a remote listener's lifetime without refresh (NODE_EXPIRE_TIME)
	reannounceMargin time.Duration // REANNOUNCE_MARGIN
	searchExpire     time.Duration // SEARCH_EXPIRE_TIME: idle searches are dropped
	bootstrapPeriod  time.Duration // BOOTSTRAP_PERIOD: first re-bootstrap delay, doubled each time
	bootstrapMax     time.Duration // BOOTSTRAP_PERIOD_MAX
	secretMin        time.Duration // token secret rotation: uniform in [secretMin, secretMax]
	secretMax        time.Duration
	expireMin        time.Duration // expiry pass: uniform in [expireMin, expireMax]
	expireMax        time.Duration
	partsMaxAge      time.Duration // RX_MAX_PACKET_TIME
	partsTimeout     time.Duration // RX_TIMEOUT
	rxMaxDelay       time.Duration // RX_QUEUE_MAX_DELAY
}

func defaultTiming() timing {
	return timing{
		maxResponse:      time.Second,
		nodeExpire:       10 * time.Minute,
		nodeGood:         2 * time.Hour,
		listenExpire:     30 * time.Second,
		listenerExpire:   10 * time.Minute,
		reannounceMargin: 10 * time.Second,
		searchExpire:     62 * time.Minute,
		bootstrapPeriod:  10 * time.Second,
		bootstrapMax:     24 * time.Hour,
		secretMin:        15 * time.Minute,
		secretMax:        45 * time.Minute,
		expireMin:        2 * time.Minute,
		expireMax:        6 * time.Minute,
		partsMaxAge:      10 * time.Second,
		partsTimeout:     3 * time.Second,
		rxMaxDelay:       650 * time.Millisecond,
	}
}
