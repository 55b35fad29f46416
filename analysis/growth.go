package analysis

import (
	"time"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// rates turns what a pool or a tag holds into growth per day: measured
// between an earlier snapshot of the machine and this one when the source
// has one (poolblame live), else averaged over the uptime, counters
// starting at zero at boot.
type rates struct {
	uptime time.Duration
	// span is the time since the earlier snapshot; 0: there is none.
	span    time.Duration
	earlier *pool.Result
	tags    map[pooltag.Tag]pool.Usage // earlier's usages
}

func newRates(uptime, span time.Duration, earlier *pool.Result) rates {
	r := rates{uptime: uptime}
	if span <= 0 || earlier == nil {
		return r
	}
	r.span, r.earlier = span, earlier
	r.tags = make(map[pooltag.Tag]pool.Usage, len(earlier.Usages))
	for _, u := range earlier.Usages {
		r.tags[u.Tag] = u
	}
	return r
}

// perDay is the growth of an amount that is now now and was then at the
// earlier snapshot. Measured, it may be negative (the pool shrank).
func (r rates) perDay(now, then uint64) float64 {
	if r.span <= 0 {
		return perDay(float64(now), r.uptime)
	}
	return (float64(now) - float64(then)) / (r.span.Seconds() / 86400)
}

// pool is a whole pool's growth; used is its use now.
func (r rates) pool(which PoolType, used uint64) float64 {
	var then uint64
	if r.earlier != nil {
		then = r.earlier.Limits.NonPagedUsed
		if which == Paged {
			then = r.earlier.Limits.PagedUsed
		}
	}
	return r.perDay(used, then)
}

// tag is a tag's growth in one pool; a tag the earlier snapshot did not
// list held nothing then.
func (r rates) tag(u pool.Usage, which PoolType) float64 {
	return r.perDay(poolBytes(u, which), poolBytes(r.tags[u.Tag], which))
}
