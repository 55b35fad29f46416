package snapshot

import (
	"bytes"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		file string
		real bool
		want Format
	}{
		{"poolmon-b-iis6-connections-refused.txt", true, Poolmon},
		{"httperr-connections-refused.log", true, HTTPErr},
		{"poolmon-display-a.txt", false, Poolmon},
		{"poolmon-examples-mem-g.txt", false, Poolmon},
		{"poolmon-examples-drsd-before.txt", false, Poolmon},
		{"poolmon-examples-session0-g.txt", false, Poolmon},
		{"poolmon-examples-allsessions-empty.txt", false, Poolmon},
		{"poolmon-n-intel-mfd.txt", false, PoolmonLog},
		{"poolused-doc.txt", false, Poolused},
		{"poolused-askperf-2009.txt", false, Poolused},
		{"poolused-2-kuo-2024.txt", false, Poolused},
		{"httperr-technet-example.log", false, HTTPErr},
		{"httperr-w3c-madeup.log", false, HTTPErr},
		{"README.md", false, Unknown},
	}
	for _, tt := range tests {
		var data []byte
		if tt.real {
			data = readReal(t, tt.file)
		} else {
			data = readFixture(t, tt.file)
		}
		if got := Detect(data); got != tt.want {
			t.Errorf("Detect(%s) = %v, want %v", tt.file, got, tt.want)
		}
		if got := Detect(utf16LE(data)); got != tt.want {
			t.Errorf("Detect(UTF-16 %s) = %v, want %v", tt.file, got, tt.want)
		}
	}
	for _, junk := range []string{"", "\x00\x01\x02", "MZ\x90\x00", "hello world\n"} {
		if got := Detect([]byte(junk)); got != Unknown {
			t.Errorf("Detect(%q) = %v, want unknown", junk, got)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"httperr", "2005-09-02 18:45:12 - - - - - - - - - 1_Connections_Refused -\n", "x.txt: an HTTP.SYS error log holds connection refusals"},
		{"unknown", "hello\n", "x.txt: not a poolmon screen, poolmon log, !poolused or !vm output"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.text), "x.txt")
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestFormatErrorText(t *testing.T) {
	tests := []struct {
		e    FormatError
		want string
	}{
		{FormatError{File: "poolmon.txt", Line: 7, Field: "Allocs", Value: "12x3"}, `poolmon.txt:7: bad Allocs field "12x3"`},
		{FormatError{File: "a.txt", Line: 3, Msg: "not a row"}, "a.txt:3: not a row"},
		{FormatError{File: "a.txt", Msg: "empty"}, "a.txt: empty"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
	if Format(42).String() != "Format(42)" || Poolused.String() != "!poolused" {
		t.Errorf("Format strings: %q %q", Format(42), Poolused)
	}
}

func TestUTF16Reader(t *testing.T) {
	// Odd trailing byte and a character outside the BMP.
	src := utf16LE([]byte("Tag \U0001F600 ok\n"))
	src = append(src, 'x')
	got, err := readAllString(decodeUTF16(bytes.NewReader(src)))
	if err != nil || got != "Tag \U0001F600 ok\n" {
		t.Errorf("got %q, %v", got, err)
	}
	big := []byte{0xFE, 0xFF, 0, 'h', 0, 'i'}
	if got, _ := readAllString(decodeUTF16(bytes.NewReader(big))); got != "hi" {
		t.Errorf("big-endian: %q", got)
	}
}

func readAllString(r interface{ Read([]byte) (int, error) }) (string, error) {
	var sb strings.Builder
	buf := make([]byte, 3) // small reads exercise the pending buffer
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			if err.Error() == "EOF" {
				return sb.String(), nil
			}
			return sb.String(), err
		}
	}
}
