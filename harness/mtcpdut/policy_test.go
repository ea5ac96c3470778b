package mtcpdut

import (
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

func TestSysctlMapping(t *testing.T) {
	cases := []struct {
		name, value string
		check       func(c tcp.Config) bool
	}{
		{"net.inet.tcp.recvspace", "65536", func(c tcp.Config) bool { return c.ReceiveBuffer == 65536 }},
		{"net.inet.tcp.sendspace", "32768", func(c tcp.Config) bool { return c.SendBuffer == 32768 }},
		{"net.ipv4.tcp_max_syn_backlog", "2", func(c tcp.Config) bool { return c.MaxHalfOpen == 2 }},
		{"net.ipv4.tcp_max_tw_buckets", "3", func(c tcp.Config) bool { return c.MaxTimeWait == 3 }},
		{"net.ipv4.ip_no_pmtu_disc", "1", func(c tcp.Config) bool { return c.PMTUD == tcp.Off }},
		{"net.ipv4.ip_no_pmtu_disc", "0", func(c tcp.Config) bool { return c.PMTUD == tcp.On }},
		{"mtcp.max_connections", "4", func(c tcp.Config) bool { return c.MaxConnections == 4 }},
		{"mtcp.tlp_new_data", "0", func(c tcp.Config) bool { return c.TLPNewData == tcp.Off }},
		{"kern.ipc.maxsockbuf", "100000", func(c tcp.Config) bool { return c.ReceiveBuffer == 100000 && c.SendBuffer == 100000 }},
		{"net.inet.tcp.sack.enable", "0", func(c tcp.Config) bool { return c.SACK == tcp.Off }},
		{"net.inet.tcp.rfc1323", "0", func(c tcp.Config) bool { return c.Timestamps == tcp.Off && c.WindowScale == tcp.Off }},
		{"net.inet.tcp.rfc1323", "1", func(c tcp.Config) bool { return c.Timestamps == tcp.On && c.WindowScale == tcp.On }},
		{"net.inet.tcp.rfc1323", "2", func(c tcp.Config) bool { return c.Timestamps == tcp.Off && c.WindowScale == tcp.On }},
		{"net.inet.tcp.rfc1323", "3", func(c tcp.Config) bool { return c.Timestamps == tcp.On && c.WindowScale == tcp.Off }},
		{"net.inet.tcp.insecure_rst", "1", func(c tcp.Config) bool { return c.RSTChallenge == tcp.Off }},
		{"net.inet.tcp.insecure_rst", "0", func(c tcp.Config) bool { return c.RSTChallenge == tcp.On }},
		{"net.inet.tcp.insecure_syn", "1", func(c tcp.Config) bool { return c.SYNChallenge == tcp.Off }},
		{"net.inet.tcp.insecure_syn", "0", func(c tcp.Config) bool { return c.SYNChallenge == tcp.On }},
		{"net.inet.tcp.drop_synfin", "1", func(c tcp.Config) bool { return c.SynFin == tcp.SynFinDrop }},
		{"net.inet.tcp.drop_synfin", "0", func(c tcp.Config) bool { return c.SynFin == tcp.SynFinAccept }},
		{"net.inet.tcp.keepintvl", "5000", func(c tcp.Config) bool { return c.KeepAliveInterval == 5*time.Second }},
		{"net.inet.tcp.keepinit", "3000", func(c tcp.Config) bool { return c.ConnectTimeout == 3*time.Second }},
		{"net.inet.tcp.initcwnd_segments", "4", func(c tcp.Config) bool { return c.InitialWindow == 4 }},
		{"net.inet.tcp.ecn.enable", "1", func(c tcp.Config) bool { return c.ECN == tcp.ECNOn }},
		{"net.inet.tcp.ecn.enable", "0", func(c tcp.Config) bool { return c.ECN == tcp.ECNOff }},
		{"net.inet.tcp.rexmit_initial", "3000", func(c tcp.Config) bool { return c.RTOInitial == 3*time.Second }},
		{"net.inet.tcp.rexmit_min", "30", func(c tcp.Config) bool { return c.RTOMin == 30*time.Millisecond }},
		{"net.inet.tcp.rexmit_slop", "200", func(c tcp.Config) bool { return c.RTOVarMin == 200*time.Millisecond }},
		{"net.inet.tcp.delacktime", "100", func(c tcp.Config) bool { return c.DelayedACK == 100*time.Millisecond }},
		{"net.inet.tcp.msl", "5000", func(c tcp.Config) bool { return c.MSL == 5*time.Second }},
		{"net.inet.tcp.keepidle", "10000", func(c tcp.Config) bool { return c.KeepAliveIdle == 10*time.Second }},
		{"net.inet.tcp.keepcnt", "3", func(c tcp.Config) bool { return c.KeepAliveProbes == 3 }},
		{"net.inet.tcp.cc.algorithm", "cubic", func(c tcp.Config) bool { return c.Congestion == tcp.CongestionCUBIC }},
		{"net.ipv4.tcp_rmem", "4096 87380 6291456", func(c tcp.Config) bool { return c.ReceiveBuffer == 87380 }},
		{"net.ipv4.tcp_wmem", "4096 16384 4194304", func(c tcp.Config) bool { return c.SendBuffer == 16384 }},
		{"net.ipv4.tcp_sack", "0", func(c tcp.Config) bool { return c.SACK == tcp.Off }},
		{"net.ipv4.tcp_timestamps", "0", func(c tcp.Config) bool { return c.Timestamps == tcp.Off }},
		{"net.ipv4.tcp_ecn", "1", func(c tcp.Config) bool { return c.ECN == tcp.ECNOn }},
		{"net.ipv4.tcp_rto_min_us", "5000", func(c tcp.Config) bool { return c.RTOMin == 5*time.Millisecond }},
		{"net.ipv4.tcp_syn_retries", "2", func(c tcp.Config) bool { return c.SynRetries == 2 }},
		{"net.ipv4.tcp_synack_retries", "2", func(c tcp.Config) bool { return c.SynAckRetries == 2 }},
		{"net.ipv4.tcp_retries2", "3", func(c tcp.Config) bool { return c.Retries == 3 }},
		{"net.ipv4.tcp_fin_timeout", "7", func(c tcp.Config) bool { return c.FinTimeout == 7*time.Second }},
		{"net.ipv4.tcp_keepalive_time", "60", func(c tcp.Config) bool { return c.KeepAliveIdle == time.Minute }},
		{"net.ipv4.tcp_keepalive_probes", "4", func(c tcp.Config) bool { return c.KeepAliveProbes == 4 }},
		{"net.ipv4.tcp_keepalive_intvl", "10", func(c tcp.Config) bool { return c.KeepAliveInterval == 10*time.Second }},
		{"net.ipv4.tcp_window_scaling", "0", func(c tcp.Config) bool { return c.WindowScale == tcp.Off }},
		{"net.ipv4.tcp_congestion_control", "reno", func(c tcp.Config) bool { return c.Congestion == tcp.CongestionReno }},
		{"net.ipv4.tcp_syncookies", "0", func(c tcp.Config) bool { return c.SynCookies == tcp.Off }},
		{"net.ipv4.tcp_recovery", "0", func(c tcp.Config) bool { return c.RACK == tcp.Off }},
	}
	mapped := map[string]bool{}
	for _, c := range cases {
		cfg := DefaultConfig()
		if err := ApplySysctl(&cfg, c.name, c.value); err != nil {
			t.Errorf("%s=%s: %v", c.name, c.value, err)
			continue
		}
		if !c.check(cfg.TCP) {
			t.Errorf("%s=%s did not set what it maps to: %+v", c.name, c.value, cfg.TCP)
		}
		mapped[c.name] = true
	}
	for _, s := range sysctls {
		if !mapped[s.name] && s.name != "net.inet.tcp.blackhole" && s.name != "net.inet.tcp.hostcache.purgenow" {
			t.Errorf("%s has no test here", s.name)
		}
	}
}
