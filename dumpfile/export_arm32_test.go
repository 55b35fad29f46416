package dumpfile

// ShortDescriptorForTest exposes the ARMv7 walk to the table test.
var ShortDescriptorForTest = shortDescriptor
