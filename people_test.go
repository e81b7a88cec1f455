package hanashi

import (
	"strings"
	"testing"
)

func TestCheckTimeZone(t *testing.T) {
	for _, tz := range []string{"", "UTC", "Asia/Tokyo", "America/Argentina/Buenos_Aires", "America/Port-au-Prince",
		"Etc/GMT+5", "Etc/GMT-14", "EST5EDT", "America/North_Dakota/New_Salem"} {
		if err := CheckTimeZone(tz); err != nil {
			t.Errorf("CheckTimeZone(%q) = %v, want nil", tz, err)
		}
	}
	for _, tz := range []string{"nonsense zone", "/Asia/Tokyo", "Asia/", "Asia//Tokyo", "../etc/passwd", "Asia/.Tokyo",
		"+09:00", "Europe/Paris\n", "Europe/Pärís", "-Asia", "Asia/Tokyo;", strings.Repeat("A", MaxTimeZoneLen+1)} {
		if err := CheckTimeZone(tz); ErrorCode(err) != EINVALID {
			t.Errorf("CheckTimeZone(%q) = %v, want EINVALID", tz, err)
		}
	}
}

func TestCheckTopic(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"  launch  plans ", "launch plans"},
		{"line one\nline two\t three", "line one line two three"},
		{"dev 👩‍💻 talk", "dev 👩‍💻 talk"},
		{strings.Repeat("話", MaxTopicLen), strings.Repeat("話", MaxTopicLen)},
	} {
		got, err := CheckTopic(c.in)
		if err != nil || got != c.want {
			t.Errorf("CheckTopic(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{strings.Repeat("x", MaxTopicLen+1), "bell\a", "rtl\u202etrick", "bad \xff"} {
		if _, err := CheckTopic(in); ErrorCode(err) != EINVALID {
			t.Errorf("CheckTopic(%q) = %v, want EINVALID", in, err)
		}
	}
}
