package dumptest

// Kernel image layout: headers, one page of .text (which also holds the
// export directory), then .data.
const (
	kernelTextRVA = 0x1000
	kernelDataRVA = 0x2000
)

// setupKernel maps the kernel image and the variables in its .data the
// dump header and KDBG point to, and makes it the first loaded module.
func (b *Builder) setupKernel() {
	a, c := b.arch, b.cfg
	b.kernBase = a.kernBase
	dataSize := uint32(alignUp(uint64(c.KernelDataSize), PageSize))
	img := peImage{
		sizeOfImage:   kernelDataRVA + dataSize,
		entryRVA:      kernelTextRVA,
		timeDateStamp: b.rng.Uint32(),
		checkSum:      b.rng.Uint32() & 0xFFFFFF,
	}
	secs := []peSection{
		{".text", kernelTextRVA, PageSize, scnCode},
		{".data", kernelDataRVA, dataSize, scnData},
	}
	// .text holds the exported routines' stubs and, as it has room, the
	// export directory: drivers' imports are bound to these addresses.
	text, dir, exports := exportPage(a.machine, kernelTextRVA, a.kernelName, kernelExports)
	img.exportDir = dir
	img.chunks = []peChunk{{0, peHeaders(a, b.kernBase, img, secs)}, {kernelTextRVA, text}}
	b.varNext = b.kernBase + kernelDataRVA
	b.dataEnd = b.varNext + uint64(dataSize)

	ps := a.ptrSize
	head := func(name string) uint64 { // an empty LIST_ENTRY
		va := b.KernelVar(2 * ps)
		b.syms[name] = va
		return va
	}
	// The image must be mapped before its variables are written.
	b.mapImage(b.kernBase, img, nil)
	for _, name := range []string{"PsLoadedModuleList", "PsActiveProcessHead", "KdpDebuggerDataListHead"} {
		va := head(name)
		b.PutPtr(va, va)
		b.PutPtr(va+uint64(ps), va)
	}
	b.syms["MmPfnDatabase"] = b.KernelVar(ps)
	b.PutPtr(b.syms["MmPfnDatabase"], a.pfnDatabase)
	if c.EncodeKDBG {
		b.waitNever = b.rng.Uint64() | 1 // odd: the rotation is never by 0
		b.waitAlways = b.rng.Uint64()
		b.syms["KiWaitNever"] = b.KernelVar(8)
		b.syms["KiWaitAlways"] = b.KernelVar(8)
		b.syms["KdpDataBlockEncoded"] = b.KernelVar(1)
		b.PutU64(b.syms["KiWaitNever"], b.waitNever)
		b.PutU64(b.syms["KiWaitAlways"], b.waitAlways)
		b.Write(b.syms["KdpDataBlockEncoded"], []byte{1})
	}
	b.setupKDBG()

	name := a.kernelName
	b.addModule(module{
		name:          name,
		path:          `\SystemRoot\system32\` + name,
		base:          b.kernBase,
		size:          img.sizeOfImage,
		timeDateStamp: img.timeDateStamp,
		checkSum:      img.checkSum,
		exports:       exports,
	}, img.entryRVA)
}

// KernBase returns the address of the kernel image.
func (b *Builder) KernBase() uint64 { return b.kernBase }

// KernelVar returns n zeroed bytes inside the kernel image's .data
// section, 8-aligned, as a kernel global variable would be.
func (b *Builder) KernelVar(n int) uint64 {
	if n <= 0 {
		b.misuse("KernelVar(%d): size must be positive", n)
	}
	va := alignUp(b.varNext, 8)
	if va+uint64(n) > b.dataEnd {
		b.misuse("KernelVar(%d): kernel .data is full (KernelDataSize %#x)", n, b.cfg.KernelDataSize)
	}
	b.varNext = va + uint64(n)
	return va
}

// Symbol returns the address of a kernel variable the builder made:
// PsLoadedModuleList, PsActiveProcessHead, KdpDebuggerDataListHead,
// MmPfnDatabase, KdDebuggerDataBlock, PoolBigPageTable and
// PoolBigPageTableSize once BigPageTable made them, and, with EncodeKDBG, KiWaitNever,
// KiWaitAlways and KdpDataBlockEncoded.
func (b *Builder) Symbol(name string) (uint64, bool) {
	va, ok := b.syms[name]
	return va, ok
}

// signExtend makes a 32-bit kernel address look as 64-bit structures
// (KDBG, LIST_ENTRY64) hold it on x86.
func (b *Builder) signExtend(v uint64) uint64 {
	if b.arch.ptrSize == 4 && v <= 0xFFFFFFFF {
		return uint64(int64(int32(uint32(v))))
	}
	return v
}
