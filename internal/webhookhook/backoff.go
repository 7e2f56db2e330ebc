package webhookhook

import (
	"math/rand/v2"
	"time"
)

// Bounds of the wait between attempts.
const (
	firstBackoff = 2 * time.Second
	maxBackoff   = 60 * time.Second
)

// Backoff is how long to wait after the given attempt (counted from 1) before the next:
// 2 s doubling each time up to 60 s, less a random part of up to a quarter. The jitter
// spreads the retries of many promotions that failed together, so a receiver coming back
// up is not hit by all of them at once; taking it off rather than adding keeps the cap.
func Backoff(attempt int) time.Duration {
	d := firstBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d - rand.N(d/4+1) //nolint:gosec // spreading retries needs no secure randomness
}
