// Command faultrelay joins two network interfaces of one network namespace through mtcp's
// seeded fault injector: every Ethernet frame that arrives on one goes out on the other,
// dropped, duplicated, reordered, corrupted or delayed as the fault specification says. It
// is pcaps/record.sh's impaired link where the kernel has no netem: client and server in
// namespaces of their own, each joined by a veth pair to a relay namespace where it runs.
//
//	faultrelay --a rly-cli --b rly-srv --fault loss=5%,seed=1 [--netns NAME]
//
// It refuses to run outside a network namespace made with `ip netns add` (the root namespace
// in particular), or outside --netns NAME when given: it reads and writes whole frames on the
// interfaces it is given, which must carry no address of their own. SIGINT or SIGTERM stops it
// and it prints what it relayed and what the faults did.
//
// It needs Linux (network namespaces and AF_PACKET sockets); built for another system, it
// says so and exits with status 2.
package main
