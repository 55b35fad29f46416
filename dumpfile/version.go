package dumpfile

import "sort"

// release is the first build of a Windows release.
type release struct {
	build          uint32
	client, server string
}

// releases maps build numbers to release names, client and server
// editions (the header's ProductType tells them apart: 1 is a workstation).
var releases = []release{
	{2195, "Windows 2000", "Windows 2000 Server"},
	{2600, "Windows XP", "Windows XP"},
	{3790, "Windows XP x64", "Windows Server 2003"},
	{6000, "Windows Vista", "Windows Vista"},
	{6001, "Windows Vista SP1", "Windows Server 2008"},
	{6002, "Windows Vista SP2", "Windows Server 2008 SP2"},
	{7600, "Windows 7", "Windows Server 2008 R2"},
	{7601, "Windows 7 SP1", "Windows Server 2008 R2 SP1"},
	{9200, "Windows 8", "Windows Server 2012"},
	{9600, "Windows 8.1", "Windows Server 2012 R2"},
	{10240, "Windows 10 1507", "Windows 10 1507"},
	{10586, "Windows 10 1511", "Windows 10 1511"},
	{14393, "Windows 10 1607", "Windows Server 2016"},
	{15063, "Windows 10 1703", "Windows 10 1703"},
	{16299, "Windows 10 1709", "Windows Server 1709"},
	{17134, "Windows 10 1803", "Windows Server 1803"},
	{17763, "Windows 10 1809", "Windows Server 2019"},
	{18362, "Windows 10 1903", "Windows Server 1903"},
	{18363, "Windows 10 1909", "Windows Server 1909"},
	{19041, "Windows 10 2004", "Windows Server 2004"},
	{19042, "Windows 10 20H2", "Windows Server 20H2"},
	{19043, "Windows 10 21H1", "Windows 10 21H1"},
	{19044, "Windows 10 21H2", "Windows 10 21H2"},
	{19045, "Windows 10 22H2", "Windows 10 22H2"},
	{20348, "Windows Server 2022", "Windows Server 2022"},
	{22000, "Windows 11 21H2", "Windows 11 21H2"},
	{22621, "Windows 11 22H2", "Windows 11 22H2"},
	{22631, "Windows 11 23H2", "Windows 11 23H2"},
	{25398, "Windows Server 23H2", "Windows Server 23H2"},
	{26100, "Windows 11 24H2", "Windows Server 2025"},
}

// WindowsRelease names the Windows release of a build number, e.g.
// "Windows Server 2003" for 3790 on a server. Builds between releases
// take the release before them.
func WindowsRelease(build, productType uint32) string {
	i := sort.Search(len(releases), func(i int) bool { return releases[i].build > build }) - 1
	if i < 0 {
		return "Windows NT"
	}
	if productType == 2 || productType == 3 {
		return releases[i].server
	}
	return releases[i].client
}
