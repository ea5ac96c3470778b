package arp

import (
	"testing"
	"time"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	d := Config{}.WithDefaults()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if d.RetryInterval != time.Second || d.MaxRetries != 3 || d.PendingFrames != 4 || d.CacheSize != 256 {
		t.Fatalf("defaults %+v", d)
	}
	bad := []Config{
		{CacheSize: -1}, {Lifetime: time.Millisecond}, {RetryInterval: 999 * time.Millisecond},
		{MaxRetries: -1}, {PendingFrames: -1},
	}
	for _, c := range bad {
		if err := c.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
