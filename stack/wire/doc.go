// Package wire reads and writes the headers mtcp speaks: Ethernet II, ARP for Ethernet/IPv4,
// IPv4, ICMPv4 and TCP, plus the Internet checksum and wrap-safe TCP sequence numbers.
//
// Each header has two forms. A view (Ethernet, ARP, IPv4, ICMPv4, TCP) is a []byte that has
// passed its Parse function: parsing checks every length the accessors rely on, so after a
// successful parse no accessor can panic, and reading never copies or allocates. A Fields struct
// (EthernetFields, ...) holds the values for building a header: its Encode writes them into a
// buffer the caller provides. Views are for the per-frame path; Fields are for building frames
// and for comparing them in tests.
//
// Parse errors are *Error values naming the layer, the field and the reason
// ("tcp: data offset 3 < 5"). Checksums are not part of parsing: a header with a bad checksum is
// structurally sound, and the caller decides (and counts) what to do with it, using the
// ChecksumValid methods.
//
// This package must stay free of protocol decisions, allocation on the read path, clocks and
// goroutines.
package wire
