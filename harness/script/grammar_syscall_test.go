package script

import (
	"reflect"
	"testing"
)

func renderGrammar(e Expr) string { return renderExprAs(e, true) }

func renderSyscallGrammar(s *Syscall) string { return renderSyscall(s, true) }

// TestGrammarSyscallExpressions parses every form of packetdrill's expression
// grammar (parser.y's expression rule) and the FreeBSD fork's, and checks the
// AST through a rendering that shows each node.
func TestGrammarSyscallExpressions(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"msghdr with length annotations",
			"+0 recvmsg(3, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE, msg_control=[]}, MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)",
			"recvmsg(3=3, {msg_name(...)=..., msg_iov(1=1)=[{..., 0=0}], msg_flags=MSG_ERRQUEUE, msg_control=[]}, MSG_ERRQUEUE) = -1=-1 EAGAIN (Resource temporarily unavailable)"},
		{"msghdr across lines",
			"+0 sendmsg(4, {msg_name(...)=...,\n        msg_iov(2)=[{..., 10}, {..., 20}],\n        msg_flags=0}, MSG_MORE) = 30",
			"sendmsg(4=4, {msg_name(...)=..., msg_iov(2=2)=[{..., 10=10}, {..., 20=20}], msg_flags=0=0}, MSG_MORE) = 30=30"},
		{"cmsg with sock_extended_err",
			"+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE, msg_control=[{cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, cmsg_data={ee_errno=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ee_type=0, ee_code=SO_EE_CODE_ZEROCOPY_COPIED, ee_info=1, ee_data=1}}]}, MSG_ERRQUEUE) = 0",
			"recvmsg(4=4, {msg_name(...)=..., msg_iov(1=1)=[{..., 0=0}], msg_flags=MSG_ERRQUEUE, msg_control=[{cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, cmsg_data={ee_errno=0=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ee_type=0=0, ee_code=SO_EE_CODE_ZEROCOPY_COPIED, ee_info=1=1, ee_data=1=1}}]}, MSG_ERRQUEUE) = 0=0"},
		{"scm_timestamping",
			"+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=0, msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data={scm_sec=0,scm_nsec=0}}]}, 0) = 0",
			"recvmsg(4=4, {msg_name(...)=..., msg_iov(1=1)=[{..., 0=0}], msg_flags=0=0, msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data={scm_sec=0=0, scm_nsec=0=0}}]}, 0=0) = 0=0"},
		{"FreeBSD msghdr with msg_control(N) and iov_base",
			"+0 sendmsg(3, {msg_name(...)=..., msg_iov(1)=[{iov_base=..., iov_len=10}], msg_control(32)=[{cmsg_len=32, cmsg_level=IPPROTO_SCTP, cmsg_type=SCTP_SNDINFO, cmsg_data={snd_sid=1, snd_flags=0, snd_ppid=htonl(0), snd_context=0, snd_assoc_id=0}}], msg_flags=0}, 0) = 10",
			"sendmsg(3=3, {msg_name(...)=..., msg_iov(1=1)=[{iov_base=..., iov_len=10=10}], msg_control(32=32)=[{cmsg_len=32=32, cmsg_level=IPPROTO_SCTP, cmsg_type=SCTP_SNDINFO, cmsg_data={snd_sid=1=1, snd_flags=0=0, snd_ppid=htonl(0=0), snd_context=0=0, snd_assoc_id=0=0}}], msg_flags=0=0}, 0=0) = 10=10"},
		{"poll with revents",
			"+0 poll([{fd=3, events=POLLIN, revents=POLLOUT}], 1, 0) = 1",
			"poll([{fd=3=3, events=POLLIN, revents=POLLOUT}], 1=1, 0=0) = 1=1"},
		{"poll with an OR and lines",
			"+0 poll([{fd=5,\n         events=POLLIN|POLLOUT|POLLERR,\n         revents=POLLOUT}], 1, 1000) = 1",
			"poll([{fd=5=5, events=POLLIN|POLLOUT|POLLERR, revents=POLLOUT}], 1=1, 1000=1000) = 1=1"},
		{"epoll_event fd", "+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLOUT|EPOLLET, fd=4}) = 0",
			"epoll_ctl(5=5, EPOLL_CTL_ADD, 4=4, {events=EPOLLOUT|EPOLLET, fd=4=4}) = 0=0"},
		{"epoll_event ptr", "+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0",
			"epoll_wait(5=5, {events=0=0, ptr=0=0}, 1=1, 0=0) = 0=0"},
		{"epoll_event u32 and u64", "+0 epoll_wait(5, [{events=EPOLLIN, u32=7}, {events=EPOLLIN, u64=0x1f}], 2, 0) = 2",
			"epoll_wait(5=5, [{events=EPOLLIN, u32=7=7}, {events=EPOLLIN, u64=0x1f=31}], 2=2, 0=0) = 2=2"},
		{"sockaddr", `+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0`,
			`connect(3=3, {sa_family=AF_INET, sin_port=htons(8080=8080), sin_addr=inet_addr("192.0.2.1")}, 16=16) = 0=0`},
		{"htons with a space", `+0 connect(3, {sa_family=AF_INET, sin_port=htons (80), sin_addr=inet_addr ("192.0.2.1")}, 16) = 0`,
			`connect(3=3, {sa_family=AF_INET, sin_port=htons(80=80), sin_addr=inet_addr("192.0.2.1")}, 16=16) = 0=0`},
		{"inet6_addr", `+0 bind(3, inet6_addr("2001:db8::1"), 28) = 0`,
			`bind(3=3, inet6_addr("2001:db8::1"), 28=28) = 0=0`},
		{"linger", "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0",
			"setsockopt(3=3, SOL_SOCKET, SO_LINGER, {onoff=1=1, linger=0=0}, 8=8) = 0=0"},
		{"negative and hex", "+0 setsockopt(3, SOL_SOCKET, SO_MARK, [-1], 4) = 0xffffffff",
			"setsockopt(3=3, SOL_SOCKET, SO_MARK, [-1=-1], 4=4) = 0xffffffff=4294967295"},
		{"flag ORs with spaces", "+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0",
			"fcntl(3=3, F_SETFL, O_RDWR|O_NONBLOCK) = 0=0"},
		{"strings", `+0 setsockopt(3, SOL_TCP, TCP_CONGESTION, "reno" "x", 5) = 0`,
			`setsockopt(3=3, SOL_TCP, TCP_CONGESTION, "renox", 5=5) = 0=0`},
		{"string prefix", `+0 getsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic"..., [16]) = 0`,
			`getsockopt(3=3, SOL_TCP, TCP_CONGESTION, "cubic"..., [16=16]) = 0=0`},
		{"NULL", "+0 setsockopt(3, SOL_SOCKET, SO_ACCEPTFILTER, NULL, 0) = 0",
			"setsockopt(3=3, SOL_SOCKET, SO_ACCEPTFILTER, NULL, 0=0) = 0=0"},
		{"nested arrays", "+0 setsockopt(3, SOL_SOCKET, SO_FOO, [[1, 2], [], {3, [4]}], 8) = 0",
			"setsockopt(3=3, SOL_SOCKET, SO_FOO, [[1=1, 2=2], [], {3=3, [4=4]}], 8=8) = 0=0"},
		{"FreeBSD structs", `+0 setsockopt(3, IPPROTO_TCP, TCP_FASTOPEN, {enable=1, psk=...}, 8) = 0`,
			`setsockopt(3=3, IPPROTO_TCP, TCP_FASTOPEN, {enable=1=1, psk=...}, 8=8) = 0=0`},
		{"FreeBSD accept filter", `+0 setsockopt(3, SOL_SOCKET, SO_ACCEPTFILTER, {af_name="dataready", af_arg=""}, 256) = 0`,
			`setsockopt(3=3, SOL_SOCKET, SO_ACCEPTFILTER, {af_name="dataready", af_arg=""}, 256=256) = 0=0`},
		{"FreeBSD sf_hdtr", `+0 sendfile(5, 4, 0, 10, {headers=[{iov_base=..., iov_len=2}], trailers=[]}, [12], 0) = 0`,
			`sendfile(5=5, 4=4, 0=0, 10=10, {headers=[{iov_base=..., iov_len=2=2}], trailers=[]}, [12=12], 0=0) = 0=0`},
		{"ellipsis arguments and end time", "0 ...0.5 accept(3, ..., ...) = 4", "...500ms accept(3=3, ..., ...) = 4=4"},
		{"end time right after the time", "+0...0 connect(4, ..., ...) = 0", "...0s connect(4=4, ..., ...) = 0=0"},
		{"result note without errno", "+0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)", "fcntl(3=3, F_GETFL) = 0x02=2 (flags O_RDWR)"},
		{"MSG flags", "+0 sendto(3, ..., 500, MSG_FASTOPEN|MSG_ZEROCOPY, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
			"sendto(3=3, ..., 500=500, MSG_FASTOPEN|MSG_ZEROCOPY, ..., ...) = -1=-1 EINPROGRESS (Operation now in progress)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.src)
			if len(s.Events) != 1 || s.Events[0].Kind != EventSyscall {
				t.Fatalf("got %+v, want one system call", s.Events)
			}
			if got := renderSyscallGrammar(s.Events[0].Syscall); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestGrammarAssignLen checks the exact AST of name(LEN)=value: an ExprAssign
// whose Len holds the parenthesised expression, positions included.
func TestGrammarAssignLen(t *testing.T) {
	s := mustParse(t, "0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 7}], msg_flags=0}, 0) = 7")
	arg := s.Events[0].Syscall.Args[1]
	want := Expr{Kind: ExprStruct, Line: 1, Col: 14, Elems: []Expr{
		{Kind: ExprAssign, Text: "msg_name", Line: 1, Col: 15,
			Len:   &Expr{Kind: ExprEllipsis, Text: "...", Line: 1, Col: 24},
			Elems: []Expr{{Kind: ExprEllipsis, Text: "...", Line: 1, Col: 29}}},
		{Kind: ExprAssign, Text: "msg_iov", Line: 1, Col: 34,
			Len: &Expr{Kind: ExprInt, Int: 1, Text: "1", Line: 1, Col: 42},
			Elems: []Expr{{Kind: ExprArray, Line: 1, Col: 45, Elems: []Expr{{Kind: ExprStruct, Line: 1, Col: 46, Elems: []Expr{
				{Kind: ExprEllipsis, Text: "...", Line: 1, Col: 47},
				{Kind: ExprInt, Int: 7, Text: "7", Line: 1, Col: 52},
			}}}}}},
		{Kind: ExprAssign, Text: "msg_flags", Line: 1, Col: 57, Elems: []Expr{{Kind: ExprInt, Text: "0", Line: 1, Col: 67}}},
	}}
	if !reflect.DeepEqual(arg, want) {
		t.Errorf("got  %s\nwant %s", sprint(arg), sprint(want))
	}
	// A plain name=value has no Len.
	if a := mustParse(t, "0 f(x=1) = 0").Events[0].Syscall.Args[0]; a.Kind != ExprAssign || a.Len != nil {
		t.Errorf("x=1: %s", sprint(a))
	}
	// A call not followed by '=' stays a call.
	if a := mustParse(t, "0 f(htons(1)) = 0").Events[0].Syscall.Args[0]; a.Kind != ExprCall || a.Len != nil {
		t.Errorf("htons(1): %s", sprint(a))
	}
}
