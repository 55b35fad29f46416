// Package batch analyses archives of dumps and pool snapshots and finds
// the tags that grow.
//
// One dump shows a moment; a leak shows as growth. Run takes folders,
// globs and files (dumps recognised by their PAGEDUMP/PAGEDU64 signature,
// also inside .zip, .gz and .zst files; poolmon and !poolused text;
// HTTP.SYS error logs), writes one culprit report per dump, and compares
// the dumps of each machine over time.
//
// # Output folder
//
//	<dump>-<key8>.html|json|md|csv|txt  one report per dump and format
//	summary.txt     the table of dumps, then trends, snapshots, refusals
//	summary.jsonl   one JSON object per dump (schema below)
//	summary.html    one self-contained page with inline SVG charts
//	index.json      what was analysed already (see Re-runs)
//
// # Machines and boots
//
// A dump proves its build, architecture, processor count and the size of
// the physical memory it describes; those facts make the machine key.
// KernBase joins the key only for builds before Vista (6000): later
// kernels load at a random base on every boot (KASLR), so there it tells
// boots apart instead of machines. --group-by:
//
//	auto    the dump facts; when dumps with equal facts lie in several
//	        folders whose time spans overlap, those folders are taken to be
//	        different machines of one fleet and split; folders whose spans
//	        follow one another (an archive filed by week) stay together.
//	        A dump that describes no physical memory (a triage dump) joins
//	        the one group with its build, architecture and CPU count.
//	folder  the folder holding the dump (for a zip member: the zip's
//	        folder and the member's folder inside it), whatever the facts.
//	none    every dump in one group.
//
// Two dumps of a group belong to the same boot when their boot moments
// (SystemTime - uptime) agree within max(5 minutes, 2% of the time between
// them), their KernBase agree (Vista and later) and their BootId agree
// when both carry one. A bugcheck ends a boot, so only live dumps share
// one in practice.
//
// # Trends
//
// Pool counters restart at boot, so raw values are never compared across
// boots. Each dump contributes the 30 largest tags of each pool (a tag
// below them is unknown in that dump, not zero). For each tag and pool of
// a group, ordered by system time:
//
//   - rate: bytes / days of uptime in each dump (the average since boot);
//   - top share: the fraction of the group's dumps in which the tag is
//     among the top TopK (5) of its pool by rate;
//   - growth: within one boot, the median of (bytes change / uptime
//     change) between consecutive dumps, the strongest evidence; across
//     boots, the slope of a least-squares fit of bytes against uptime
//     (three dumps or more, the shortest uptime under three quarters of
//     the longest), which is near zero for a tag that reaches a steady
//     size after boot however large, and near the rate for a leak.
//
// A tag is flagged when its top share is at least Consistency (0.75), its
// median rate and its growth are at least FloorPerDay (1 MiB a day), and
// its growth is at least half its median rate, that is when its size is
// growth rather than a level reached at boot. Flagged tags are ranked by
// growth. One dump alone cannot tell growth from level: its tags are never
// flagged.
//
// A series of pool snapshots of a live machine (one series per computer
// name a poolmon log records, else per folder) is ordered by the time in
// the file, else the file's modification time, else the order given. The
// snapshots of a series lie within one boot, so growth is the change of
// bytes between consecutive snapshots over the time elapsed (per step
// when times are unknown or less than a minute apart); a tag is flagged when it is among the top TopK
// growers in at least Consistency of the intervals and grows by at least
// FloorPerDay overall. A tag missing from a partial snapshot (a poolmon
// screen shows what fits) is unknown there, not zero.
//
// # Re-runs
//
// A dump's key is the SHA-256 of its first 0x2000 bytes (the header;
// decompressed first when the dump is compressed) and a size: the dump's
// size, or for a .gz or .zst file the compressed file's size, or for a
// zip member its uncompressed size and CRC-32. index.json maps keys to the
// report files and the facts the summary needs, so a re-run with the same
// output folder analyses only dumps whose key is new, or whose reports in
// a requested format are missing; a change of --drivers, --pooltag, --top
// or --no-dump-images, which change what a report says, analyses
// everything again. A dump that failed for a reason in its
// own bytes is remembered too; a failure of the machine (no space to
// extract) is not.
//
// # summary.jsonl
//
// One object per dump, in summary order (group, then system time; failed
// inputs last). Fields (omitted when empty):
//
//	schema          "poolblame.batch.dump/1"
//	path            the file as found; for a zip member, the zip
//	member          the path inside the zip
//	container       "zip", "gzip" or "zstd" when the dump was compressed
//	folder          the folder used by --group-by folder
//	key             the re-run key (see Re-runs)
//	status          "ok", "partial" (pool data incomplete), "no-pool"
//	                (the dump holds no pool data), "error", "duplicate"
//	error           why the dump could not be read (status error), or
//	                the earlier path of the same dump (status duplicate)
//	pool_error      why there is no pool analysis (status no-pool)
//	missing         what a partial pool analysis lacks
//	cached          true when the result came from index.json
//	reports         report file names in the output folder
//	group           the machine group's id ("g1", ...); boot: 1-based boot
//	                number within the group
//	build, release, arch, cpus, dump_type, physical_bytes, kernbase
//	                (hex), boot_id, bugcheck, bugcheck_name
//	system_time     RFC 3339, UTC; uptime_seconds
//	nonpaged, paged {used, max, percent}: bytes; max 0 and percent -1 when
//	                the maximum is unknown
//	top_tag, top_pool, top_bytes, top_driver
//	                the leading nonpaged tag (else the leading paged one)
//	                and the driver the report names first for it
//	culprit         the driver the report's verdict names first (it can
//	                differ from top_driver: a Microsoft owner of a larger
//	                tag is not blamed on size alone)
//	suspect         on a pool corruption bug check (0x19, 0xC2, 0xC5,
//	                0x13A, 0xDE...), the first driver the verdict names
//	                for Special Pool instead of a culprit
//	confidence      the report verdict's confidence
//	leading         the report's leading tags: {tag, pool, bytes,
//	                outstanding, rate_per_day, driver}
package batch
