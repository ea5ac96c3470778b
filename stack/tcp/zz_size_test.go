package tcp

import (
	"fmt"
	"reflect"
	"testing"
)

func TestZZSize(t *testing.T) {
	ty := reflect.TypeOf(Conn{})
	fmt.Println("Conn", ty.Size())
	for i := 0; i < ty.NumField(); i++ {
		f := ty.Field(i)
		fmt.Printf("%-16s %4d @%d\n", f.Name, f.Type.Size(), f.Offset)
	}
	for _, v := range []any{congestion{}, rack{}, rttState{}, sackReport{}, sendQueue{}, reassembly{}, timestamps{}, ecnState{}, buffer{}} {
		ty := reflect.TypeOf(v)
		fmt.Println("==", ty.Name(), ty.Size())
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			fmt.Printf("   %-16s %-20s %4d\n", f.Name, f.Type, f.Type.Size())
		}
	}
}
